"""Coaching reports: activity by coach and product, coached vs not-coached portfolio quality."""

from __future__ import annotations

import csv
import datetime
import io

import pytest
from django.urls import reverse

from accounting.chart import chart_install
from coaching import services
from coaching.choices import EngagementStatus, SessionStatus
from coaching.reports import coached_portfolio_report, coaching_activity_report, portfolio_groups
from loans.end_of_day import run_end_of_day
from loans.services import repayment_record
from tests.coaching.factories import (
    D,
    accepted_engagement,
    coach_user,
    day,
    held_sessions,
    log_session,
    make_coach,
    make_engagement,
    make_product,
    month_start,
)
from tests.crm.factories import make_person
from tests.loans.factories import EMI, PRINCIPAL, SCHEDULE, active_loan, cash_product

HEADER = [
    "Coach / product",
    "Sessions held",
    "Hours",
    "No-shows",
    "Revenue invoiced",
    "Volunteer value",
    "Goals achieved / total",
]


@pytest.fixture
def rules(praia, mindelo):
    return chart_install()


@pytest.fixture
def activity(rules, manager, branch_manager, loan_officer, praia, product, mindelo_client):
    """Ada (paid, 1,500/h) coaches Ana on the 10 h product: 60 + 90 min held, one no-show, two
    goals (one achieved), invoiced 3,750. Vera (volunteer, 1,000/h) coaches Bia on a second
    product: 90 min held. Ada also coaches a Mindelo client (out of the Praia manager's scope)."""
    ada = make_coach(manager, coach_user("ada", "Ada", branch=praia))
    vera = make_coach(
        manager, coach_user("vera", "Vera", branch=praia), is_volunteer=True, hourly_rate=D("1000")
    )
    cash_flow = make_product(
        manager, name="Cash flow coaching", package_hours=D("5"), price=D("5000")
    )
    ana = make_person(loan_officer, first_name="Ana", last_name="Lopes")
    bia = make_person(loan_officer, first_name="Bia", last_name="Tavares")
    first = accepted_engagement(branch_manager, party=ana, product=product, coach=ada)
    held_sessions(ada.user, first, [60, 90])
    log_session(ada.user, first, on=day(10), status=SessionStatus.NO_SHOW)
    achieved = services.goal_add(actor=branch_manager, engagement=first, description="Cash book")
    services.goal_add(actor=branch_manager, engagement=first, description="Separate accounts")
    services.goal_mark_achieved(actor=branch_manager, goal=achieved, achieved_on=day(12))
    services.invoice_for_engagement(actor=branch_manager, engagement=first, issue_date=day(20))
    second = accepted_engagement(branch_manager, party=bia, product=cash_flow, coach=vera)
    held_sessions(vera.user, second, [90])
    elsewhere = accepted_engagement(manager, party=mindelo_client, product=product, coach=ada)
    held_sessions(ada.user, elsewhere, [120])
    return {"ada": ada, "vera": vera}


def _period():
    return {"date_from": month_start(), "date_to": day(28)}


def test_activity_report_by_coach_and_product(activity, branch_manager):
    # when
    report = coaching_activity_report(user=branch_manager, **_period())
    # then: the Mindelo engagement is out of scope
    assert report.csv_rows() == [
        HEADER,
        ["By coach", "", "", "", "", "", ""],
        ["Ada Coach", "2", "2.50", "1", "3750.00", "0.00", "1 / 2"],
        ["Vera Coach", "1", "1.50", "0", "0.00", "1500.00", "0 / 0"],
        ["By product", "", "", "", "", "", ""],
        ["Business coaching 10 h", "2", "2.50", "1", "3750.00", "0.00", "1 / 2"],
        ["Cash flow coaching", "1", "1.50", "0", "0.00", "1500.00", "0 / 0"],
        ["Total", "3", "4.00", "1", "3750.00", "1500.00", "1 / 2"],
    ]


def test_activity_report_for_head_office_includes_every_branch(activity, manager, praia):
    # when
    everything = coaching_activity_report(user=manager, **_period())
    praia_only = coaching_activity_report(user=manager, branch=praia, **_period())
    # then: Ada's 2 h in Mindelo count only without the branch filter
    assert everything.csv_rows()[2] == ["Ada Coach", "3", "4.50", "1", "3750.00", "0.00", "1 / 2"]
    assert praia_only.csv_rows()[2] == ["Ada Coach", "2", "2.50", "1", "3750.00", "0.00", "1 / 2"]


def test_activity_report_csv_and_pdf_downloads(activity, client, branch_manager):
    # given
    client.force_login(branch_manager)
    url = reverse("coaching:report", args=["activity"])
    params = {"date_from": month_start().isoformat(), "date_to": day(28).isoformat()}
    # when
    page = client.get(url, params)
    csv_response = client.get(url, {**params, "format": "csv"})
    pdf_response = client.get(url, {**params, "format": "pdf"})
    # then
    assert page.status_code == 200
    assert "Vera Coach" in page.content.decode()
    rows = list(csv.reader(io.StringIO(csv_response.content.decode())))
    assert rows[-1] == ["Total", "3", "4.00", "1", "3750.00", "1500.00", "1 / 2"]
    assert csv_response["Content-Type"] == "text/csv; charset=utf-8"
    assert pdf_response["Content-Type"] == "application/pdf"
    assert pdf_response.content.startswith(b"%PDF")


def test_reports_are_refused_to_a_coach(activity, client, coach):
    # given
    client.force_login(coach)
    # when
    response = client.get(reverse("coaching:report", args=["activity"]))
    # then
    assert response.status_code == 403


# --- portfolio quality ---------------------------------------------------------------------------

OCTOBER = {"date_from": datetime.date(2026, 10, 1), "date_to": datetime.date(2026, 10, 31)}


def _pay(officer, loan, count):
    for date, _principal, _interest in SCHEDULE[:count]:
        repayment_record(actor=officer, loan=loan, amount=EMI, value_date=date)


def _balance_after(count):
    return PRINCIPAL - sum((principal for _date, principal, _interest in SCHEDULE[:count]), D(0))


@pytest.fixture
def portfolio(rules, loan_officer, branch_manager, coach, product, coach_profile, praia_client):
    """Ana (coached in October: engagement active from 5 October) paid up to October; Rui (not
    coached; his engagement was cancelled) paid only 3 installments. End of day on 22 November."""
    loan_product = cash_product(loan_officer, rules)
    coached_loan = active_loan(loan_officer, branch_manager, loan_product, borrower=praia_client)
    rui = make_person(loan_officer, first_name="Rui", last_name="Semedo")
    late_loan = active_loan(loan_officer, branch_manager, loan_product, borrower=rui)
    _pay(loan_officer, coached_loan, 9)
    _pay(loan_officer, late_loan, 3)
    engagement = make_engagement(
        branch_manager,
        party=praia_client,
        product=product,
        coach=coach_profile,
        requested_on=datetime.date(2026, 9, 25),
    )
    services.engagement_transition(
        actor=branch_manager,
        engagement=engagement,
        to_status=EngagementStatus.ACCEPTED,
        on=datetime.date(2026, 9, 26),
    )
    log_session(coach, engagement, on=datetime.date(2026, 10, 5))
    cancelled = make_engagement(
        branch_manager,
        party=rui,
        product=product,
        coach=coach_profile,
        requested_on=datetime.date(2026, 9, 25),
    )
    services.engagement_transition(
        actor=branch_manager,
        engagement=cancelled,
        to_status=EngagementStatus.CANCELLED,
        on=datetime.date(2026, 9, 26),
        reason="Changed his mind",
    )
    run_end_of_day(datetime.date(2026, 11, 22))
    return {"coached": coached_loan, "late": late_loan}


def test_portfolio_quality_of_coached_and_not_coached(portfolio, branch_manager):
    # when
    groups = portfolio_groups(user=branch_manager, **OCTOBER)
    # then: 9 paid → 7 days late; 3 paid → 191 days late; October's installment paid by Ana only
    coached, not_coached = groups["coached"], groups["not_coached"]
    assert _balance_after(9) == D("32723.89")
    assert (coached.loans, coached.outstanding, coached.par30) == (1, D("32723.89"), D("0.0000"))
    assert (coached.repayment_rate, coached.renewals) == (D("1.0000"), 0)
    assert (not_coached.loans, not_coached.outstanding) == (1, D("92618.15"))
    assert (not_coached.par30, not_coached.repayment_rate, not_coached.renewals) == (
        D("1.0000"),
        D("0.0000"),
        0,
    )


def test_portfolio_report_rows_and_chart(portfolio, branch_manager, client):
    # when
    report = coached_portfolio_report(user=branch_manager, **OCTOBER)
    # then
    assert report.csv_rows() == [
        ["Borrowers", "Loans", "Outstanding principal", "PAR30", "Repayment rate", "Renewals"],
        ["Coached", "1", "32723.89", "0.0000", "1.0000", "0"],
        ["Not coached", "1", "92618.15", "1.0000", "0.0000", "0"],
    ]
    assert [(bar.label, bar.value, bar.length) for bar in report.chart] == [
        ("Coached", D("0.0000"), 0),
        ("Not coached", D("1.0000"), 380),
    ]
    client.force_login(branch_manager)
    url = reverse("coaching:report", args=["portfolio"])
    params = {"date_from": "2026-10-01", "date_to": "2026-10-31"}
    page = client.get(url, params).content.decode()
    assert "<svg" in page and 'width="380"' in page
    assert client.get(url, {**params, "format": "pdf"}).content.startswith(b"%PDF")


def test_portfolio_excludes_loans_outside_the_period_engagement(portfolio, manager):
    # when: in August neither borrower was coached
    groups = portfolio_groups(
        user=manager, date_from=datetime.date(2026, 8, 1), date_to=datetime.date(2026, 8, 31)
    )
    # then
    assert groups["coached"].loans == 0
    assert groups["coached"].par30 is None
    assert groups["not_coached"].loans == 2
    assert groups["not_coached"].outstanding == D("125342.04")
