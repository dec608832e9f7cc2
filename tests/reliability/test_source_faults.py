"""External systems that time out, answer 500 or send malformed records, with tasks going
through the task outbox: retried with backoff, the failure visible, and after recovery no record
lost or duplicated. Tasks run in process here (eager Celery), as in tests/compliance.

Already covered elsewhere, not repeated: each fault alone on a registry pull
(tests/compliance/test_ingest.py: 503s and 429 retried, timeouts retried or failing the pull,
malformed rows quarantined, the same payload stored once, the source unavailable until its next
success) and a push service call meeting 503s (tests/p2p_export/test_push.py).
"""

from __future__ import annotations

import time

import pytest

from compliance.choices import RunStatus, SourceKind
from compliance.models import QuarantinedRow, RegistryRecord, Source, SourceRun
from mfi.models import TaskOutbox
from p2p_export import services
from p2p_export.models import OutboxMessage, Publication
from p2p_export.tasks import push_publication
from tests.compliance.factories import make_source
from tests.p2p_export.conftest import inject, sandbox_log, sandbox_state
from tests.p2p_export.factories import ready_publication, recent_loan

AS_OF = "2026-10-31"


@pytest.fixture(autouse=True)
def _tasks_run_in_process():
    """Follow each task's effect in this process even when CI gives the suite a real broker."""
    from mfi.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield
    app.conf.task_always_eager = previous


@pytest.fixture
def fast_registry_client(settings):
    settings.COMPLIANCE_HTTP_BACKOFF = 0.1
    settings.COMPLIANCE_HTTP_TIMEOUT = 0.3
    settings.COMPLIANCE_HTTP_RETRIES = 2
    settings.COMPLIANCE_PAGE_SIZE = 500


@pytest.fixture
def inps(db, inps_sandbox, registry_tokens, fast_registry_client):
    return make_source(
        SourceKind.SOCIAL_SECURITY, base_url=inps_sandbox.url, token_env="INPS_API_TOKEN"
    )


@pytest.fixture
def pull(client, compliance_officer, inps, django_capture_on_commit_callbacks):
    """The officer's "pull now" on the INPS source; returns (run, seconds it took)."""
    client.force_login(compliance_officer)

    def pull_now() -> tuple[SourceRun, float]:
        started = time.monotonic()
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/compliance/sources/{inps.pk}/pull/", {"as_of": AS_OF})
        assert response.status_code == 302
        return SourceRun.objects.latest("pk"), time.monotonic() - started

    return pull_now


def test_a_registry_outage_is_retried_with_backoff_shown_and_recovered_without_loss(
    client, inps, inps_sandbox, sandbox_faults, pull
):
    # given a registry that first holds every request too long, then answers 500
    sandbox_faults(inps_sandbox, timeout_next=3, timeout_seconds=0.6)
    timed_out, timed_out_seconds = pull()
    sandbox_faults(inps_sandbox, fail_next=3, fail_status=500)
    inps_sandbox.app.log.clear()
    failed, failed_seconds = pull()
    answers_while_failing = [entry["status"] for entry in inps_sandbox.app.log]
    down = Source.objects.get(pk=inps.pk)
    page_while_down = client.get(f"/compliance/sources/{inps.pk}/").content.decode()

    # when it recovers
    sandbox_faults(inps_sandbox)
    recovered, _seconds = pull()

    # then each failed pull tried 3 times, waiting 0.1 s then 0.2 s in between
    assert [(run.status, run.attempts, run.records_stored) for run in (timed_out, failed)] == [
        (RunStatus.FAILED, 3, 0),
        (RunStatus.FAILED, 3, 0),
    ]
    assert timed_out_seconds >= 3 * 0.3 + 0.1 + 0.2
    assert failed_seconds >= 0.1 + 0.2
    assert answers_while_failing == [500, 500, 500]
    # and the failure was visible on the runs, the source and its page
    assert timed_out.error == (
        "The registry is unavailable: no answer within the time limit after 3 attempts."
    )
    assert failed.error == "The registry is unavailable: HTTP 500 after 3 attempts."
    assert (down.unavailable_since, down.last_error) == (timed_out.finished_at, failed.error)
    assert failed.error in page_while_down
    # and after recovery every record is there once
    assert (recovered.status, recovered.records_received, recovered.records_stored) == (
        RunStatus.SUCCEEDED,
        415,
        415,
    )
    assert RegistryRecord.objects.filter(source=inps).count() == 415
    assert RegistryRecord.objects.values("registry_number").distinct().count() == 415
    up = Source.objects.get(pk=inps.pk)
    assert (up.unavailable_since, up.last_error) == (None, "")
    # and the three pulls went through the outbox, each run once
    assert (
        list(TaskOutbox.objects.values_list("task_name", "attempts", "last_error"))
        == [
            ("compliance.tasks.pull_source", 1, ""),
        ]
        * 3
    )
    assert TaskOutbox.objects.filter(dispatched_at__isnull=True).count() == 0


def test_malformed_records_are_quarantined_then_stored_once_when_the_registry_corrects_them(
    inps, inps_sandbox, sandbox_faults, settings, pull
):
    # given a registry that spoils every 100th record
    settings.COMPLIANCE_PAGE_SIZE = 150
    sandbox_faults(inps_sandbox, malformed_every=100)
    spoilt, _seconds = pull()

    # when it sends them right
    sandbox_faults(inps_sandbox)
    corrected, _seconds = pull()
    again, _seconds = pull()

    # then the four spoilt records waited in quarantine, and arrived once when corrected
    assert [
        (run.status, run.records_received, run.records_stored, run.rows_quarantined)
        for run in (spoilt, corrected, again)
    ] == [
        (RunStatus.PARTIAL, 415, 411, 4),
        (RunStatus.SUCCEEDED, 415, 4, 0),
        (RunStatus.SUCCEEDED, 415, 0, 0),
    ]
    assert list(QuarantinedRow.objects.values_list("row_number", flat=True)) == [100, 200, 300, 400]
    assert RegistryRecord.objects.filter(source=inps).count() == 415
    assert RegistryRecord.objects.values("registry_number").distinct().count() == 415


@pytest.fixture
def validated(manager, loan_officer, branch_manager, rules, kiva_platform):
    loan = recent_loan(loan_officer, branch_manager, rules)
    publication = ready_publication(manager, kiva_platform, loan)
    return services.publication_validate(actor=manager, publication=publication)


def test_a_push_meeting_500s_fails_visibly_and_its_retry_creates_one_draft(
    manager, validated, kiva_server, django_capture_on_commit_callbacks
):
    # given Kiva answers 500 more often than the HTTP client retries within one attempt
    inject(kiva_server, fail_next=3, fail_status=500)

    # when the manager pushes the profile
    started = time.monotonic()
    with django_capture_on_commit_callbacks(execute=True):
        services.publication_push_request(actor=manager, publication=validated)
    seconds = time.monotonic() - started
    failed = Publication.objects.get(pk=validated.pk)
    last_event = failed.events.values_list("action", "note").last()
    row = TaskOutbox.objects.get()
    # and Celery retries the task (a worker would, after its backoff), the platform back up
    retried = push_publication.apply(args=row.args, kwargs=row.kwargs).get()

    # then the client asked 3 times, waiting 0.2 s then 0.4 s, and the failure was recorded;
    # the retry looked the loan up first (not there) and created one draft
    lookup, draft = "/v3/partner/77/loans", "/v3/partner/77/loan_draft"
    assert [(row["method"], row["path"], row["status"]) for row in sandbox_log(kiva_server)] == [
        ("GET", lookup, 500),
        ("GET", lookup, 500),
        ("GET", lookup, 500),
        ("GET", lookup, 200),
        ("POST", draft, 200),
    ]
    assert seconds >= 0.2 + 0.4
    error = 'Kiva could not be reached (HTTP 500: {"error": "injected fault"}).'
    assert (failed.state, failed.last_error) == ("validated", error)
    assert last_event == ("push_failed", error)
    # the task asked Celery to retry it (eager Celery records that, a worker waits and retries)
    assert row.last_error.startswith("Retry: Retry in ")
    assert row.last_error.endswith(f"s: TransientError('{error}')")
    assert row.dispatched_at is not None
    # and the retry pushed exactly one draft
    assert (retried["result"], retried["state"]) == ("pushed", "awaiting_confirmation")
    assert len(sandbox_state(kiva_server)["drafts"]) == 1
    message = OutboxMessage.objects.get()
    assert (message.status, message.attempts) == ("sent", 2)
