"""Evaluation of active loans against their offer's requirements, from the registry records we hold.

Each active requirement of each loan in the portfolio (disbursed, not closed) gets a verdict:
compliant, non-compliant, unknown (no record: never compliant) or stale (the latest record is older
than its source's ``freshness_days`` on the evaluation date, counted from the record's as-of date).
The verdict carries a human reason with the facts and its evidence record.

History is written only when something changed: a new ``ComplianceCheck`` when the status, the
reason or the evidence differs from the latest one (which stops being the latest), otherwise the
latest one's ``evaluated_at`` moves forward in one set-based update. Then cases follow the checks
(``compliance.cases``): non-compliant opens or keeps the case of the party and issue, compliant
closes it as cured, unknown and stale leave cases alone; cases of loans that ended close.

Built for a portfolio of 100,000 loans: loans are read in batches of ``BATCH_SIZE``; per batch a
fixed handful of queries (latest records per party and source with ``DISTINCT ON``, the latest
periodic reports, the latest checks) and bulk writes — never a query per loan.
"""

from __future__ import annotations

import datetime
import functools
from collections import defaultdict
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Max, TextField, Value
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import Coalesce
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from compliance import cases as case_services
from compliance.cases import DEFAULT_MAX_DAYS_PAST_DUE, CheckOutcome
from compliance.choices import REQUIREMENT_SOURCE, CheckStatus, RequirementKind, SourceKind
from compliance.models import ComplianceCheck, OfferRequirement, RegistryRecord, Source
from loans.choices import PORTFOLIO_STATUSES, DocumentKind
from loans.models import Loan, LoanDocument
from mfi.money import DEFAULT_CURRENCY
from mfi.templatetags.money import money

BATCH_SIZE = 2000
# A bank's answer "no facility for this NIF" (the per-NIF endpoint's empty list) is stored by the
# ingestion as one record with this status and no account: fresh, it proves there are no arrears.
BANK_NO_FACILITY = "none"
# Serialises concurrent evaluations batch by batch (each batch re-reads the latest checks).
_LOCK_KEY = 7_345_001


@functools.lru_cache(maxsize=1024)
def _translated(language: str, message: str) -> str:
    return gettext(message)


def _(message: str) -> str:
    """``gettext``, remembered per language: a run formats the same few texts 100,000 times."""
    return _translated(translation.get_language(), message)


@dataclass(frozen=True, slots=True)
class Evidence:
    """A registry record as the rules read it (a light copy of ``RegistryRecord``'s fields)."""

    pk: int
    source_id: int
    as_of: datetime.date
    retrieved_at: datetime.datetime
    valid_until: datetime.date | None
    status: str
    data: dict


EVIDENCE_FIELDS = ("pk", "source_id", "as_of", "retrieved_at", "valid_until", "status", "data")


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one requirement for one loan, before it is written as a check."""

    status: str
    reason: str
    evidence: Evidence | None = None

    @property
    def evidence_id(self) -> int | None:
        return self.evidence.pk if self.evidence is not None else None


@dataclass(frozen=True, slots=True)
class LoanFacts:
    """What the rules need to know about one loan (read in bulk, one row per loan)."""

    loan_id: int
    party_id: int
    offer_id: int
    disbursed_on: datetime.date | None
    last_report_on: datetime.date | None


# --- formatting the facts ----------------------------------------------------------------------


def _day(value: datetime.date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else "—"


def _number(value) -> str:
    """A whole number as such (30, not 30.0000), otherwise as given."""
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return str(value)
    return str(
        number.quantize(Decimal(1)) if number == number.to_integral() else number.normalize()
    )


def _amount(record: Evidence, key: str) -> str:
    currency = record.data.get("currency") or DEFAULT_CURRENCY
    return f"{money(record.data.get(key) or '0', currency)} {currency}"


def _as_int(value) -> int | None:
    try:
        return int(Decimal(str(value)))
    except (InvalidOperation, ValueError, TypeError):
        return None


# --- the rules -----------------------------------------------------------------------------------


def _is_stale(record: Evidence, source: Source, today: datetime.date) -> bool:
    return (today - record.as_of).days > source.freshness_days


def _unknown(source_kind: str) -> Verdict:
    return Verdict(
        CheckStatus.UNKNOWN,
        _("No record from %(source)s: unknown is never compliant.")
        % {"source": SourceKind(source_kind).label},
    )


def _stale(record: Evidence, source: Source) -> Verdict:
    return Verdict(
        CheckStatus.STALE,
        _("Latest record from %(source)s is as of %(date)s, older than %(days)s days.")
        % {"source": source.name, "date": _day(record.as_of), "days": source.freshness_days},
        record,
    )


def _unrecognised(record: Evidence, source: Source) -> Verdict:
    return Verdict(
        CheckStatus.UNKNOWN,
        _("Status “%(status)s” from %(source)s as of %(date)s is not understood.")
        % {"status": record.status, "source": source.name, "date": _day(record.as_of)},
        record,
    )


def tax_verdict(record: Evidence, source: Source, today: datetime.date) -> Verdict:
    """Regular with a certificate valid today: compliant; expired certificate or irregular: not."""
    facts = {
        "certificate": record.data.get("certificate_number") or "—",
        "date": _day(record.valid_until),
        "as_of": _day(record.as_of),
    }
    if record.status == "irregular":
        return Verdict(
            CheckStatus.NON_COMPLIANT,
            _("Tax situation irregular (tax debt %(amount)s) as of %(as_of)s.")
            % {**facts, "amount": _amount(record, "tax_debt")},
            record,
        )
    if record.status != "regular":
        return _unrecognised(record, source)
    if record.valid_until is None:
        return Verdict(
            CheckStatus.NON_COMPLIANT,
            _("Tax situation regular as of %(as_of)s but no valid tax certificate.") % facts,
            record,
        )
    if record.valid_until >= today:
        return Verdict(
            CheckStatus.COMPLIANT,
            _("Tax certificate %(certificate)s valid until %(date)s.") % facts,
            record,
        )
    return Verdict(
        CheckStatus.NON_COMPLIANT,
        _("Tax certificate %(certificate)s expired on %(date)s.") % facts,
        record,
    )


def social_security_verdict(record: Evidence, source: Source) -> Verdict:
    """Regular: compliant; irregular: non-compliant, with the months and amount unpaid."""
    if record.status == "regular":
        return Verdict(
            CheckStatus.COMPLIANT,
            _("Social security contributions paid up as of %(date)s.")
            % {"date": _day(record.as_of)},
            record,
        )
    if record.status != "irregular":
        return _unrecognised(record, source)
    months = _as_int(record.data.get("months_in_arrears")) or 0
    return Verdict(
        CheckStatus.NON_COMPLIANT,
        ngettext(
            "%(months)s month of contributions unpaid (%(amount)s) as of %(date)s.",
            "%(months)s months of contributions unpaid (%(amount)s) as of %(date)s.",
            months,
        )
        % {"months": months, "amount": _amount(record, "amount_due"), "date": _day(record.as_of)},
        record,
    )


def jobs_kept_verdict(record: Evidence, source: Source, threshold: Decimal | None) -> Verdict:
    """The latest declared number of employees is at least the requirement's minimum."""
    if threshold is None:
        return Verdict(
            CheckStatus.UNKNOWN, _("No minimum number of employees is set for this requirement.")
        )
    employees = _as_int(record.data.get("declared_employees"))
    facts = {"as_of": _day(record.as_of), "minimum": _number(threshold), "employees": employees}
    if employees is None:
        return Verdict(
            CheckStatus.UNKNOWN,
            _("The record from %(source)s as of %(as_of)s declares no employees.")
            % {**facts, "source": source.name},
            record,
        )
    if employees >= threshold:
        return Verdict(
            CheckStatus.COMPLIANT,
            _("%(employees)s employees declared as of %(as_of)s (at least %(minimum)s required).")
            % facts,
            record,
        )
    return Verdict(
        CheckStatus.NON_COMPLIANT,
        _("Only %(employees)s employees declared as of %(as_of)s (at least %(minimum)s required).")
        % facts,
        record,
    )


def _days_past_due(record: Evidence) -> int:
    return _as_int(record.data.get("days_past_due")) or 0


def _bank(record: Evidence, sources: dict[int, Source]) -> str:
    return (
        record.data.get("bank_code")
        or sources[record.source_id].bank_code
        or str(sources[record.source_id])
    )


def bank_verdict(
    answers: dict[int, list[Evidence]],
    sources: dict[int, Source],
    threshold: Decimal | None,
    today: datetime.date,
) -> Verdict:
    """Every bank's latest fresh answer: any facility more days past due than allowed → not
    compliant (evidence: the worst); none, with at least one fresh answer → compliant (a fresh
    "no facility" answer counts). Only stale answers → stale; no answer at all → unknown."""
    allowed = DEFAULT_MAX_DAYS_PAST_DUE if threshold is None else threshold
    fresh = [
        record
        for source_id, records in answers.items()
        if not _is_stale(records[0], sources[source_id], today)
        for record in records
    ]
    if not fresh:
        if not answers:
            return _unknown(SourceKind.BANK)
        source_id, records = max(answers.items(), key=lambda item: item[1][0].as_of)
        return _stale(records[0], sources[source_id])
    facilities = [record for record in fresh if record.status != BANK_NO_FACILITY]
    worst = max(
        facilities or fresh, key=lambda record: (_days_past_due(record), record.as_of, record.pk)
    )
    if facilities and _days_past_due(worst) > allowed:
        return Verdict(
            CheckStatus.NON_COMPLIANT,
            _(
                "Facility %(account)s at %(bank)s is %(days)s days past due (%(amount)s "
                "outstanding) as of %(date)s; at most %(allowed)s allowed."
            )
            % {
                "account": worst.data.get("account") or "—",
                "bank": _bank(worst, sources),
                "days": _days_past_due(worst),
                "amount": _amount(worst, "outstanding"),
                "date": _day(worst.as_of),
                "allowed": _number(allowed),
            },
            worst,
        )
    banks = sorted({_bank(record, sources) for record in fresh})
    return Verdict(
        CheckStatus.COMPLIANT,
        _("No facility more than %(allowed)s days past due at %(banks)s as of %(date)s.")
        % {
            "allowed": _number(allowed),
            "banks": ", ".join(banks),
            "date": _day(max(record.as_of for record in fresh)),
        },
        worst,
    )


def report_verdict(facts: LoanFacts, every_days: int, today: datetime.date) -> Verdict:
    """A periodic report uploaded to the loan within the last ``every_days`` days; the first one
    is due ``every_days`` after disbursement (a new loan is not late yet)."""
    since = today - datetime.timedelta(days=every_days)
    if facts.last_report_on is not None and facts.last_report_on >= since:
        return Verdict(
            CheckStatus.COMPLIANT,
            _("Periodic report received on %(date)s.") % {"date": _day(facts.last_report_on)},
        )
    if facts.last_report_on is None and facts.disbursed_on and facts.disbursed_on >= since:
        first_due = facts.disbursed_on + datetime.timedelta(days=every_days)
        return Verdict(
            CheckStatus.COMPLIANT,
            _("First periodic report due by %(date)s.") % {"date": _day(first_due)},
        )
    if facts.last_report_on is None:
        return Verdict(
            CheckStatus.NON_COMPLIANT,
            _("No periodic report received in the last %(days)s days.") % {"days": every_days},
        )
    return Verdict(
        CheckStatus.NON_COMPLIANT,
        _("Last periodic report received on %(date)s, more than %(days)s days ago.")
        % {"date": _day(facts.last_report_on), "days": every_days},
    )


@dataclass
class PartyRecords:
    """The latest answer of each source about one party, by kind of source (a bank's answer is
    every facility it reported on its latest as-of date)."""

    by_kind: dict[str, dict[int, list[Evidence]]] = field(default_factory=dict)

    def answers(self, kind: str) -> dict[int, list[Evidence]]:
        return self.by_kind.get(kind, {})

    def latest(self, kind: str) -> Evidence | None:
        candidates = [records[0] for records in self.answers(kind).values()]
        return max(candidates, key=lambda r: (r.as_of, r.retrieved_at, r.pk), default=None)


def requirement_verdict(
    requirement: OfferRequirement,
    facts: LoanFacts,
    records: PartyRecords,
    sources: dict[int, Source],
    today: datetime.date,
) -> Verdict:
    """Apply the rule of one requirement to one loan's borrower."""
    kind = requirement.kind
    if kind == RequirementKind.REPORT_SUBMITTED:
        return report_verdict(facts, requirement.check_every_days, today)
    source_kind = REQUIREMENT_SOURCE[kind]
    if kind == RequirementKind.NO_BANK_ARREARS:
        return bank_verdict(records.answers(source_kind), sources, requirement.threshold, today)
    record = records.latest(source_kind)
    if record is None:
        return _unknown(source_kind)
    source = sources[record.source_id]
    if _is_stale(record, source, today):
        return _stale(record, source)
    if kind == RequirementKind.TAX_REGULAR:
        return tax_verdict(record, source, today)
    if kind == RequirementKind.SOCIAL_SECURITY_PAID:
        return social_security_verdict(record, source)
    return jobs_kept_verdict(record, source, requirement.threshold)


# --- bulk reads ----------------------------------------------------------------------------------


def latest_records(party_ids: list[int], sources: dict[int, Source]) -> dict[int, PartyRecords]:
    """The latest answer of every source about each party, in one ``DISTINCT ON`` query.

    One row per (party, source, bank account), the newest first; then only the rows of each
    (party, source)'s latest as-of date are kept, so a facility a bank stopped reporting is gone.
    """
    rows = (
        RegistryRecord.objects.filter(party_id__in=party_ids)
        .annotate(
            facility=Coalesce(
                KeyTextTransform("account", "data"), Value(""), output_field=TextField()
            )
        )
        .order_by("party_id", "source_id", "facility", "-as_of", "-retrieved_at", "-pk")
        .distinct("party_id", "source_id", "facility")
        .values_list("party_id", "facility", *EVIDENCE_FIELDS)
    )
    grouped: dict[int, dict[int, list[Evidence]]] = defaultdict(lambda: defaultdict(list))
    for party_id, _facility, *values in rows:
        evidence = Evidence(*values)
        grouped[party_id][evidence.source_id].append(evidence)
    result = {}
    for party_id, by_source in grouped.items():
        records = PartyRecords()
        for source_id, answers in by_source.items():
            newest = max(answer.as_of for answer in answers)
            kept = [answer for answer in answers if answer.as_of == newest]
            kept.sort(key=lambda r: (r.retrieved_at, r.pk), reverse=True)
            records.by_kind.setdefault(sources[source_id].kind, {})[source_id] = kept
        result[party_id] = records
    return result


def _last_reports(loan_ids: list[int]) -> dict[int, datetime.date]:
    rows = (
        LoanDocument.objects.filter(loan_id__in=loan_ids, kind=DocumentKind.PERIODIC_REPORT)
        .values("loan_id")
        .annotate(last=Max("uploaded_at"))
    )
    return {row["loan_id"]: timezone.localdate(row["last"]) for row in rows}


def _requirements_by_offer() -> dict[int, list[OfferRequirement]]:
    by_offer: dict[int, list[OfferRequirement]] = defaultdict(list)
    for requirement in OfferRequirement.objects.filter(is_active=True).order_by("pk"):
        by_offer[requirement.offer_id].append(requirement)
    return dict(by_offer)


def _loans_in_scope(offer_ids, loan_ids, party_ids):
    loans = Loan.objects.filter(
        status__in=PORTFOLIO_STATUSES, product_version__product__offer_id__in=offer_ids
    )
    if loan_ids is not None:
        loans = loans.filter(pk__in=loan_ids)
    if party_ids is not None:
        loans = loans.filter(borrower_id__in=party_ids)
    return loans.order_by("pk").values_list(
        "pk", "borrower_id", "product_version__product__offer_id", "disbursed_on"
    )


# --- the run -------------------------------------------------------------------------------------


def _empty_counts() -> dict[str, int]:
    return {
        "loans": 0,
        **dict.fromkeys(CheckStatus.values, 0),
        "checks_written": 0,
        "cases_opened": 0,
        "cases_closed": 0,
    }


def evaluate_loans(
    *,
    loan_ids: list[int] | None = None,
    party_ids: list[int] | None = None,
    today: datetime.date | None = None,
) -> dict[str, int]:
    """Evaluate the portfolio's loans (or only the given loans / borrowers) on ``today``.

    Returns counts: ``loans`` evaluated, checks per status (``compliant``, ``non_compliant``,
    ``unknown``, ``stale``), ``checks_written`` (new history rows), ``cases_opened`` and
    ``cases_closed``. Idempotent: a second run on the same data writes no new check.
    """
    today = today or timezone.localdate()
    counts = _empty_counts()
    requirements = _requirements_by_offer()
    sources = {source.pk: source for source in Source.objects.all()}
    loans = _loans_in_scope(list(requirements), loan_ids, party_ids)
    last_pk = 0
    with translation.override(settings.LANGUAGE_CODE):
        while requirements:
            rows = list(loans.filter(pk__gt=last_pk)[:BATCH_SIZE])
            if not rows:
                break
            last_pk = rows[-1][0]
            _evaluate_batch(rows, requirements, sources, today, counts)
        counts["cases_closed"] += case_services.cases_close_for_ended_loans(
            loan_ids=loan_ids, party_ids=party_ids
        )
    return counts


def _latest_checks(loan_ids: list[int]) -> dict[tuple[int, int], tuple]:
    """(loan, requirement) → (check id, status, reason, evidence id) of the latest checks."""
    rows = ComplianceCheck.objects.filter(loan_id__in=loan_ids, is_latest=True).values_list(
        "loan_id", "requirement_id", "pk", "status", "reason", "evidence_id"
    )
    return {(loan_id, requirement_id): rest for loan_id, requirement_id, *rest in rows}


@transaction.atomic
def _evaluate_batch(rows, requirements, sources, today, counts) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
    now = timezone.now()
    loan_ids = [row[0] for row in rows]
    records = latest_records(sorted({row[1] for row in rows}), sources)
    reports = _last_reports(loan_ids)
    latest = _latest_checks(loan_ids)
    no_records = PartyRecords()
    superseded, new_checks, outcomes, written = [], [], [], []
    for loan_id, party_id, offer_id, disbursed_on in rows:
        facts = LoanFacts(loan_id, party_id, offer_id, disbursed_on, reports.get(loan_id))
        for requirement in requirements[offer_id]:
            verdict = requirement_verdict(
                requirement, facts, records.get(party_id, no_records), sources, today
            )
            counts[verdict.status] += 1
            fact = (verdict.status, verdict.reason[:300], verdict.evidence_id)
            previous = latest.get((loan_id, requirement.pk))
            outcome = CheckOutcome(
                check_id=previous[0] if previous else 0,
                party_id=party_id,
                loan_id=loan_id,
                kind=requirement.kind,
                severity=requirement.severity,
                status=verdict.status,
            )
            if previous is not None and tuple(previous[1:]) == fact:
                outcomes.append(outcome)
                continue
            if previous is not None:
                superseded.append(previous[0])
            new_checks.append(
                ComplianceCheck(
                    loan_id=loan_id,
                    party_id=party_id,
                    requirement_id=requirement.pk,
                    status=fact[0],
                    reason=fact[1],
                    evidence_id=fact[2],
                    evaluated_at=now,
                    is_latest=True,
                )
            )
            written.append(outcome)
    counts["loans"] += len(rows)
    ComplianceCheck.objects.filter(pk__in=superseded).update(is_latest=False)
    # Whatever is still the latest check of these loans' active requirements was confirmed now.
    ComplianceCheck.objects.filter(
        loan_id__in=loan_ids,
        is_latest=True,
        requirement_id__in=[r.pk for group in requirements.values() for r in group],
    ).update(evaluated_at=now)
    ComplianceCheck.objects.bulk_create(new_checks)
    outcomes.extend(
        replace(outcome, check_id=check.pk)
        for outcome, check in zip(written, new_checks, strict=True)
    )
    counts["checks_written"] += len(new_checks)
    opened, closed = case_services.cases_follow_checks(checks=outcomes, today=today)
    counts["cases_opened"] += opened
    counts["cases_closed"] += closed
