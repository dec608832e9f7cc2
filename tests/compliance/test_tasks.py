"""Compliance tasks (eager, no broker): which sources are due, inbound scans, per-party refresh,
and the evaluation that follows new registry evidence."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from accounting.chart import chart_install
from compliance.choices import CheckStatus, RequirementKind, RunTrigger, SourceKind, Transport
from compliance.ingest import source_pull
from compliance.models import ComplianceCheck, RegistryRecord, Source, SourceRun
from compliance.tasks import (
    evaluate_all,
    evaluate_parties,
    ingest_inbound,
    pull_due_sources,
    pull_source,
    refresh_party,
)
from sandbox import data
from tests.compliance.factories import make_requirement, make_source, monitored_loan
from tests.crm.factories import make_person

LINE = "700001,100000001,Maria,2026-10-31,regular,0,0.00,CVE,1\n"
HEADER = "ssn,nif,name,as_of,status,months_in_arrears,amount_due,currency,declared_employees\n"


@pytest.fixture(autouse=True)
def fast_http(settings):
    settings.COMPLIANCE_HTTP_BACKOFF = 0.01


@pytest.fixture
def rules(praia, mindelo):
    return chart_install()


@pytest.fixture
def inps(db, inps_sandbox, registry_tokens):
    return make_source(
        SourceKind.SOCIAL_SECURITY, base_url=inps_sandbox.url, token_env="INPS_API_TOKEN"
    )


def make_person_with_identifiers(officer):
    return make_person(officer, nif="100000001", social_security_number="700001")


def _pulled(source: Source, *, minutes_ago: int, unavailable: bool = False) -> None:
    at = timezone.now() - datetime.timedelta(minutes=minutes_ago)
    Source.objects.filter(pk=source.pk).update(
        last_pull_at=at, unavailable_since=at if unavailable else None
    )


def test_due_sources_are_pulled_and_inbound_folders_scanned(
    inps, revenue_sandbox, settings, tmp_path
):
    # given
    settings.COMPLIANCE_INBOUND_DIR = tmp_path
    fresh = make_source(
        SourceKind.REVENUE, base_url=revenue_sandbox.url, token_env="DNRE_API_TOKEN"
    )
    _pulled(fresh, minutes_ago=10)
    failing = make_source(
        SourceKind.REVENUE, base_url=revenue_sandbox.url, token_env="DNRE_API_TOKEN"
    )
    _pulled(failing, minutes_ago=31, unavailable=True)
    dropped = make_source(SourceKind.SOCIAL_SECURITY, transport=Transport.FILE, code="inps-drop")
    (tmp_path / "inps-drop").mkdir()
    (tmp_path / "inps-drop" / "2026-10.csv").write_text(HEADER + LINE)
    make_source(SourceKind.BANK, base_url=revenue_sandbox.url, is_active=False)
    # when
    queued = pull_due_sources()
    # then
    assert queued == {"pulled": [inps.pk, failing.pk], "scanned": [dropped.pk]}
    assert [(run.source_id, run.trigger) for run in SourceRun.objects.order_by("pk")] == [
        (inps.pk, RunTrigger.SCHEDULE),
        (failing.pk, RunTrigger.SCHEDULE),
        (dropped.pk, RunTrigger.INBOUND),
    ]
    assert Source.objects.get(pk=failing.pk).unavailable_since is None


def test_pulling_a_source_twice_stores_its_records_once(inps):
    # when
    first = pull_source(inps.pk)
    second = pull_source(inps.pk, RunTrigger.ON_DEMAND)
    # then
    assert SourceRun.objects.get(pk=first).records_stored == 415
    assert SourceRun.objects.get(pk=second).records_stored == 0
    assert RegistryRecord.objects.count() == 415


def test_ingest_inbound_returns_the_runs(db, settings, tmp_path):
    # given
    settings.COMPLIANCE_INBOUND_DIR = tmp_path
    source = make_source(SourceKind.SOCIAL_SECURITY, transport=Transport.FILE, code="inps-in")
    (tmp_path / "inps-in").mkdir()
    (tmp_path / "inps-in" / "a.csv").write_text(HEADER + LINE)
    # when
    run_ids = ingest_inbound(source.pk)
    # then
    assert list(source.runs.values_list("pk", flat=True)) == run_ids
    assert len(run_ids) == 1


def test_refresh_party_asks_the_registries_on_behalf_of_the_user(
    inps, loan_officer, compliance_officer
):
    # given
    party = make_person_with_identifiers(loan_officer)
    # when
    run_ids = refresh_party(party.pk, compliance_officer.pk)
    # then
    run = SourceRun.objects.get(pk__in=run_ids)
    assert (run.party_id, run.triggered_by, run.records_stored) == (
        party.pk,
        compliance_officer,
        1,
    )


def test_new_evidence_is_evaluated_once_the_ingest_commits(
    inps, loan_officer, branch_manager, rules, django_capture_on_commit_callbacks
):
    # given
    loan = monitored_loan(loan_officer, branch_manager, rules, nif="100000001", ssn="700001")
    make_requirement(loan.product_version.product.offer, RequirementKind.SOCIAL_SECURITY_PAID)
    latest = data.employer_status("700001", data.reporting_month_end(datetime.date.today()))
    # when
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        source_pull(source=inps, trigger=RunTrigger.SCHEDULE)
    # then
    assert len(callbacks) == 1
    check = ComplianceCheck.objects.get(loan=loan, is_latest=True)
    assert check.evidence == RegistryRecord.objects.get(registry_number="700001")
    assert check.status == (
        CheckStatus.COMPLIANT if latest["status"] == "regular" else CheckStatus.NON_COMPLIANT
    )


def test_a_pull_with_nothing_new_schedules_no_evaluation(
    inps, loan_officer, django_capture_on_commit_callbacks
):
    # given
    make_person_with_identifiers(loan_officer)
    source_pull(source=inps, trigger=RunTrigger.SCHEDULE)
    # when
    with django_capture_on_commit_callbacks() as callbacks:
        run = source_pull(source=inps, trigger=RunTrigger.SCHEDULE)
    # then
    assert run.records_stored == 0
    assert callbacks == []


def test_evaluation_tasks_return_the_evaluation_counts(loan_officer, branch_manager, rules):
    # given
    loan = monitored_loan(loan_officer, branch_manager, rules, nif="100000001", ssn="700001")
    make_requirement(loan.product_version.product.offer, RequirementKind.SOCIAL_SECURITY_PAID)
    # when
    some = evaluate_parties([loan.borrower_id])
    every = evaluate_all()
    # then
    assert (some["loans"], some["unknown"], some["checks_written"]) == (1, 1, 1)
    assert (every["loans"], every["checks_written"]) == (1, 0)
