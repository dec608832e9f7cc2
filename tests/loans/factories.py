"""Loan builders on top of the real services (``loans.services``), so tests exercise the real path.

Offers and products have no service of their own (they are set up by an administrator); their
terms, which is what loans depend on, go through ``product_version_create``.

The reference product: 120,000 CVE at 24 % a year, declining balance, equal installments, monthly,
12 repayments → EMI 11,347.15, first interest 2,400.00, last installment 11,347.18. Loans are
submitted on 5 January 2026, approved on the 10th and disbursed on 15 January 2026, so the
installments fall due on the 15th of each month from February 2026 to January 2027.
"""

from __future__ import annotations

import datetime
import itertools
from collections.abc import Iterable
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile

from accounting.models import PostingRuleSet
from loans.choices import (
    Amortization,
    Frequency,
    InterestCalculation,
    InterestMethod,
    OfferKind,
)
from loans.models import Loan, LoanProduct, LoanProductVersion, Offer
from loans.services import (
    loan_approve,
    loan_disburse,
    loan_document_add,
    loan_submit,
    product_version_create,
)
from tests.crm.factories import make_person

D = Decimal

SUBMITTED_ON = datetime.date(2026, 1, 5)
APPROVED_ON = datetime.date(2026, 1, 10)
DISBURSED_ON = datetime.date(2026, 1, 15)

PRINCIPAL = D("120000.00")
RATE = D("24")
EMI = D("11347.15")
FIRST_INTEREST = D("2400.00")
FIRST_PRINCIPAL = D("8947.15")
# The reference schedule: (due date, principal, interest) of each installment.
SCHEDULE = (
    (datetime.date(2026, 2, 15), D("8947.15"), D("2400.00")),
    (datetime.date(2026, 3, 15), D("9126.09"), D("2221.06")),
    (datetime.date(2026, 4, 15), D("9308.61"), D("2038.54")),
    (datetime.date(2026, 5, 15), D("9494.79"), D("1852.36")),
    (datetime.date(2026, 6, 15), D("9684.68"), D("1662.47")),
    (datetime.date(2026, 7, 15), D("9878.38"), D("1468.77")),
    (datetime.date(2026, 8, 15), D("10075.94"), D("1271.21")),
    (datetime.date(2026, 9, 15), D("10277.46"), D("1069.69")),
    (datetime.date(2026, 10, 15), D("10483.01"), D("864.14")),
    (datetime.date(2026, 11, 15), D("10692.67"), D("654.48")),
    (datetime.date(2026, 12, 15), D("10906.53"), D("440.62")),
    (datetime.date(2027, 1, 15), D("11124.69"), D("222.49")),
)
TOTAL_INTEREST = D("16165.83")
TOTAL_REPAYMENT = D("136165.83")

_codes = itertools.count(1)


def base_terms(rule_set: PostingRuleSet, **overrides) -> dict:
    """The terms of the reference product (CVE), as ``product_version_create`` takes them."""
    terms = {
        "currency": "CVE",
        "principal_min": D("10000"),
        "principal_default": D("120000"),
        "principal_max": D("500000"),
        "rate_min": D("12"),
        "rate_default": RATE,
        "rate_max": D("36"),
        "repayments_min": 3,
        "repayments_default": 12,
        "repayments_max": 24,
        "repayment_every": 1,
        "repayment_frequency": Frequency.MONTHS,
        "interest_method": InterestMethod.DECLINING_BALANCE,
        "amortization": Amortization.EQUAL_INSTALLMENTS,
        "interest_calculation": InterestCalculation.SAME_AS_REPAYMENT_PERIOD,
        "posting_rule_set": rule_set,
    }
    terms.update(overrides)
    return terms


def make_offer(*, required_documents: Iterable[str] = (), name: str = "Microcredit") -> Offer:
    number = next(_codes)
    return Offer.objects.create(
        code=f"offer-{number}",
        name=f"{name} {number}",
        kind=OfferKind.LOAN,
        required_documents=list(required_documents),
    )


def make_product(
    actor,
    rule_set: PostingRuleSet,
    *,
    offer: Offer | None = None,
    required_documents: Iterable[str] = (),
    **term_overrides,
) -> LoanProduct:
    """A product with its first version (the reference terms, ``term_overrides`` applied)."""
    number = next(_codes)
    product = LoanProduct.objects.create(
        offer=offer or make_offer(required_documents=required_documents),
        code=f"product-{number}",
        name=f"Working capital {number}",
    )
    product_version_create(
        actor=actor, product=product, terms=base_terms(rule_set, **term_overrides)
    )
    return product


def cash_product(actor, rules: dict[str, PostingRuleSet], **overrides) -> LoanProduct:
    """The reference product under cash accounting (``rules`` is ``chart_install()``'s result)."""
    return make_product(actor, rules["cash"], **overrides)


def accrual_product(actor, rules: dict[str, PostingRuleSet], **overrides) -> LoanProduct:
    """The reference product under accrual accounting."""
    return make_product(actor, rules["accrual"], **overrides)


def xof_product(actor, rules: dict[str, PostingRuleSet], **overrides) -> LoanProduct:
    """The reference product in West African CFA francs (no minor unit)."""
    return make_product(actor, rules["cash"], currency="XOF", **overrides)


def document_file(name: str = "scan.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"%PDF-1.4 test document", content_type="application/pdf")


def add_documents(actor, loan: Loan, kinds: Iterable[str]) -> None:
    for kind in kinds:
        loan_document_add(actor=actor, loan=loan, kind=kind, file=document_file(f"{kind}.pdf"))


def submitted_loan(
    officer,
    product: LoanProduct,
    *,
    borrower=None,
    principal: Decimal | str = PRINCIPAL,
    expected_disbursement_date: datetime.date = DISBURSED_ON,
    submitted_on: datetime.date = SUBMITTED_ON,
    **options,
) -> Loan:
    """An application submitted by ``officer`` for a new borrower of the officer's branch."""
    return loan_submit(
        actor=officer,
        borrower=borrower or make_person(officer),
        product=product,
        principal=D(principal),
        purpose="Stock for the grocery shop",
        expected_disbursement_date=expected_disbursement_date,
        submitted_on=submitted_on,
        **options,
    )


def approved_loan(
    officer, approver, product: LoanProduct, *, approved_on: datetime.date = APPROVED_ON, **options
) -> Loan:
    """Submitted by ``officer``, approved by ``approver`` (the offer's documents added first)."""
    loan = submitted_loan(officer, product, **options)
    add_documents(officer, loan, product.offer.required_documents)
    return loan_approve(actor=approver, loan=loan, approved_on=approved_on)


def active_loan(
    officer,
    approver,
    product: LoanProduct,
    *,
    disbursed_on: datetime.date = DISBURSED_ON,
    **options,
) -> Loan:
    """Submitted and disbursed by ``officer``, approved by ``approver``."""
    loan = approved_loan(officer, approver, product, **options)
    return loan_disburse(actor=officer, loan=loan, disbursed_on=disbursed_on)


def current_version(product: LoanProduct) -> LoanProductVersion:
    return product.versions.order_by("-version").first()
