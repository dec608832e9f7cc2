"""The broker is down when work commits: the commit succeeds, the tasks wait in the outbox, and
once Redis is back the dispatcher sends them and a real worker runs each exactly once."""

from __future__ import annotations

import pytest

from compliance.choices import RunStatus, RunTrigger, SourceKind
from compliance.models import RegistryRecord, SourceRun
from mfi.models import TaskOutbox
from mfi.outbox import outbox_dispatch_pending
from tests.compliance.factories import make_source
from tests.reliability.conftest import wait_for

pytestmark = pytest.mark.redis


def test_pulls_asked_for_while_redis_is_down_run_once_each_when_it_is_back(
    client,
    compliance_officer,
    transactional_db,
    inps_sandbox,
    revenue_sandbox,
    registry_tokens,
    broker,
    start_worker,
):
    # given two registry sources and a broker that has just gone away
    inps = make_source(
        SourceKind.SOCIAL_SECURITY, base_url=inps_sandbox.url, token_env="INPS_API_TOKEN"
    )
    dnre = make_source(SourceKind.REVENUE, base_url=revenue_sandbox.url, token_env="DNRE_API_TOKEN")
    client.force_login(compliance_officer)
    broker.stop()

    # when the officer asks for both pulls
    responses = [
        client.post(f"/compliance/sources/{source.pk}/pull/", {"as_of": "2026-10-31"})
        for source in (inps, dnre)
    ]

    # then the requests succeeded and both tasks wait in the database, nothing ran
    assert [response.status_code for response in responses] == [302, 302]
    rows = list(TaskOutbox.objects.order_by("pk"))
    assert [(row.task_name, row.args, row.kwargs) for row in rows] == [
        (
            "compliance.tasks.pull_source",
            [source.pk, RunTrigger.ON_DEMAND],
            {"as_of": "2026-10-31", "user_id": compliance_officer.pk},
        )
        for source in (inps, dnre)
    ]
    assert [row.dispatched_at for row in rows] == [None, None]
    # the first commit tried the broker and failed; the second did not wait for it again
    assert [row.attempts for row in rows] == [1, 0]
    assert "Connection refused" in rows[0].last_error
    assert SourceRun.objects.count() == 0

    # when Redis is back, the dispatcher runs and a worker starts
    broker.start()
    counts = outbox_dispatch_pending()
    start_worker("after-outage")
    wait_for(
        lambda: SourceRun.objects.filter(finished_at__isnull=False).count() == 2,
        seconds=60,
        what="both pulls to finish",
    )
    wait_for(lambda: broker.queue_length() == 0, seconds=10, what="an empty queue")

    # then each task was sent once and ran once
    assert counts == {"sent": 2, "failed": 0, "pending": 0}
    assert list(TaskOutbox.objects.order_by("pk").values_list("attempts", "last_error")) == [
        (2, ""),
        (1, ""),
    ]
    runs = [
        (run.source_id, run.trigger, run.status, run.records_stored, run.triggered_by_id)
        for run in SourceRun.objects.order_by("source_id")
    ]
    assert runs == [
        (inps.pk, RunTrigger.ON_DEMAND, RunStatus.SUCCEEDED, 415, compliance_officer.pk),
        (dnre.pk, RunTrigger.ON_DEMAND, RunStatus.SUCCEEDED, 411, compliance_officer.pk),
    ]
    assert RegistryRecord.objects.filter(source=inps).count() == 415
    assert RegistryRecord.objects.filter(source=dnre).count() == 411
