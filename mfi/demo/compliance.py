"""Demo compliance monitoring: registry sources, offer requirements, a year of registry data,
evaluations, cases in every state, field follow-ups and service-desk visits.

Sources: the social security institute (INPS), the revenue authority (DNRE) and two banks (BCA,
CECV) over HTTP at the sandbox default ports (``python -m sandbox`` serves them, so ``make run``
shows live pulls), plus INPS's monthly file drop. For each of the last twelve month-ends, that
month's registry files are built from ``sandbox.data`` (the answers the sandboxes give, so no
server needs to run at seed time) and fed through ``compliance.ingest.file_ingest``: INPS's to
the file-drop source, the others as files uploaded to their API sources. After each month, the
loans already disbursed are evaluated (``compliance.evaluation``) five days after the month-end,
which opens cases and cures them; the agents call or visit the new cases in the following days
(``compliance.field.follow_up_record``). At the end the portfolio is evaluated today and the
cases still open are worked: some solutions agreed, some escalated. The Praia service desk had
walk-ins on the working days of the last two weeks (``compliance.desk``, with real waits).

Everything goes through the services. The one exception: case and check services stamp the
real clock, so the seed dates what each monthly step wrote (checks evaluated, cases opened or
cured) back to that step, the only writes that bypass a service.

Deterministic for a given day (one seeded ``random.Random``; the months are the twelve before
today) and idempotent: nothing happens once the demo sources have runs.
"""

from __future__ import annotations

import datetime
import uuid
from random import Random

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone

from compliance import cases as case_services
from compliance.choices import (
    CaseOutcome,
    CaseStatus,
    DeskReason,
    FollowUpKind,
    FollowUpOutcome,
    HandOff,
    RequirementKind,
    RunTrigger,
    Severity,
    SourceKind,
    Transport,
)
from compliance.desk import desk_check_in, desk_finish, desk_mark_left, desk_start_service
from compliance.evaluation import evaluate_loans
from compliance.field import follow_up_record
from compliance.ingest import file_ingest
from compliance.models import Case, ComplianceCheck, OfferRequirement, Source, SourceRun
from crm.models import Person
from crm.selectors import parties_visible_to
from loans.choices import PORTFOLIO_STATUSES
from loans.models import Loan, Offer
from sandbox import data
from users.models import Branch, User

SEED = 20261124
MONTHS = 12
EVALUATED_AFTER_MONTH_END = datetime.timedelta(days=5, hours=8)  # the 5th, 08:00
DESK_WEEKS = 2

# code, name, kind, transport, base URL, token variable, bank code, inbound folder
SOURCES = [
    ("inps", "INPS — contribuições", SourceKind.SOCIAL_SECURITY, Transport.HTTP,
     "http://127.0.0.1:8101", "INPS_API_TOKEN", "", ""),
    ("dnre", "DNRE — situação fiscal", SourceKind.REVENUE, Transport.HTTP,
     "http://127.0.0.1:8102", "DNRE_API_TOKEN", "", ""),
    ("bank-bca", "BCA — situação de crédito", SourceKind.BANK, Transport.HTTP,
     "http://127.0.0.1:8103", "BANK_BCA_API_TOKEN", "BCA", ""),
    ("bank-cecv", "CECV — situação de crédito", SourceKind.BANK, Transport.HTTP,
     "http://127.0.0.1:8104", "BANK_CECV_API_TOKEN", "CECV", ""),
    ("inps-ficheiros", "INPS — ficheiro mensal", SourceKind.SOCIAL_SECURITY, Transport.FILE,
     "", "", "", "inps"),
]  # fmt: skip
# Each month's file: the source it is fed to, the sandbox rows and the protocol's header.
MONTH_FILES = [
    ("inps-ficheiros", data.social_security_records, data.SOCIAL_SECURITY_FIELDS),
    ("dnre", data.revenue_records, data.REVENUE_FIELDS),
    ("bank-bca", lambda as_of: data.bank_records("BCA", as_of), data.BANK_FIELDS),
    ("bank-cecv", lambda as_of: data.bank_records("CECV", as_of), data.BANK_FIELDS),
]
# offer code: [(requirement, severity, threshold, check every n days)]
REQUIREMENTS = {
    "microcredito-produtivo": [
        (RequirementKind.SOCIAL_SECURITY_PAID, Severity.HIGH, None, 30),
        (RequirementKind.TAX_REGULAR, Severity.MEDIUM, None, 30),
        (RequirementKind.NO_BANK_ARREARS, Severity.HIGH, 30, 30),
    ],
    "credito-jovem-empreendedor": [
        (RequirementKind.SOCIAL_SECURITY_PAID, Severity.MEDIUM, None, 30),
        (RequirementKind.TAX_REGULAR, Severity.LOW, None, 60),
    ],
    "fundo-garantia-pme": [
        (RequirementKind.TAX_REGULAR, Severity.CRITICAL, None, 30),
        (RequirementKind.SOCIAL_SECURITY_PAID, Severity.CRITICAL, None, 30),
        (RequirementKind.NO_BANK_ARREARS, Severity.CRITICAL, 0, 30),
        (RequirementKind.JOBS_KEPT, Severity.MEDIUM, 2, 90),
    ],
    "vale-assistencia-tecnica": [
        (RequirementKind.REPORT_SUBMITTED, Severity.LOW, None, 180),
    ],
}
OFFICERS = {"praia": "officer", "mindelo": "officer.mindelo", "sal": "officer.sal"}
REACHED = [
    FollowUpOutcome.WILL_REGULARISE,
    FollowUpOutcome.WILL_REGULARISE,
    FollowUpOutcome.NEEDS_HELP,
    FollowUpOutcome.REGULARISED,
    FollowUpOutcome.REFUSED,
]
NOTES = {
    FollowUpOutcome.WILL_REGULARISE: "Confirmou a situação; vai regularizar até ao fim do mês.",
    FollowUpOutcome.NEEDS_HELP: "Pede ajuda para negociar um plano de pagamento.",
    FollowUpOutcome.REGULARISED: "Mostrou o comprovativo de pagamento.",
    FollowUpOutcome.REFUSED: "Não reconhece a dívida; pede para falar com o gerente.",
    FollowUpOutcome.NOT_REACHED: "Telefone desligado; tentar de novo.",
}
SOLUTION_NOTES = {
    RequirementKind.SOCIAL_SECURITY_PAID: "Plano de pagamento em 3 prestações acordado com o INPS.",
    RequirementKind.TAX_REGULAR: "Apoio para regularizar na repartição de finanças.",
    RequirementKind.NO_BANK_ARREARS: "Reestruturação com período de observação de 90 dias.",
}
DESK_REASONS = [
    (DeskReason.REPAYMENT, 8),
    (DeskReason.INFORMATION, 4),
    (DeskReason.COMPLIANCE_DOCUMENT, 3),
    (DeskReason.COMPLIANCE_HELP, 3),
    (DeskReason.NEW_LOAN, 3),
    (DeskReason.COACHING, 2),
    (DeskReason.COMPLAINT, 1),
]
VISITORS = ["Ana Furtado", "José Brito", "Rosa Mendes", "Nelson Pires", "Elsa Barros"]


@transaction.atomic
def seed_compliance(*, users: dict[str, User]) -> int:
    """Create the demo compliance data once; returns how many cases were opened."""
    sources = _seed_sources()
    if SourceRun.objects.filter(source__in=sources.values()).exists():
        return 0
    _seed_requirements(actor=users["compliance"])
    rng = Random(SEED)
    now = timezone.now()
    before = Case.objects.count()
    month_ends = _month_ends(timezone.localdate(now))
    for step, month_end in enumerate(month_ends):
        _ingest_month(sources, month_end, actor=users["compliance"])
        evaluated_at = timezone.make_aware(
            datetime.datetime.combine(month_end, datetime.time()) + EVALUATED_AFTER_MONTH_END
        )
        next_step = (
            timezone.make_aware(
                datetime.datetime.combine(month_ends[step + 1], datetime.time())
                + EVALUATED_AFTER_MONTH_END
            )
            if step + 1 < len(month_ends)
            else now
        )
        opened = _evaluate_at(min(evaluated_at, now - datetime.timedelta(hours=1)))
        _follow_up(rng, opened, until=min(next_step, now), users=users)
    evaluate_loans(today=timezone.localdate(now))
    _work_open_cases(users=users)
    _seed_desk(rng, users=users, now=now)
    return Case.objects.count() - before


# --- set-up --------------------------------------------------------------------------------------


def _seed_sources() -> dict[str, Source]:
    sources = {}
    for code, name, kind, transport, base_url, token_env, bank_code, folder in SOURCES:
        sources[code], _created = Source.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "kind": kind,
                "transport": transport,
                "base_url": base_url,
                "token_env": token_env,
                "bank_code": bank_code,
                "inbound_folder": folder,
                "pull_every_minutes": 1440,
                "freshness_days": 35 if kind != SourceKind.BANK else 40,
            },
        )
    return sources


def _seed_requirements(*, actor: User) -> None:
    offers = {offer.code: offer for offer in Offer.objects.filter(code__in=REQUIREMENTS)}
    existing = set(OfferRequirement.objects.values_list("offer__code", "kind"))
    for code, requirements in REQUIREMENTS.items():
        if code not in offers:
            continue
        for kind, severity, threshold, every in requirements:
            if (code, kind) in existing:
                continue
            case_services.requirement_create(
                actor=actor,
                offer=offers[code],
                kind=kind,
                severity=severity,
                threshold=threshold,
                check_every_days=every,
            )


def _month_ends(today: datetime.date) -> list[datetime.date]:
    """The last ``MONTHS`` month-ends on or before today, oldest first."""
    month_ends = [data.reporting_month_end(today)]
    while len(month_ends) < MONTHS:
        month_ends.append(month_ends[-1].replace(day=1) - datetime.timedelta(days=1))
    return month_ends[::-1]


def _ingest_month(sources: dict[str, Source], month_end: datetime.date, *, actor: User) -> None:
    for code, rows, fields in MONTH_FILES:
        source = sources[code]
        upload = SimpleUploadedFile(
            f"{code}-{month_end:%Y-%m}.csv",
            data.csv_text(rows(month_end), fields).encode(),
            content_type="text/csv",
        )
        trigger = RunTrigger.INBOUND if source.transport == Transport.FILE else RunTrigger.UPLOAD
        file_ingest(source=source, path_or_file=upload, actor=actor, trigger=trigger)


# --- the monthly evaluations ---------------------------------------------------------------------


def _evaluate_at(moment: datetime.datetime) -> list[Case]:
    """Evaluate the loans disbursed by then, as the nightly job did that day; returns the cases
    it opened. What the services stamped with the real clock is dated back to ``moment``."""
    started = timezone.now()
    day = timezone.localdate(moment)
    loan_ids = list(
        Loan.objects.filter(status__in=PORTFOLIO_STATUSES, disbursed_on__lte=day).values_list(
            "pk", flat=True
        )
    )
    evaluate_loans(loan_ids=loan_ids, today=day)
    opened = list(Case.objects.filter(opened_at__gte=started).values_list("pk", flat=True))
    ComplianceCheck.objects.filter(evaluated_at__gte=started).update(evaluated_at=moment)
    Case.objects.filter(closed_at__gte=started).update(closed_at=moment)
    Case.objects.filter(pk__in=opened).update(opened_at=moment)
    return list(
        Case.objects.filter(pk__in=opened)
        .select_related("party", "party__branch", "owner")
        .order_by("pk")
    )


def _caller(case: Case, users: dict[str, User]) -> User:
    """Who calls: the case's owner when they can see the client, else the branch's officer."""
    owner = case.owner
    if owner is not None and parties_visible_to(owner).filter(pk=case.party_id).exists():
        return owner
    return users[OFFICERS.get(case.party.branch.code, "officer")]


def _follow_up(rng: Random, cases: list[Case], *, until: datetime.datetime, users) -> None:
    """Most new cases get a call or visit within a week (some do not reach the client)."""
    for case in cases:
        roll = rng.random()
        if roll < 0.2:
            continue  # nobody has called yet
        at = case.opened_at + datetime.timedelta(hours=rng.randint(2, 170))
        if at >= until:
            continue
        outcome = FollowUpOutcome.NOT_REACHED if roll < 0.3 else rng.choice(REACHED)
        follow_up_record(
            actor=_caller(case, users),
            client_uuid=uuid.UUID(int=rng.getrandbits(128)),
            party=case.party,
            kind=FollowUpKind.CALL if rng.random() < 0.7 else FollowUpKind.VISIT,
            outcome=outcome,
            case=case,
            notes=NOTES[outcome],
            occurred_at=at,
        )


def _work_open_cases(*, users: dict[str, User]) -> None:
    """The contacted cases still open today: every fourth one gets its solution agreed by the
    compliance officer, the one after it is escalated to recovery; the others stay contacted."""
    officer = users["compliance"]
    watch_until = timezone.localdate() + datetime.timedelta(days=90)
    contacted = list(
        Case.objects.filter(status=CaseStatus.CONTACTED).select_related("loan").order_by("pk")
    )
    for index, case in enumerate(contacted):
        if index % 4 == 0:
            case_services.case_propose_solution(
                actor=officer,
                case=case,
                solution=case.proposed_solution,
                notes=SOLUTION_NOTES.get(case.kind, ""),
                watch_until=watch_until if case.kind == RequirementKind.NO_BANK_ARREARS else None,
            )
        elif index % 4 == 1:
            case_services.case_close(actor=officer, case=case, outcome=CaseOutcome.ESCALATED)


# --- the service desk ----------------------------------------------------------------------------


def _desk_days(today: datetime.date) -> list[datetime.date]:
    first = today - datetime.timedelta(weeks=DESK_WEEKS)
    return [
        first + datetime.timedelta(days=offset)
        for offset in range((today - first).days)
        if (first + datetime.timedelta(days=offset)).weekday() < 5
    ]


def _seed_desk(rng: Random, *, users: dict[str, User], now: datetime.datetime) -> None:
    """Walk-ins at the Praia market desk: 4 to 8 a day from 8:30, waits of a few minutes to
    over half an hour, some leave before their turn (half of those facing more than 20
    minutes, and every tenth visitor); clients are checked in by their record."""
    desk = users["desk"]
    branch = Branch.objects.get(code="praia")
    clients = list(
        parties_visible_to(desk)
        .filter(pk__in=Person.objects.filter(branch=branch).values("pk"), loans__isnull=False)
        .distinct()
        .order_by("pk")[:40]
    )
    reasons = [reason for reason, weight in DESK_REASONS for _ in range(weight)]
    arrivals = 0
    for day in _desk_days(timezone.localdate(now)):
        moment = timezone.make_aware(datetime.datetime.combine(day, datetime.time(8, 30)))
        free_at = moment
        for _number in range(rng.randint(4, 8)):
            arrivals += 1
            moment += datetime.timedelta(minutes=rng.randint(2, 25))
            party = rng.choice(clients) if clients and rng.random() < 0.6 else None
            visit = desk_check_in(
                actor=desk,
                branch=branch,
                reason=rng.choice(reasons),
                party=party,
                visitor_name="" if party else rng.choice(VISITORS),
                visitor_phone="" if party else f"99{rng.randint(10000, 99999)}",
                now=moment,
            )
            started = max(free_at, moment) + datetime.timedelta(minutes=rng.randint(1, 6))
            long_wait = started - moment > datetime.timedelta(minutes=20)
            if (long_wait and rng.random() < 0.5) or arrivals % 10 == 5:  # gave up waiting
                desk_mark_left(actor=desk, visit=visit)
                continue
            desk_start_service(actor=desk, visit=visit, now=started)
            free_at = started + datetime.timedelta(minutes=rng.randint(5, 20))
            hand_off = HandOff.TASK if party and rng.random() < 0.15 else HandOff.NONE
            desk_finish(
                actor=desk,
                visit=visit,
                now=free_at,
                notes="Atendido no balcão.",
                hand_off=hand_off,
                task_title="Ligar ao cliente sobre o pedido feito no balcão"
                if hand_off == HandOff.TASK
                else "",
                task_due=timezone.localdate(now) + datetime.timedelta(days=3)
                if hand_off == HandOff.TASK
                else None,
            )
