"""The dashboard's position figures from a snapshot (``compliance.position``), on the world of
``test_dashboard`` (see its docstring for who holds what): the snapshot adds up to exactly the
live figures for every scope and filter, is used only while fresh, and is counted again on the
schedule, after the nightly evaluation and on request."""

from __future__ import annotations

import dataclasses
import datetime

import pytest
from django.conf import settings as django_settings
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from compliance.cases import case_open
from compliance.choices import RequirementKind, Severity
from compliance.dashboards import dashboard_build, metric_rows
from compliance.models import PositionFigure, PositionSnapshot
from compliance.position import position_refresh, snapshot_figure
from compliance.tasks import evaluate_all, refresh_position
from tests.compliance import test_dashboard as scenario
from tests.crm.factories import make_person

rules = scenario.rules
world = scenario.world

POSITION = ["active_loans", "coverage", "open_cases", "non_compliant_checks", "non_compliance"]


def _position(dashboard) -> dict:
    """The figures a snapshot replaces (every count and the link behind it)."""
    return {
        **{name: getattr(dashboard, name) for name in POSITION},
        "par": [dataclasses.asdict(row) for row in dashboard.par],
    }


def _live(settings, filters):
    settings.COMPLIANCE_POSITION_MAX_AGE = 0
    dashboard = dashboard_build(filters)
    settings.COMPLIANCE_POSITION_MAX_AGE = 600
    assert dashboard.position_taken_at is None
    return dashboard


def test_the_snapshot_adds_up_to_the_live_figures_for_every_scope_and_filter(
    settings, world, manager, loan_officer, outsider, praia, mindelo
):
    # given
    snapshot = position_refresh(today=world.today)
    scopes = [
        (manager, {}),
        (manager, {"branch": mindelo}),
        (manager, {"offer": world.offer_a}),
        (manager, {"branch": praia, "offer": world.offer_b}),
        (loan_officer, {}),
        (outsider, {}),
    ]
    for user, overrides in scopes:
        filters = scenario._filters(user, world, **overrides)
        # when
        from_snapshot = dashboard_build(filters)
        # then
        assert from_snapshot.position_taken_at == snapshot.taken_at
        assert _position(from_snapshot) == _position(_live(settings, filters)), (user, overrides)
    whole = dashboard_build(scenario._filters(manager, world))
    assert (whole.active_loans.count, whole.open_cases.count, whole.non_compliant_checks.count) == (
        5,
        2,
        3,
    )
    assert [
        (row.kind, row.fresh.count, row.stale.count, row.unknown.count) for row in whole.coverage
    ] == [
        ("social_security", 4, 0, 1),
        ("revenue", 3, 1, 1),
        ("bank", 5, 0, 0),
    ]
    assert [(row.loans.count, row.outstanding_principal, row.par30) for row in whole.par] == [
        (3, scenario.D("450000.00"), scenario.D("0.2222")),
        (2, scenario.D("420000.00"), scenario.D("0")),
    ]


def test_the_snapshot_stands_until_counted_again_and_the_lists_stay_live(
    settings, world, manager, branch_manager
):
    # given: a snapshot, then a new case
    position_refresh(today=world.today)
    party = make_person(branch_manager, nif="399999991")
    case_open(
        party=party,
        kind=RequirementKind.TAX_REGULAR,
        severity=Severity.HIGH,
        actor=branch_manager,
    )
    filters = scenario._filters(manager, world)
    # when
    before = dashboard_build(filters)
    # then: the figure is the snapshot's, the list behind it is live
    assert before.open_cases.count == 2
    assert metric_rows(filters, "open-cases").count() == 3
    # when: counted again
    recounted = position_refresh(today=world.today)
    after = dashboard_build(filters)
    # then
    assert after.open_cases.count == 3
    assert after.position_taken_at == recounted.taken_at
    assert list(PositionSnapshot.objects.values_list("pk", flat=True)) == [recounted.pk]


def test_an_old_snapshot_or_one_judged_on_another_day_is_not_used(settings, world, manager):
    # given
    snapshot = position_refresh(today=world.today)
    filters = scenario._filters(manager, world)
    # when: older than the allowed age
    PositionSnapshot.objects.filter(pk=snapshot.pk).update(
        taken_at=timezone.now() - datetime.timedelta(seconds=601)
    )
    # then
    assert dashboard_build(filters).position_taken_at is None
    # when: fresh, but coverage judged against yesterday
    PositionSnapshot.objects.filter(pk=snapshot.pk).update(
        taken_at=timezone.now(), as_of=world.today - datetime.timedelta(days=1)
    )
    # then
    assert dashboard_build(filters).position_taken_at is None


def test_a_role_without_the_compliance_view_gets_nothing_from_a_snapshot(world, service_desk):
    # given
    position_refresh(today=world.today)
    # when
    dashboard = dashboard_build(scenario._filters(service_desk, world))
    # then
    assert (dashboard.active_loans.count, dashboard.open_cases.count) == (0, 0)
    assert dashboard.par == []
    assert dashboard.position_taken_at is None


def test_a_second_count_while_one_runs_is_skipped(world):
    # given: another session counting (holding the lock)
    from django.db import connections

    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [0x636F6D70])
            # when
            skipped = position_refresh(today=world.today)
            cursor.execute("ROLLBACK")
    finally:
        other.close()
    # then
    assert skipped is None
    assert PositionSnapshot.objects.count() == 0


def test_the_snapshot_stores_one_row_per_branch_offer_and_group(world, praia, mindelo):
    # when
    snapshot = position_refresh(today=world.today)
    # then
    figures = PositionFigure.objects.filter(snapshot=snapshot)
    assert snapshot.as_of == world.today
    assert {
        (figure.branch_id, figure.offer_id, figure.count, figure.amount)
        for figure in figures.filter(metric="active-loans")
    } == {
        (praia.pk, world.offer_a.pk, 3, scenario.D("450000.0000")),
        (praia.pk, world.offer_b.pk, 1, scenario.D("300000.0000")),
        (mindelo.pk, world.offer_b.pk, 1, scenario.D("120000.0000")),
    }
    assert not figures.filter(count=0).exists()


def test_reading_the_snapshot_costs_the_same_whatever_the_data(world, manager, branch_manager):
    # given
    position_refresh(today=world.today)
    filters = scenario._filters(manager, world)

    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            dashboard_build(filters)
        return len(captured)

    few = queries()
    for number in range(20):
        case_open(
            party=make_person(branch_manager, nif=f"39000{number:04d}"),
            kind=RequirementKind.SOCIAL_SECURITY_PAID,
            severity=Severity.HIGH,
            actor=branch_manager,
        )
    position_refresh(today=world.today)
    # when
    many = queries()
    # then
    assert dashboard_build(filters).open_cases.count == 22
    assert many == few <= 16


@pytest.mark.django_db
def test_the_beat_counts_every_five_minutes_and_the_nightly_evaluation_counts_after(world):
    # given
    schedule = django_settings.CELERY_BEAT_SCHEDULE["compliance-position-refresh"]
    # when
    scheduled = refresh_position.delay().get()
    evaluate_all.delay().get()
    # then
    assert (schedule["task"], schedule["schedule"]) == ("compliance.tasks.refresh_position", 300.0)
    newest = PositionSnapshot.objects.get()  # only the newest is kept
    assert scheduled < newest.pk


# --- the screen and the API -------------------------------------------------------------------


def _period(world) -> dict:
    return {
        "date_from": (world.today - datetime.timedelta(days=7)).isoformat(),
        "date_to": (world.today + datetime.timedelta(days=1)).isoformat(),
    }


def test_the_page_says_when_the_figures_were_counted_and_counts_again_on_request(
    client, world, manager, mindelo
):
    # given
    client.force_login(manager)
    live = client.get("/compliance/dashboard/", _period(world)).content.decode()
    first = position_refresh(today=world.today)
    # when
    shown = client.get("/compliance/dashboard/", _period(world)).content.decode()
    response = client.post(
        f"/compliance/dashboard-position/recount/?branch={mindelo.pk}&date_from=2026-01-01"
    )
    # then
    assert "Coverage, cases and PAR counted: now (live)" in live
    assert 'data-testid="position-recount"' not in live
    counted_at = timezone.localtime(first.taken_at).strftime("%Y-%m-%d %H:%M")
    assert f"Coverage, cases and PAR counted: {counted_at} (lists live)" in shown
    assert 'data-testid="position-recount"' in shown
    latest = PositionSnapshot.objects.order_by("-taken_at").first()
    assert latest.pk != first.pk
    assert response.status_code == 302
    assert response["Location"].startswith(
        f"/compliance/dashboard/?date_from=2026-01-01&date_to={timezone.localdate().isoformat()}"
    )
    assert response["Location"].endswith(f"&branch={mindelo.pk}")
    page = client.get(response["Location"]).content.decode()
    recounted_at = timezone.localtime(latest.taken_at).strftime("%Y-%m-%d %H:%M")
    assert f"Coverage, cases and PAR counted again at {recounted_at}." in page


def test_a_recount_is_a_post_by_compliance_readers_only(client, world, manager, service_desk):
    # when
    client.force_login(manager)
    read = client.get("/compliance/dashboard-position/recount/")
    client.force_login(service_desk)
    refused = client.post("/compliance/dashboard-position/recount/")
    # then
    assert (read.status_code, refused.status_code) == (405, 403)
    assert PositionSnapshot.objects.count() == 0


def test_the_api_says_when_the_position_figures_were_counted(client, world, manager):
    # given
    client.force_login(manager)
    live = client.get("/api/v1/compliance/dashboard/", _period(world)).json()
    snapshot = position_refresh(today=world.today)
    # when
    counted = client.get("/api/v1/compliance/dashboard/", _period(world)).json()
    # then
    assert live["position_taken_at"] is None
    assert counted["position_taken_at"] == timezone.localtime(snapshot.taken_at).isoformat()
    assert (counted["open_cases"]["count"], counted["active_loans"]["count"]) == (2, 5)


def test_a_drill_down_says_when_the_dashboard_counted_differently(client, world, manager):
    # given: the snapshot counted 2 open cases, then a third was opened
    client.force_login(manager)
    snapshot = position_refresh(today=world.today)
    page = "/compliance/dashboard/open-cases/"
    same = client.get(page, _period(world)).content.decode()
    case_open(
        party=make_person(manager, nif="399999992"),
        kind=RequirementKind.TAX_REGULAR,
        severity=Severity.HIGH,
        actor=manager,
    )
    # when
    differs = client.get(page, _period(world)).content.decode()
    live_page = client.get("/compliance/dashboard/cases-opened/", _period(world)).content.decode()
    # then
    counted_at = timezone.localtime(snapshot.taken_at).strftime("%Y-%m-%d %H:%M")
    assert 'data-testid="counted-note"' not in same
    assert (
        f"The dashboard counted 2 at {counted_at}; this list is live and has 3 "
        "(counted again every 5 minutes)."
    ) in differs
    assert 'data-testid="counted-note"' not in live_page  # a period figure is always live
    filters = scenario._filters(manager, world)
    assert snapshot_figure(filters, "open-cases")[0] == 2
    assert snapshot_figure(filters, "par30", f"offer:{world.offer_a.pk}-CVE")[0] == 1
    assert snapshot_figure(filters, "cases-opened") is None
