"""The dashboard screen, its drill-down lists, CSV and PDF exports, and the JSON API, on the
world of ``test_dashboard`` (see its docstring for who holds what)."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.urls import reverse

from compliance.models import Case, DeskVisit
from tests.compliance import test_dashboard as scenario

# The world of ``test_dashboard`` (and the chart of accounts it needs).
rules = scenario.rules
world = scenario.world

DASHBOARD = "/compliance/dashboard/"
API = "/api/v1/compliance/dashboard/"


def _period(world, **extra) -> dict:
    return {
        "date_from": (world.today - datetime.timedelta(days=7)).isoformat(),
        "date_to": (world.today + datetime.timedelta(days=1)).isoformat(),
        **extra,
    }


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(response.content.decode())))


def _links(html: str) -> dict[str, list[tuple[str, int]]]:
    """(href, number) of every figure link on the page, by metric."""
    found: dict[str, list[tuple[str, int]]] = {}
    for href, metric, number in re.findall(
        r'<a href="([^"]+)" data-figure="([^"]+)">(\d+)</a>', html
    ):
        found.setdefault(metric, []).append((href.replace("&amp;", "&"), int(number)))
    return found


def test_the_manager_sees_every_section_with_linked_figures(client, world, manager):
    # given
    client.force_login(manager)
    # when
    response = client.get(DASHBOARD, _period(world))
    # then
    assert response.status_code == 200
    html = response.content.decode()
    for section in ("coverage", "non-compliance", "par", "cases", "desk", "agents", "sources"):
        assert f'data-testid="section-{section}"' in html
    assert 'data-headline="open-cases">2<' in html
    assert "Source unavailable since" in html
    assert 'data-testid="chart-par30"' in html and "<script" not in html.split("<main")[1]
    links = _links(html)
    assert [number for _href, number in links["coverage-unknown"]] == [1, 1, 0]


def test_each_linked_number_is_the_row_count_of_its_drill_down_page(client, world, manager):
    # given
    client.force_login(manager)
    links = _links(client.get(DASHBOARD, _period(world)).content.decode())
    checked = 0
    # when / then
    for metric, figures in links.items():
        for href, number in figures:
            page = client.get(href)
            assert page.status_code == 200, href
            shown = int(re.search(r'data-testid="row-count">(\d+)<', page.content.decode())[1])
            exported = len(_csv(client.get(href + "&format=csv"))) - 1
            assert (metric, shown, exported) == (metric, number, number), href
            checked += 1
    assert checked >= 40


def test_drill_down_lists_the_rows_with_links(client, world, manager):
    # given
    client.force_login(manager)
    # when
    response = client.get(
        reverse("compliance:compliance_drilldown", args=["par30"]),
        _period(world, key=f"offer:{world.offer_a.pk}-CVE"),
    )
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert world.loans["L1"].get_absolute_url() in html
    assert world.loans["L2"].number not in html
    assert f"Offer: {world.offer_a.name} (CVE)" in html


def test_dashboard_csv_and_pdf_exports(client, world, manager):
    # given
    client.force_login(manager)
    # when
    table = _csv(client.get(DASHBOARD, _period(world, format="csv")))
    pdf = client.get(DASHBOARD, _period(world, format="pdf"))
    # then
    assert table[0] == ["Section", "Group", "Figure", "Value"]
    assert ["Coverage", "All", "Running loans", "5"] in table
    assert ["Cure rate", "All", "Cure rate", "0.5000"] in table
    assert ["Service desk", "All", "Median wait (minutes)", "15.0"] in table
    assert pdf.status_code == 200 and pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_bad_filters_and_unknown_metrics_are_refused_clearly(client, world, manager):
    # given
    client.force_login(manager)
    # when
    backwards = client.get(DASHBOARD, _period(world, date_from="2026-12-01", date_to="2026-01-01"))
    not_a_date = client.get(DASHBOARD, {"date_from": "yesterday"})
    unknown_metric = client.get("/compliance/dashboard/everything/")
    unknown_breakdown = client.get("/compliance/dashboard/open-cases/", {"key": "planet:mars"})
    # then
    assert backwards.status_code == 400
    assert "must not be before its start" in backwards.content.decode()
    assert not_a_date.status_code == 400
    assert (unknown_metric.status_code, unknown_breakdown.status_code) == (404, 404)


def test_an_officer_of_another_branch_sees_only_their_branch(client, world, outsider, praia):
    # given
    client.force_login(outsider)
    # when
    mine = client.get(DASHBOARD, _period(world))
    theirs = client.get(DASHBOARD, _period(world, branch=praia.pk))
    their_loans = client.get("/compliance/dashboard/active-loans/", _period(world, branch=praia.pk))
    # then
    assert mine.status_code == 200
    assert 'data-headline="active-loans">1<' in mine.content.decode()
    assert world.loans["L1"].number not in mine.content.decode()
    assert theirs.status_code == 400 and their_loans.status_code == 400
    assert world.loans["L1"].number not in their_loans.content.decode()


@pytest.mark.parametrize("persona", ["service_desk", "field_agent", "coach"])
def test_roles_without_the_compliance_view_are_refused(client, world, persona, request):
    # given
    client.force_login(request.getfixturevalue(persona))
    # when
    responses = [
        client.get(DASHBOARD),
        client.get("/compliance/dashboard/open-cases/"),
        client.get(API),
    ]
    # then
    assert [response.status_code for response in responses] == [403, 403, 403]


def test_the_auditor_reads_everything_and_changes_nothing(client, world, auditor):
    # given
    client.force_login(auditor)
    before = (Case.objects.count(), DeskVisit.objects.count())
    # when
    page = client.get(DASHBOARD, _period(world))
    posted = client.post(DASHBOARD, _period(world))
    posted_api = client.post(API, _period(world))
    # then
    assert page.status_code == 200
    assert 'data-headline="active-loans">5<' in page.content.decode()
    assert (posted.status_code, posted_api.status_code) == (405, 405)
    assert (Case.objects.count(), DeskVisit.objects.count()) == before


def test_the_api_returns_the_same_figures(client, world, manager, django_assert_max_num_queries):
    # given
    client.force_login(manager)
    # when
    with django_assert_max_num_queries(40):
        response = client.get(API, _period(world))
    # then
    assert response.status_code == 200
    body = response.json()
    assert body["active_loans"]["count"] == 5
    assert body["active_loans"]["url"].startswith("http://testserver/compliance/dashboard/")
    assert [row["fresh"]["count"] for row in body["coverage"]] == [4, 3, 5]
    assert body["cure"]["rate"] == "0.5000"
    assert (body["delays"]["median_hours"], body["delays"]["average_hours"]) == ("4.0", "8.0")
    assert body["par"][0]["par30"] == "0.2222"
    assert body["desk_total"]["median_wait_minutes"] == "15.0"
    assert [row["label"] for row in body["non_compliance"]["offer"]] == [
        world.offer_a.name,
        world.offer_b.name,
    ]
    assert [row["code"] for row in body["sources"] if not row["is_available"]] == ["bank-cecv"]


def test_the_api_refuses_bad_filters_with_field_errors(client, world, manager, outsider, praia):
    # given
    client.force_login(manager)
    # when
    bad_date = client.get(API, {"date_from": "31/12/2026"})
    client.force_login(outsider)
    other_branch = client.get(API, {"branch": praia.pk})
    # then
    assert bad_date.status_code == 400 and "date_from" in bad_date.json()
    assert other_branch.status_code == 400 and "branch" in other_branch.json()


def test_the_api_is_documented(client, loan_officer):
    # when
    client.force_login(loan_officer)
    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json").json()
    # then
    operation = schema["paths"]["/api/v1/compliance/dashboard/"]["get"]
    assert {parameter["name"] for parameter in operation["parameters"]} >= {
        "date_from",
        "date_to",
        "branch",
        "offer",
    }
    assert "Dashboard" in str(operation["responses"]["200"])


def test_an_empty_institution_gets_a_dashboard_of_zeros(client, manager):
    # given
    client.force_login(manager)
    # when
    response = client.get(DASHBOARD)
    # then: the default period is the last 90 days; no ratio without a denominator
    html = response.content.decode()
    assert response.status_code == 200
    assert 'data-headline="active-loans">0<' in html
    assert 'data-headline="cure-rate">—<' in html
    assert "No sources configured." in html
    assert client.get(DASHBOARD, {"format": "pdf"}).content.startswith(b"%PDF")
