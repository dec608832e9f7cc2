"""The demo compliance data (``mfi/demo/compliance.py``) on top of the demo organisation, parties,
ledger and loans: deterministic, idempotent, every case state present, and a dashboard that
tells the story with real numbers."""

from __future__ import annotations

import datetime
import time
from collections import Counter

from django.utils import timezone

from audit.models import AuditEvent
from compliance.choices import CaseOutcome, CaseStatus, CheckStatus, RunStatus, Transport
from compliance.dashboards import DashboardFilters, dashboard_build
from compliance.models import (
    Case,
    ComplianceCheck,
    DeskVisit,
    FollowUp,
    OfferRequirement,
    RegistryRecord,
    Source,
    SourceRun,
)
from mfi.demo.compliance import MONTHS, seed_compliance
from mfi.demo.ledger import seed_ledger
from mfi.demo.loans import seed_loans
from mfi.demo.organisation import seed_organisation
from mfi.demo.parties import seed_parties


def _footprint() -> tuple[int, ...]:
    return (
        Source.objects.count(),
        SourceRun.objects.count(),
        RegistryRecord.objects.count(),
        OfferRequirement.objects.count(),
        ComplianceCheck.objects.count(),
        Case.objects.count(),
        FollowUp.objects.count(),
        DeskVisit.objects.count(),
        AuditEvent.objects.count(),
    )


def test_demo_compliance_is_idempotent_covers_every_case_state_and_feeds_the_dashboard(
    db, settings, tmp_path
):
    # given
    settings.MEDIA_ROOT = tmp_path
    users = seed_organisation()
    seed_parties(actor=users["admin"])
    seed_ledger(maker=users["accountant"], checker=users["manager"])
    seed_loans(users=users)

    # when
    started = time.monotonic()
    created = seed_compliance(users=users)
    seconds = time.monotonic() - started
    footprint = _footprint()
    created_again = seed_compliance(users=users)

    # then: a year of monthly files through the real ingestion, nothing more on a second run
    assert created == Case.objects.count() > 20
    assert created_again == 0
    assert _footprint() == footprint
    assert seconds < 60  # the brief allows about 30 s on a developer machine
    sources = {source.code: source for source in Source.objects.all()}
    assert {code: (s.transport, s.base_url, s.token_env) for code, s in sources.items()} == {
        "inps": (Transport.HTTP, "http://127.0.0.1:8101", "INPS_API_TOKEN"),
        "dnre": (Transport.HTTP, "http://127.0.0.1:8102", "DNRE_API_TOKEN"),
        "bank-bca": (Transport.HTTP, "http://127.0.0.1:8103", "BANK_BCA_API_TOKEN"),
        "bank-cecv": (Transport.HTTP, "http://127.0.0.1:8104", "BANK_CECV_API_TOKEN"),
        "inps-ficheiros": (Transport.FILE, "", ""),
    }
    runs = Counter(SourceRun.objects.values_list("source__code", "status"))
    assert runs == {
        (code, RunStatus.SUCCEEDED): MONTHS
        for code in ("inps-ficheiros", "dnre", "bank-bca", "bank-cecv")
    }
    assert sources["inps-ficheiros"].last_success_at is not None
    months = set(RegistryRecord.objects.values_list("as_of", flat=True))
    assert len(months) == MONTHS

    # cases in every state, contacted by the agents after they were detected
    statuses = Counter(Case.objects.values_list("status", flat=True))
    assert set(statuses) == set(CaseStatus.values)
    outcomes = Counter(Case.objects.exclude(outcome="").values_list("outcome", flat=True))
    assert outcomes[CaseOutcome.CURED] > 0 and outcomes[CaseOutcome.ESCALATED] > 0
    contacted = Case.objects.filter(first_contact_at__isnull=False)
    assert contacted.exists()
    assert all(case.first_contact_at > case.opened_at for case in contacted)
    assert len({case.opened_at.date() for case in Case.objects.all()}) >= 6
    assert (
        FollowUp.objects.filter(occurred_at__lt=timezone.now()).count()
        == FollowUp.objects.count()
        > 0
    )
    latest = Counter(
        ComplianceCheck.objects.filter(is_latest=True).values_list("status", flat=True)
    )
    assert latest[CheckStatus.COMPLIANT] > latest[CheckStatus.NON_COMPLIANT] > 0

    # desk visits on the working days of the last two weeks, with waits and some who left
    visits = DeskVisit.objects.all()
    assert visits.count() >= 30
    assert all(visit.business_date.weekday() < 5 for visit in visits)
    assert visits.filter(status="left").exists() and visits.filter(status="done").exists()

    # and the manager's dashboard of the last year shows it all
    today = timezone.localdate()
    dashboard = dashboard_build(
        DashboardFilters(
            user=users["manager"],
            date_from=today - datetime.timedelta(days=365),
            date_to=today,
            today=today,
        )
    )
    assert dashboard.active_loans.count == 80  # 78 active and 2 overpaid loans
    assert all(row.fresh.count > 0 for row in dashboard.coverage)
    assert dashboard.open_cases.count > 0 and dashboard.non_compliant_checks.count > 0
    assert len(dashboard.non_compliance["offer"]) >= 2
    assert dashboard.par and dashboard.par[0].par30_loans.count >= 0
    assert dashboard.delays.median_hours > 0 and dashboard.delays.contacted.count > 0
    assert dashboard.cure.rate is not None and dashboard.cure.cured.count > 0
    assert dashboard.desk_total.visits.count == visits.count()
    assert dashboard.desk_total.median_wait_minutes > 0
    assert sum(row.follow_ups.count for row in dashboard.agents) == FollowUp.objects.count()
