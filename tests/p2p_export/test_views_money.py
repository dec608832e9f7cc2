"""P2P money screens: repayment reports built, reviewed, finalised and sent; funds received and
repaid to the platform recorded from the reconciliation page (P2P_RECONCILE only); the monthly
statement's totals exact, in HTML and PDF."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from p2p_export import reconciliation
from p2p_export.models import FundingReceipt, PlatformRepayment, RepaymentReport
from tests.p2p_export.conftest import sandbox_state
from tests.p2p_export.factories import (
    days_ago,
    loan_repaid_last_month,
    previous_month,
    publish_and_poll,
    ready_publication,
)

D = Decimal


@pytest.fixture
def repaying(manager, loan_officer, branch_manager, rules, kiva_platform, kiva_server):
    """A Kiva publication paying back, whose loan had one repayment (8,947.15) last month."""
    loan = loan_repaid_last_month(loan_officer, branch_manager, rules)
    return publish_and_poll(manager, ready_publication(manager, kiva_platform, loan), 3)


def url(name: str, *args) -> str:
    return reverse(f"p2p_export:{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


def period(publication, day=None) -> dict:
    day = day or days_ago(0)
    return {"platform": publication.platform.code, "year": day.year, "month": day.month}


def test_a_month_is_built_reviewed_finalised_and_sent(client, manager, repaying, kiva_server):
    # given
    client.force_login(manager)
    year, month = previous_month()

    # when
    built = client.post(
        url("report_build"), {"platform": "kiva", "year": year, "month": month}, follow=True
    )
    report = RepaymentReport.objects.get()
    finalised = client.post(url("report_finalise", report.pk), follow=True)
    sent = client.post(url("report_send", report.pk), follow=True)

    # then
    assert built.request["PATH_INFO"] == url("report_detail", report.pk)
    assert [line.amount for line in built.context["lines"]] == [D("8947.1500")]
    assert 'data-testid="report-total">8,947.15 CVE<' in built.content.decode()
    assert messages_of(finalised) == ["The report is finalised: it can no longer change."]
    assert messages_of(sent) == ["The report is sent (or goes with the next package)."]
    report.refresh_from_db()
    assert (report.status, report.total) == ("sent", D("8947.15"))
    assert [batch["count"] for batch in sandbox_state(kiva_server)["repayment_batches"]] == [1]


def test_only_p2p_managers_build_reports(client, accountant, auditor, repaying):
    # when
    year, month = previous_month()
    responses = []
    for user in (accountant, auditor):
        client.force_login(user)
        responses.append(
            client.post(url("report_build"), {"platform": "kiva", "year": year, "month": month})
        )

    # then
    assert [response.status_code for response in responses] == [403, 403]
    assert not RepaymentReport.objects.exists()


def test_funds_and_repayments_recorded_from_the_page_make_an_exact_statement(
    client, accountant, manager, repaying
):
    # given last month's report, sent
    year, month = previous_month()
    reconciliation.repayments_send(
        actor=manager, platform=repaying.platform, year=year, month=month
    )
    report = RepaymentReport.objects.get()
    client.force_login(accountant)

    # when the platform's two transfers are recorded, then our repayment to it
    recorded = [
        client.post(
            url("funding_record"),
            {
                **period(repaying),
                "publication": repaying.pk,
                "received_on": days_ago(0).isoformat(),
                "reference": reference,
                "amount": amount,
            },
            follow=True,
        )
        for reference, amount in (("KIVA-TRF-1", "45000.00"), ("KIVA-TRF-2", "75000.00"))
    ]
    paid = client.post(
        url("platform_repayment_record", report.pk),
        {"paid_on": days_ago(0).isoformat(), "reference": "REPAY-1"},
        follow=True,
    )
    page = client.get(url("statement"), period(repaying))
    pdf = client.get(url("statement"), {**period(repaying), "format": "pdf"})

    # then
    assert [messages_of(response) for response in recorded] == [
        ["Funds recorded and posted to the ledger."]
    ] * 2
    assert FundingReceipt.objects.count() == 2
    assert PlatformRepayment.objects.get().amount == D("8947.15")
    assert messages_of(paid) == [
        "Repayment to the platform recorded.",
        "1 loan posted to the ledger.",
    ]
    (statement,) = page.context["statements"]
    assert (statement.currency, statement.funded_total, statement.repaid_total) == (
        "CVE",
        D("120000.00"),
        D("8947.15"),
    )
    html = page.content.decode()
    assert 'data-testid="funded-total-CVE"><strong>120,000.00</strong>' in html
    assert 'data-testid="repaid-total-CVE"><strong>8,947.15</strong>' in html
    assert "KIVA-TRF-1" in html and "KIVA-TRF-2" in html
    assert repaying.loan.disbursed_on.isoformat() in html
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_a_refused_funding_is_explained_and_nothing_is_recorded(client, accountant, repaying):
    # given
    client.force_login(accountant)

    # when
    response = client.post(
        url("funding_record"),
        {
            **period(repaying),
            "publication": repaying.pk,
            "received_on": days_ago(0).isoformat(),
            "reference": "KIVA-TRF-9",
            "amount": "120000.01",
        },
        follow=True,
    )

    # then
    assert messages_of(response) == ["Funds received would exceed the loan (120000.00)."]
    assert not FundingReceipt.objects.exists()


def test_only_reconcilers_record_money(client, auditor, branch_manager, repaying):
    # when
    codes = []
    for user in (auditor, branch_manager):
        client.force_login(user)
        codes.append(
            client.post(
                url("funding_record"),
                {
                    **period(repaying),
                    "publication": repaying.pk,
                    "received_on": days_ago(0).isoformat(),
                    "reference": "X",
                    "amount": "1000.00",
                },
            ).status_code
        )

    # then
    assert codes == [403, 403]
    assert not FundingReceipt.objects.exists()


def test_the_reconciliation_page_is_read_by_auditors_without_forms(
    client, auditor, repaying, django_assert_max_num_queries
):
    # given
    client.force_login(auditor)

    # when
    with django_assert_max_num_queries(25):
        response = client.get(url("reconciliation"), period(repaying))

    # then
    assert response.status_code == 200
    assert 'data-testid="funding-form"' not in response.content.decode()
