"""A client's coaching report: exact figures (hours, sessions, goals, invoices) on a small
dataset built through the coaching services; scope (404 out of scope, coaches only for their
clients); the period filter; the PDF."""

from __future__ import annotations

import pytest
from django.urls import reverse

from accounting.chart import chart_install
from coaching import services
from coaching.choices import PaymentChannel, SessionStatus
from coaching.client_report import client_report_build, client_report_party
from tests.coaching.factories import (
    D,
    accepted_engagement,
    coach_user,
    day,
    log_session,
    make_coach,
)


@pytest.fixture
def dataset(praia, mindelo, branch_manager, coach, engagement):
    """Held 90 + 60 minutes, one no-show of 45, two goals (one achieved), one invoice of
    2.5 h × 1 500 = 3 750.00 CVE with 1 000.00 paid."""
    chart_install()
    log_session(
        coach,
        engagement,
        on=day(3),
        minutes=90,
        agreed_actions="Open a cash book",
        action_items=[("Buy a cash book", day(10))],
    )
    log_session(coach, engagement, on=day(5), minutes=60, agreed_actions="Count stock weekly")
    log_session(coach, engagement, on=day(7), minutes=45, status=SessionStatus.NO_SHOW)
    services.goal_add(
        actor=coach,
        engagement=engagement,
        description="Keep a cash book",
        target_value=D("12"),
        target_unit="weeks",
        target_date=day(28),
    )
    achieved = services.goal_add(actor=coach, engagement=engagement, description="Price list")
    services.goal_mark_achieved(actor=coach, goal=achieved, achieved_on=day(6))
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(8)
    )
    services.payment_record(
        actor=branch_manager,
        invoice=invoice,
        amount=D("1000.00"),
        date=day(9),
        channel=PaymentChannel.CASH,
    )
    engagement.refresh_from_db()
    return {"engagement": engagement, "invoice": invoice}


def test_report_figures_are_exact(dataset, branch_manager, praia_client):
    report = client_report_build(user=branch_manager, party=praia_client)

    assert len(report.engagements) == 1
    block = report.engagements[0]
    assert block.hours.used == D("2.50")
    assert block.hours.package == D("10")
    assert (block.sessions_held, block.sessions_no_show) == (2, 1)
    assert block.period_hours_held == D("2.50")
    assert (report.sessions_held, report.sessions_no_show, report.hours_held) == (2, 1, D("2.50"))
    assert (report.goals_achieved, report.goals_total) == (1, 2)
    assert [session.duration_minutes for session in block.sessions] == [90, 60, 45]
    assert block.sessions[0].agreed_actions == "Open a cash book"

    assert [invoice.pk for invoice in report.invoices] == [dataset["invoice"].pk]
    (totals,) = report.invoice_totals
    assert (totals.currency, totals.count) == ("CVE", 1)
    assert totals.total == D("3750.00")
    assert totals.paid == D("1000.00")
    assert totals.balance == D("2750.00")
    assert [payment.amount for payment in report.payments] == [D("1000.00")]


def test_period_narrows_sessions_and_money(dataset, branch_manager, praia_client):
    report = client_report_build(
        user=branch_manager, party=praia_client, date_from=day(4), date_to=day(8)
    )

    block = report.engagements[0]
    assert (block.sessions_held, block.sessions_no_show) == (1, 1)
    assert block.period_hours_held == D("1.00")
    assert block.hours.used == D("2.50")  # the package use is the engagement's, whatever the period
    assert report.invoice_totals[0].total == D("3750.00")
    assert report.payments == []  # paid on day 9, after the period


def test_html_page_shows_the_figures(client, dataset, branch_manager, praia_client):
    client.force_login(branch_manager)

    response = client.get(reverse("coaching:client_report", args=[praia_client.pk]))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="total-sessions-held">2<' in html
    assert 'data-testid="total-no-shows">1<' in html
    assert 'data-testid="total-hours-held">2.50<' in html
    assert 'data-testid="total-goals-achieved">1<' in html
    assert "Open a cash book" in html
    assert "Buy a cash book" in html


def test_pdf(client, dataset, branch_manager, praia_client):
    client.force_login(branch_manager)

    response = client.get(
        reverse("coaching:client_report", args=[praia_client.pk]), {"format": "pdf"}
    )

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")


def test_out_of_scope_user_gets_404(client, dataset, outsider, praia_client):
    client.force_login(outsider)

    response = client.get(reverse("coaching:client_report", args=[praia_client.pk]))

    assert response.status_code == 404


def test_coach_sees_only_their_clients(
    client, dataset, manager, coach, praia, praia_client, product, branch_manager
):
    client.force_login(coach)
    assert client.get(reverse("coaching:client_report", args=[praia_client.pk])).status_code == 200
    # the coach's own report shows no money
    assert client_report_build(user=coach, party=praia_client).invoices == []

    other = make_coach(manager, coach_user("othercoach", "Olga", branch=praia))
    accepted_engagement(branch_manager, party=praia_client, product=product, coach=other)
    client.force_login(other.user)
    report = client_report_build(
        user=other.user, party=client_report_party(user=other.user, party_id=praia_client.pk)
    )
    assert [block.engagement.coach_id for block in report.engagements] == [other.pk]

    from tests.crm.factories import make_person

    stranger = make_person(branch_manager, first_name="Rui", last_name="Semedo")
    client.force_login(coach)
    assert client.get(reverse("coaching:client_report", args=[stranger.pk])).status_code == 404
