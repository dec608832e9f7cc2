"""Coaching billing: invoices by the hour for held sessions, posted Dr 1340 / Cr 4500; payments
Dr branch cash / Cr 1340; cancellation reverses; exact amounts to the cent; permissions."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from django.urls import reverse
from django.utils import timezone

from accounting.chart import chart_install
from accounting.choices import EntrySource
from accounting.models import Account, JournalEntry, JournalLine
from accounting.selectors import trial_balance
from audit.models import AuditEvent
from coaching import services
from coaching.choices import InvoiceStatus, PaymentChannel, SessionStatus
from coaching.models import CoachingInvoice, CoachingPayment
from loans.choices import OfferKind
from loans.models import Offer
from tests.coaching.factories import (
    D,
    accepted_engagement,
    coach_user,
    day,
    held_sessions,
    log_session,
    make_coach,
    make_product,
)


@pytest.fixture
def rules(praia, mindelo):
    return chart_install()


def _lines(entry) -> list[tuple[str, str, str]]:
    return sorted(
        (line.account.code, str(line.debit), str(line.credit))
        for line in entry.lines.select_related("account")
    )


def _balance(code: str) -> str:
    totals = JournalLine.objects.filter(account__code=code, entry__status="posted").aggregate(
        debit=Sum("debit"), credit=Sum("credit")
    )
    return str((totals["debit"] or D(0)) - (totals["credit"] or D(0)))


def _cash_code(branch) -> str:
    return Account.objects.get(role="CASH", branch=branch).code


def test_invoice_bills_held_sessions_by_the_hour_and_posts_receivable(
    rules, branch_manager, coach, engagement, praia
):
    # given: 60 + 90 minutes held, one no-show, one still planned; 15 000 CVE for 10 h
    held_sessions(coach, engagement, [60, 90])
    log_session(coach, engagement, on=day(10), status=SessionStatus.NO_SHOW)
    log_session(coach, engagement, on=day(11), status=SessionStatus.PLANNED)
    # when
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(20)
    )
    # then
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED
    assert invoice.number == f"CI-{day(20).year}-00001"
    assert invoice.branch == praia
    assert invoice.party == engagement.party
    assert [
        (str(line.hours), str(line.unit_price), str(line.amount)) for line in invoice.lines.all()
    ] == [
        ("1.00", "1500.0000", "1500.0000"),
        ("1.50", "1500.0000", "2250.0000"),
    ]
    assert (invoice.net, invoice.vat_amount, invoice.total) == (D("3750"), D("0"), D("3750"))
    assert (invoice.subsidy_amount, invoice.customer_amount) == (D("0"), D("3750"))
    assert invoice.due_date == day(20) + datetime.timedelta(days=30)
    entry = invoice.journal_entry
    assert entry.source == EntrySource.COACHING_INVOICE
    assert entry.source_reference == invoice.number
    assert entry.entry_date == day(20)
    assert _lines(entry) == [("1340", "3750.0000", "0.0000"), ("4500", "0.0000", "3750.0000")]
    assert list(
        AuditEvent.objects.filter(object_id=str(invoice.pk), action__startswith="coaching_invoice")
        .order_by("pk")
        .values_list("action", "branch_id")
    ) == [("coaching_invoice.issued", praia.pk)]


def test_rounding_and_subsidy_to_the_cent(rules, manager, branch_manager, coach, praia_client):
    # given: 10 000 CVE for 3 h (3 333.33… per hour), 25 % paid by a programme
    programme = Offer.objects.create(code="pro-empresa", name="Pro Empresa", kind=OfferKind.GRANT)
    product = make_product(
        manager,
        price=D("10000.00"),
        package_hours=D("3"),
        subsidy_percent=D("25"),
        programme=programme,
    )
    profile = make_coach(manager, coach)
    engagement = accepted_engagement(
        branch_manager, party=praia_client, product=product, coach=profile
    )
    held_sessions(coach, engagement, [50, 45])
    # when
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(20)
    )
    # then: 50 min = 2 777.78, 45 min = 2 500.00
    assert [str(line.amount) for line in invoice.lines.all()] == ["2777.7800", "2500.0000"]
    assert [str(line.hours) for line in invoice.lines.all()] == ["0.83", "0.75"]
    assert invoice.net == D("5277.78")
    assert invoice.total == D("5277.78")
    assert invoice.subsidy_amount == D("1319.44")  # 25 % of 5 277.78 = 1 319.445 → half-even
    assert invoice.customer_amount == D("3958.34")
    assert _lines(invoice.journal_entry) == [
        ("1340", "5277.7800", "0.0000"),
        ("4500", "0.0000", "5277.7800"),
    ]


def test_session_is_billed_once(rules, branch_manager, coach, engagement):
    # given
    held_sessions(coach, engagement, [60])
    first = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(20)
    )
    # when / then
    with pytest.raises(ValidationError, match="Nothing to bill"):
        services.invoice_for_engagement(
            actor=branch_manager, engagement=engagement, issue_date=day(21)
        )
    assert CoachingInvoice.objects.count() == 1
    # a new held session is billed on its own
    log_session(coach, engagement, on=day(22), minutes=30)
    second = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(23)
    )
    assert second.net == D("750.00")
    assert second.number == first.number[:-5] + "00002"


def test_partial_then_full_payment(rules, branch_manager, coach, engagement, praia):
    # given: a 3 750.00 invoice
    held_sessions(coach, engagement, [60, 90])
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(20)
    )
    cash = _cash_code(praia)
    # when: 1 000.50 then the rest
    first = services.payment_record(
        actor=branch_manager,
        invoice=invoice,
        amount=D("1000.50"),
        date=day(21),
        channel=PaymentChannel.CASH,
    )
    invoice.refresh_from_db()
    # then
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (
        InvoiceStatus.ISSUED,
        D("1000.50"),
        D("2749.50"),
    )
    assert _lines(first.journal_entry) == sorted(
        [(cash, "1000.5000", "0.0000"), ("1340", "0.0000", "1000.5000")]
    )
    assert _balance("1340") == "2749.5000"
    # when
    second = services.payment_record(
        actor=branch_manager,
        invoice=invoice,
        amount=D("2749.50"),
        date=day(22),
        channel=PaymentChannel.MOBILE_MONEY,
    )
    invoice.refresh_from_db()
    # then
    assert (invoice.status, invoice.amount_paid, invoice.balance) == (
        InvoiceStatus.PAID,
        D("3750.00"),
        D("0"),
    )
    assert second.journal_entry.entry_date == day(22)
    assert _balance("1340") == "0.0000"
    assert _balance(cash) == "3750.0000"
    assert CoachingPayment.objects.filter(invoice=invoice).count() == 2


def test_overpayment_is_refused_and_changes_nothing(rules, branch_manager, coach, engagement):
    # given
    held_sessions(coach, engagement, [60])
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(20)
    )
    entries = JournalEntry.objects.count()
    # when / then
    with pytest.raises(ValidationError, match="more than the 1500.0000 CVE still due"):
        services.payment_record(
            actor=branch_manager,
            invoice=invoice,
            amount=D("1500.01"),
            date=day(21),
            channel=PaymentChannel.CASH,
        )
    invoice.refresh_from_db()
    assert (invoice.status, invoice.amount_paid) == (InvoiceStatus.ISSUED, D("0"))
    assert JournalEntry.objects.count() == entries
    assert CoachingPayment.objects.count() == 0


def test_cancel_reverses_entry_and_frees_sessions(rules, branch_manager, coach, engagement):
    # given
    held_sessions(coach, engagement, [60, 90])
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(20)
    )
    # when
    services.invoice_cancel(actor=branch_manager, invoice=invoice, reason="Wrong customer")
    # then
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.CANCELLED
    assert invoice.cancelled_on == timezone.localdate()
    reversal = JournalEntry.objects.get(reversal_of=invoice.journal_entry)
    assert _lines(reversal) == [("1340", "0.0000", "3750.0000"), ("4500", "3750.0000", "0.0000")]
    assert _balance("1340") == "0.0000"
    assert _balance("4500") == "0.0000"
    # the sessions can be billed again
    again = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(21)
    )
    assert again.net == D("3750.00")


def test_cancel_refused_once_paid(rules, branch_manager, coach, engagement):
    # given
    held_sessions(coach, engagement, [60])
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(20)
    )
    services.payment_record(
        actor=branch_manager, invoice=invoice, amount=D("100"), date=day(21), channel="cash"
    )
    # when / then
    with pytest.raises(ValidationError, match="cannot be cancelled"):
        services.invoice_cancel(actor=branch_manager, invoice=invoice, reason="Oops")
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED
    assert not JournalEntry.objects.filter(source=EntrySource.REVERSAL).exists()


def test_ledger_balances_and_receivable_equals_unpaid_invoices(
    rules, manager, branch_manager, coach, engagement, praia_client, product
):
    # given: three invoices — one part-paid, one unpaid, one cancelled
    other_coach = make_coach(manager, coach_user("coach2", "Rui"))
    second = accepted_engagement(
        branch_manager, party=praia_client, product=product, coach=other_coach
    )
    held_sessions(coach, engagement, [60, 90])
    held_sessions(other_coach.user, second, [120])
    part_paid = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(20)
    )
    unpaid = services.invoice_for_engagement(
        actor=branch_manager, engagement=second, issue_date=day(20)
    )
    services.payment_record(
        actor=branch_manager, invoice=part_paid, amount=D("750.25"), date=day(21), channel="cash"
    )
    log_session(coach, engagement, on=day(22), minutes=30)
    cancelled = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(23)
    )
    services.invoice_cancel(actor=branch_manager, invoice=cancelled, reason="Duplicate")
    # when
    report = trial_balance(as_of=timezone.localdate())
    # then
    assert report.total_debit == report.total_credit == D("6750.00")
    assert unpaid.total == D("3000.00")
    outstanding = sum(
        (i.balance for i in CoachingInvoice.objects.filter(status=InvoiceStatus.ISSUED)), D(0)
    )
    assert outstanding == D("5999.75")  # 3 750.00 − 750.25 + 3 000.00
    assert _balance("1340") == "5999.7500"
    assert _balance("4500") == "-6750.0000"


def test_coach_cannot_issue_invoices(rules, coach, engagement):
    # given
    held_sessions(coach, engagement, [60])
    # when / then
    with pytest.raises(PermissionDenied):
        services.invoice_for_engagement(actor=coach, engagement=engagement, issue_date=day(20))
    assert CoachingInvoice.objects.count() == 0
    assert JournalEntry.objects.count() == 0


def test_outsider_branch_cannot_record_payment(rules, branch_manager, outsider, coach, engagement):
    # given
    held_sessions(coach, engagement, [60])
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(20)
    )
    # when / then
    with pytest.raises(PermissionDenied):
        services.payment_record(
            actor=outsider, invoice=invoice, amount=D("10"), date=day(21), channel="cash"
        )
    invoice.refresh_from_db()
    assert invoice.amount_paid == D("0")


# --- pages -----------------------------------------------------------------------------------


def test_coach_gets_403_on_invoice_pages(client, rules, branch_manager, coach, engagement):
    # given
    held_sessions(coach, engagement, [60])
    client.force_login(coach)
    # when
    issue = client.post(
        reverse("coaching:invoice_issue", args=[engagement.pk]), {"issue_date": day(20)}
    )
    listing = client.get(reverse("coaching:invoice_list"))
    # then
    assert (issue.status_code, listing.status_code) == (403, 403)
    assert CoachingInvoice.objects.count() == 0


def test_issue_list_pay_and_pdf_pages(
    client, rules, branch_manager, coach, engagement, django_assert_max_num_queries
):
    # given
    held_sessions(coach, engagement, [60, 90])
    client.force_login(branch_manager)
    # when
    response = client.post(
        reverse("coaching:invoice_issue", args=[engagement.pk]), {"issue_date": day(20)}
    )
    invoice = CoachingInvoice.objects.get()
    # then
    assert response.status_code == 302
    assert response.url == reverse("coaching:invoice_detail", args=[invoice.pk])
    with django_assert_max_num_queries(12):
        listing = client.get(reverse("coaching:invoice_list"))
    assert listing.status_code == 200
    assert invoice.number in listing.content.decode()
    detail = client.get(invoice.get_absolute_url())
    assert 'data-testid="invoice-total">3,750.00<' in detail.content.decode()
    paid = client.post(
        reverse("coaching:invoice_payment", args=[invoice.pk]),
        {"amount": "3750.00", "date": day(21), "channel": "cash"},
    )
    assert paid.status_code == 302
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.PAID
    pdf = client.get(f"/coaching/invoices/{invoice.pk}/invoice.pdf")
    assert pdf.status_code == 200
    assert pdf["Content-Type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")


def test_volunteer_hours_report_and_csv(
    client, rules, manager, branch_manager, engagement, product, praia_client
):
    # given: a volunteer coach at 1 200 CVE/h gives 60 + 50 minutes; the staff coach is left out
    volunteer = make_coach(
        manager, coach_user("vol1", "Vera", "Volunteer"), is_volunteer=True, hourly_rate=D("1200")
    )
    volunteering = accepted_engagement(
        branch_manager, party=praia_client, product=product, coach=volunteer
    )
    held_sessions(volunteer.user, volunteering, [60, 50])
    held_sessions(engagement.coach.user, engagement, [60])
    client.force_login(branch_manager)
    query = {"date_from": day(1).isoformat(), "date_to": day(28).isoformat()}
    # when
    page = client.get(reverse("coaching:volunteer_hours"), query)
    csv_response = client.get(reverse("coaching:volunteer_hours"), {**query, "format": "csv"})
    # then
    assert page.status_code == 200
    rows = page.context["rows"]
    assert [(row.coach, row.sessions, row.hours, row.value) for row in rows] == [
        (volunteer, 2, D("1.83"), D("2200.00"))
    ]
    lines = csv_response.content.decode().strip().splitlines()
    assert lines[1] == "Vera Volunteer,2,1.83,1200.00,2200.00,CVE"
    assert len(lines) == 2
