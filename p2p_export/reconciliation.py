"""Money between the institution and a platform: monthly repayment reports built from the
actual repayments, funds received (a refinancing liability in the ledger), and repayments paid
back to the platform.

Ledger (through ``accounting.services`` and the loan product's posting rules):
- funds received: Dr bank / Cr refinancing from P2P platforms (event P2P_FUNDING_RECEIVED);
  when the platform pays in another currency, the bank gets ``received × rate`` and the gap to
  the amount refinanced goes to the platform's exchange-differences account (gain: credit;
  loss: debit);
- repaid to the platform: Dr refinancing / Cr bank (event P2P_REPAYMENT_TO_PLATFORM), the
  principal borrowers repaid in the month times the share of the loan the platform funded.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime
from collections import defaultdict
from decimal import Decimal

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from accounting import services as ledger
from accounting.choices import EntrySource, PostingEvent
from audit.services import audit_record
from loans.choices import TransactionKind
from loans.models import LoanTransaction
from mfi.money import ZERO, round_money
from p2p_export.choices import (
    REPORT_TRANSITIONS,
    PlatformKind,
    PublicationState,
    ReportStatus,
)
from p2p_export.models import (
    FundingReceipt,
    Platform,
    PlatformRepayment,
    Publication,
    RepaymentReport,
    RepaymentReportLine,
)
from p2p_export.platforms import adapter_for
from p2p_export.platforms.base import PlatformRefused, PlatformValidationError, RepaymentLine
from p2p_export.services import _require, _require_scope
from users.roles import Capability

S = PublicationState
# Loans whose repayments are reported: lenders funded them.
REPORTED_STATES = (S.FUNDED, S.REPAYING, S.ENDED, S.DEFAULTED)
# Loans that may receive funds from the platform.
FUNDABLE_STATES = (S.FUNDRAISING, S.FUNDED, S.REPAYING, S.ENDED)


def month_range(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    if not 1 <= month <= 12:
        raise ValidationError({"month": _("Choose a month between 1 and 12.")})
    return datetime.date(year, month, 1), datetime.date(
        year, month, calendar.monthrange(year, month)[1]
    )


def _report_transition(report: RepaymentReport, to_status: str, *, actor, fields=()) -> None:
    if to_status not in REPORT_TRANSITIONS[report.status]:
        raise ValidationError(
            _("A report that is %(from)s cannot become %(to)s.")
            % {"from": report.get_status_display(), "to": ReportStatus(to_status).label}
        )
    before = report.status
    report.status = to_status
    report.save(update_fields=["status", *fields])
    audit_record(
        actor=actor,
        action=f"p2p_repayment_report.{to_status}",
        target=report,
        before={"status": before},
        after={"status": to_status, "total": str(report.total), "lines": report.lines.count()},
    )


def repayment_candidates(*, platform: Platform, year: int, month: int):
    """The platform's funded publications by loan id, and the repayments of the month to
    report: recorded, not reversed, with a principal part."""
    first, last = month_range(year, month)
    publications = {
        p.loan_id: p
        for p in Publication.objects.filter(platform=platform, state__in=REPORTED_STATES)
    }
    transactions = LoanTransaction.objects.filter(
        loan_id__in=list(publications),
        kind=TransactionKind.REPAYMENT,
        is_reversed=False,
        value_date__range=(first, last),
        principal_portion__gt=0,
    ).select_related("loan")
    return publications, transactions


@transaction.atomic
def repayment_report_build(
    *, actor, platform: Platform, year: int, month: int
) -> list[RepaymentReport]:
    """(Re)build the open reports of a month, one per currency, from the repayments actually
    recorded (not reversed) on the platform's funded loans: the principal part of each.
    Finalised reports are left exactly as they are."""
    _require(actor, Capability.P2P_MANAGE)
    publications, transactions = repayment_candidates(platform=platform, year=year, month=month)
    by_currency: dict[str, list[LoanTransaction]] = defaultdict(list)
    for txn in transactions.order_by("value_date", "pk"):
        by_currency[txn.loan.currency].append(txn)
    existing = {
        r.currency: r
        for r in RepaymentReport.objects.select_for_update().filter(
            platform=platform, year=year, month=month
        )
    }
    reports = []
    for currency in sorted(set(by_currency) | set(existing)):
        report = existing.get(currency) or RepaymentReport.objects.create(
            platform=platform, year=year, month=month, currency=currency
        )
        reports.append(report)
        if report.is_locked:
            continue
        report.lines.all().delete()
        lines = RepaymentReportLine.objects.bulk_create(
            RepaymentReportLine(
                report=report,
                publication=publications[txn.loan_id],
                loan_transaction=txn,
                value_date=txn.value_date,
                amount=txn.principal_portion,
            )
            for txn in by_currency.get(currency, [])
        )
        report.total = sum((line.amount for line in lines), ZERO)
        report.save(update_fields=["total"])
    return reports


@transaction.atomic
def repayment_report_finalise(*, actor, report: RepaymentReport) -> RepaymentReport:
    """Lock a month's report once the month is over: its lines and total never change again."""
    _require(actor, Capability.P2P_MANAGE)
    locked = RepaymentReport.objects.select_for_update().get(pk=report.pk)
    _first, last = month_range(locked.year, locked.month)
    if last >= timezone.localdate():
        raise ValidationError(_("A month can be finalised once it is over."))
    locked.finalised_by = actor if getattr(actor, "pk", None) else None
    locked.finalised_at = timezone.now()
    _report_transition(
        locked, ReportStatus.FINALISED, actor=actor, fields=["finalised_by", "finalised_at"]
    )
    return locked


def _report_lines(report: RepaymentReport) -> list[RepaymentLine]:
    rows = report.lines.select_related("publication").prefetch_related("publication__borrowers")
    result = []
    for line in rows.order_by("pk"):
        borrower = line.publication.borrowers.all()[0] if line.publication.borrowers.all() else None
        result.append(
            RepaymentLine(
                loan_id=line.publication.platform_loan_id or line.publication.internal_loan_id,
                client_id=str(borrower.person_id) if borrower else "",
                amount=round_money(line.amount, report.currency),
            )
        )
    return result


@transaction.atomic
def repayment_report_send(*, actor, report: RepaymentReport) -> RepaymentReport:
    """Send a finalised report (in batches of at most 300 lines on a partner API; keyed per
    report and batch so a repeat is harmless). On a file platform the next package carries it."""
    _require(actor, Capability.P2P_MANAGE)
    locked = (
        RepaymentReport.objects.select_for_update().select_related("platform").get(pk=report.pk)
    )
    if locked.status != ReportStatus.FINALISED:
        raise ValidationError(_("Only a finalised report can be sent."))
    if locked.platform.kind == PlatformKind.FILES:
        return locked
    lines = _report_lines(locked)
    if lines:
        key = (
            f"repayments:{locked.platform.code}:{locked.year}-{locked.month:02d}:{locked.currency}"
        )
        try:
            adapter_for(locked.platform).send_repayments(lines, key=key)
        except PlatformValidationError as exc:
            raise ValidationError(exc.errors) from exc
        except PlatformRefused as exc:
            raise ValidationError(str(exc)) from exc
    locked.sent_at = timezone.now()
    _report_transition(locked, ReportStatus.SENT, actor=actor, fields=["sent_at"])
    return locked


def repayments_send(*, actor, platform: Platform, year: int, month: int) -> list[RepaymentReport]:
    """Build a past month's reports from the actual repayments, finalise (lock) and send them.
    Raises ``TransientError`` when the platform cannot be reached (the reports stay finalised
    and go out on the next try)."""
    reports = repayment_report_build(actor=actor, platform=platform, year=year, month=month)
    result = []
    for report in reports:
        if report.status == ReportStatus.OPEN:
            report = repayment_report_finalise(actor=actor, report=report)
        if report.status == ReportStatus.FINALISED:
            report = repayment_report_send(actor=actor, report=report)
        result.append(report)
    return result


# --- funds received and repaid --------------------------------------------------------------


def _reconciler(actor) -> None:
    if actor is None:
        raise PermissionDenied(_("A person records money movements."))
    _require(actor, Capability.P2P_RECONCILE)


@transaction.atomic
def funding_record(
    *,
    actor,
    publication: Publication,
    received_on: datetime.date,
    reference: str,
    amount: Decimal,
    received_amount: Decimal | None = None,
    received_currency: str = "",
    exchange_rate: Decimal | None = None,
) -> FundingReceipt:
    """Record funds a platform paid for a loan it refinances and post them to the ledger.

    ``amount`` is the part of the loan refinanced, in the loan's currency. When the platform
    paid in another currency, give what it paid (``received_amount``, ``received_currency``)
    and the bank's rate (loan-currency units per unit paid): the difference between what reached
    the bank and ``amount`` is booked as an exchange difference.
    """
    _reconciler(actor)
    locked = (
        Publication.objects.select_for_update(of=("self",))
        .select_related("platform", "loan", "loan__branch", "loan__product_version")
        .get(pk=publication.pk)
    )
    _require_scope(actor, locked.loan)
    loan, platform = locked.loan, locked.platform
    currency = loan.currency
    errors = {}
    if locked.state not in FUNDABLE_STATES:
        errors["publication"] = _("Funds are received for loans the platform has published.")
    if amount <= 0 or round_money(amount, currency) != amount:
        errors["amount"] = _("Enter a positive amount in %(currency)s.") % {"currency": currency}
    if loan.disbursed_on is None or received_on < loan.disbursed_on:
        errors["received_on"] = _("Funds refinance a loan already disbursed: date them after it.")
    if not reference.strip():
        errors["reference"] = _("Enter the transfer reference.")
    foreign = bool(received_currency) and received_currency != currency
    if foreign and (not received_amount or received_amount <= 0):
        errors["received_amount"] = _("Enter the amount paid in %(currency)s.") % {
            "currency": received_currency
        }
    if foreign and (not exchange_rate or exchange_rate <= 0):
        errors["exchange_rate"] = _("Enter the exchange rate applied by the bank.")
    if errors:
        raise ValidationError(errors)
    funded = locked.fundings.aggregate(total=Sum("amount"))["total"] or ZERO
    if funded + amount > loan.principal:
        raise ValidationError(
            {
                "amount": _("Funds received would exceed the loan (%(principal)s).")
                % {"principal": round_money(loan.principal, currency)}
            }
        )
    if locked.fundings.filter(reference=reference.strip()).exists():
        raise ValidationError({"reference": _("This transfer is already recorded for this loan.")})
    if foreign:
        banked = round_money(received_amount * exchange_rate, currency)
    else:
        received_amount, received_currency, exchange_rate, banked = (
            amount,
            currency,
            Decimal(1),
            amount,
        )
    difference = banked - amount
    rule_set = loan.product_version.posting_rule_set
    lines = ledger.lines_for_events(
        rule_set=rule_set,
        branch=loan.branch,
        amounts={PostingEvent.P2P_FUNDING_RECEIVED: amount},
    )
    if not lines:
        raise ValidationError(
            _("The loan's posting rules (%(rules)s) have no rule for P2P funding.")
            % {"rules": rule_set}
        )
    if difference:
        if platform.exchange_difference_account is None:
            raise ValidationError(
                {
                    "exchange_rate": _(
                        "Choose the account for exchange differences of %(platform)s first."
                    )
                    % {"platform": platform}
                }
            )
        lines = [dataclasses.replace(line, debit=banked) if line.debit else line for line in lines]
        lines.append(
            ledger.LineSpec(
                platform.exchange_difference_account,
                debit=-difference if difference < 0 else ZERO,
                credit=difference if difference > 0 else ZERO,
                description=_("Exchange difference"),
            )
        )
    entry = ledger.journal_entry_post(
        actor=actor,
        entry_date=received_on,
        branch=loan.branch,
        currency=currency,
        description=_("P2P funding of loan %(number)s from %(platform)s (%(reference)s)")
        % {"number": loan.number, "platform": platform.name, "reference": reference.strip()},
        source=EntrySource.P2P_FUNDING,
        source_reference=f"p2p-funding-{locked.pk}-{reference.strip()}"[:100],
        lines=lines,
    )
    receipt = FundingReceipt.objects.create(
        platform=platform,
        publication=locked,
        received_on=received_on,
        reference=reference.strip()[:80],
        currency=currency,
        amount=amount,
        received_currency=received_currency,
        received_amount=received_amount,
        exchange_rate=exchange_rate,
        exchange_difference=difference,
        journal_entry=entry,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action="p2p_funding.recorded",
        target=receipt,
        branch_id=loan.branch_id,
        after={
            "loan": loan.number,
            "amount": str(amount),
            "received": f"{received_amount} {received_currency}",
            "exchange_difference": str(difference),
            "entry": entry.number,
        },
    )
    return receipt


def amount_owed(report: RepaymentReport) -> dict[int, Decimal]:
    """What is owed to the platform per publication for a report: the principal borrowers repaid
    times the share of the loan the platform funded (funds recorded so far), rounded."""
    repaid = defaultdict(Decimal)
    for line in report.lines.all():
        repaid[line.publication_id] += line.amount
    owed = {}
    publications = Publication.objects.filter(pk__in=list(repaid)).select_related("loan")
    for publication in publications:
        funded = publication.fundings.aggregate(total=Sum("amount"))["total"] or ZERO
        share = min(Decimal(1), funded / publication.loan.principal)
        value = round_money(repaid[publication.pk] * share, report.currency)
        if value > 0:
            owed[publication.pk] = value
    return owed


@transaction.atomic
def platform_repayment_record(
    *, actor, report: RepaymentReport, paid_on: datetime.date, reference: str = ""
) -> list[PlatformRepayment]:
    """Record the payment to the platform of what a finalised report says is owed, one ledger
    entry per loan (Dr refinancing / Cr bank). A loan already paid for this report is skipped."""
    _reconciler(actor)
    locked = (
        RepaymentReport.objects.select_for_update().select_related("platform").get(pk=report.pk)
    )
    if not locked.is_locked:
        raise ValidationError(_("Finalise the report before recording the payment."))
    first, _last = month_range(locked.year, locked.month)
    if paid_on < first:
        raise ValidationError({"paid_on": _("The payment cannot precede the report's month.")})
    owed = amount_owed(locked)
    done = set(locked.platform_repayments.values_list("publication_id", flat=True))
    pending = {pk: value for pk, value in owed.items() if pk not in done}
    if not pending:
        raise ValidationError(
            _("Nothing is left to pay for this report (no funds recorded, or already paid).")
        )
    publications = Publication.objects.select_related(
        "loan", "loan__branch", "loan__product_version"
    ).in_bulk(list(pending))
    recorded = []
    for pk, value in sorted(pending.items()):
        publication = publications[pk]
        _require_scope(actor, publication.loan)
        entry = ledger.event_post(
            actor=actor,
            rule_set=publication.loan.product_version.posting_rule_set,
            entry_date=paid_on,
            branch=publication.loan.branch,
            currency=locked.currency,
            amounts={PostingEvent.P2P_REPAYMENT_TO_PLATFORM: value},
            description=_("Repayment to %(platform)s for loan %(number)s, %(period)s")
            % {
                "platform": locked.platform.name,
                "number": publication.loan.number,
                "period": f"{locked.year}-{locked.month:02d}",
            },
            source=EntrySource.P2P_FUNDING,
            source_reference=f"p2p-repayment-{locked.pk}-{pk}",
        )
        if entry is None:
            raise ValidationError(
                _("The loan's posting rules have no rule for repayments to a P2P platform.")
            )
        repayment = PlatformRepayment.objects.create(
            platform=locked.platform,
            publication=publication,
            report=locked,
            paid_on=paid_on,
            reference=reference.strip()[:80],
            currency=locked.currency,
            amount=value,
            journal_entry=entry,
            recorded_by=actor,
        )
        audit_record(
            actor=actor,
            action="p2p_platform_repayment.recorded",
            target=repayment,
            branch_id=publication.loan.branch_id,
            after={"loan": publication.loan.number, "amount": str(value), "entry": entry.number},
        )
        recorded.append(repayment)
    return recorded
