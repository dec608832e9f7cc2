"""Compliance builders: sources, offer requirements and a monitored loan, on the real services.

The monitored borrower is a person of Praia with NIF ``100000001``-style numbers chosen by the
caller, so registry records can be matched to them; the loan is the reference active loan of
``tests.loans.factories`` (120,000 CVE disbursed on 15 January 2026).
"""

from __future__ import annotations

import itertools
from decimal import Decimal

from compliance.choices import RequirementKind, Severity, SourceKind, Transport
from compliance.models import OfferRequirement, Source
from loans.models import Loan
from tests.crm.factories import make_person
from tests.loans.factories import active_loan, cash_product

_codes = itertools.count(1)


def make_source(
    kind: str = SourceKind.SOCIAL_SECURITY,
    *,
    transport: str = Transport.HTTP,
    base_url: str = "",
    freshness_days: int = 35,
    **fields,
) -> Source:
    number = next(_codes)
    return Source.objects.create(
        code=fields.pop("code", f"{kind}-{number}"),
        name=fields.pop("name", f"{SourceKind(kind).label} {number}"),
        kind=kind,
        transport=transport,
        base_url=base_url,
        freshness_days=freshness_days,
        **fields,
    )


def make_requirement(
    offer,
    kind: str = RequirementKind.SOCIAL_SECURITY_PAID,
    *,
    severity: str = Severity.HIGH,
    threshold: Decimal | str | None = None,
    check_every_days: int = 30,
) -> OfferRequirement:
    return OfferRequirement.objects.create(
        offer=offer,
        kind=kind,
        severity=severity,
        threshold=None if threshold is None else Decimal(threshold),
        check_every_days=check_every_days,
    )


def monitored_loan(officer, approver, rules, *, nif: str, ssn: str = "", **loan_options) -> Loan:
    """An active loan to a new person with the given NIF (and social security number)."""
    borrower = make_person(officer, nif=nif, social_security_number=ssn)
    product = cash_product(officer, rules)
    return active_loan(officer, approver, product, borrower=borrower, **loan_options)
