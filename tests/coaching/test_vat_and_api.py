"""VAT on coaching invoices (Dr 1340 total / Cr 4500 net / Cr 2400 VAT), the invoices API with
exact decimal strings and Idempotency-Key replays, and the branch referral rules."""

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Sum
from rest_framework.test import APIClient

from accounting.chart import chart_install
from accounting.models import Account, JournalEntry, JournalLine
from audit.models import AuditEvent
from coaching import services
from coaching.choices import InvoiceStatus, PaymentChannel
from coaching.models import CoachingInvoice, CoachingPayment, CoachingReferralRule
from tests.coaching.factories import D, accepted_engagement, day, held_sessions, make_product
from tests.conftest import _persona
from users.roles import Role


@pytest.fixture
def rules(praia, mindelo):
    return chart_install()


@pytest.fixture
def vat_engagement(manager, branch_manager, praia_client, coach_profile):
    """15 000 CVE for 10 h with 15 % VAT, accepted by the Praia branch manager."""
    product = make_product(manager, name="Coaching with VAT", vat_rate=D("15"))
    return accepted_engagement(
        branch_manager, party=praia_client, product=product, coach=coach_profile
    )


def _api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


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


# --- VAT ---------------------------------------------------------------------------------------


def test_the_chart_has_a_vat_payable_account(rules):
    account = Account.objects.get(code="2400")
    assert (account.name, account.type, account.role) == ("VAT payable", "liability", "VAT_PAYABLE")
    assert rules["cash"].rules.get(event="coaching_vat").credit_role == "VAT_PAYABLE"
    assert rules["accrual"].rules.get(event="coaching_vat").debit_role == "COACHING_RECEIVABLE"


def test_invoice_with_15_percent_vat_posts_net_and_vat(
    rules, branch_manager, coach, vat_engagement
):
    # given: 60 + 90 minutes held at 1 500 CVE an hour
    held_sessions(coach, vat_engagement, [60, 90])
    # when
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=vat_engagement, issue_date=day(20)
    )
    # then: 3 750.00 net, 562.50 VAT, 4 312.50 total
    invoice.refresh_from_db()
    assert invoice.status == InvoiceStatus.ISSUED
    assert (invoice.net, invoice.vat_rate, invoice.vat_amount, invoice.total) == (
        D("3750.00"),
        D("15"),
        D("562.50"),
        D("4312.50"),
    )
    assert invoice.customer_amount == D("4312.50")
    assert _lines(invoice.journal_entry) == [
        ("1340", "4312.5000", "0.0000"),
        ("2400", "0.0000", "562.5000"),
        ("4500", "0.0000", "3750.0000"),
    ]


def test_vat_is_rounded_to_the_cent(rules, manager, branch_manager, coach, praia_client):
    # given: 10 000 CVE for 3 h, 15 % VAT; 50 min = 2 777.78
    product = make_product(manager, price=D("10000.00"), package_hours=D("3"), vat_rate=D("15"))
    from tests.coaching.factories import make_coach

    engagement = accepted_engagement(
        branch_manager, party=praia_client, product=product, coach=make_coach(manager, coach)
    )
    held_sessions(coach, engagement, [50])
    # when
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=engagement, issue_date=day(20)
    )
    # then: 15 % of 2 777.78 = 416.667 → 416.67
    assert (invoice.net, invoice.vat_amount, invoice.total) == (
        D("2777.78"),
        D("416.67"),
        D("3194.45"),
    )


def test_paying_the_total_clears_the_receivable(
    rules, branch_manager, coach, vat_engagement, praia
):
    # given
    held_sessions(coach, vat_engagement, [60, 90])
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=vat_engagement, issue_date=day(20)
    )
    assert _balance("1340") == "4312.5000"
    # when
    payment = services.payment_record(
        actor=branch_manager,
        invoice=invoice,
        amount=D("4312.50"),
        date=day(21),
        channel=PaymentChannel.CASH,
    )
    # then
    invoice.refresh_from_db()
    assert (invoice.status, invoice.balance) == (InvoiceStatus.PAID, D("0"))
    cash = Account.objects.get(role="CASH", branch=praia).code
    assert _lines(payment.journal_entry) == sorted(
        [(cash, "4312.5000", "0.0000"), ("1340", "0.0000", "4312.5000")]
    )
    assert _balance("1340") == "0.0000"
    assert _balance("2400") == "-562.5000"
    assert _balance("4500") == "-3750.0000"


def test_cancelling_reverses_net_and_vat(rules, branch_manager, coach, vat_engagement):
    # given
    held_sessions(coach, vat_engagement, [60])
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=vat_engagement, issue_date=day(20)
    )
    # when
    services.invoice_cancel(actor=branch_manager, invoice=invoice, reason="Wrong rate", on=day(21))
    # then
    assert (_balance("1340"), _balance("2400"), _balance("4500")) == (
        "0.0000",
        "0.0000",
        "0.0000",
    )


def test_vat_rate_is_set_and_validated_through_the_product_services(manager):
    product = make_product(manager, name="VAT product")
    assert product.vat_rate == D("0")
    updated = services.coaching_product_update(
        actor=manager, product=product, changes={"vat_rate": D("15")}
    )
    assert updated.vat_rate == D("15")
    assert AuditEvent.objects.filter(
        action="coaching_product.updated", after__vat_rate="15"
    ).exists()
    with pytest.raises(ValidationError, match="VAT rate"):
        services.coaching_product_update(
            actor=manager, product=product, changes={"vat_rate": D("120")}
        )


def test_the_product_form_sets_the_vat_rate(client, manager):
    # given
    client.force_login(manager)
    # when
    response = client.post(
        "/coaching/products/new/",
        {
            "name": "Form VAT product",
            "package_hours": "10",
            "price": "15000",
            "currency": "CVE",
            "vat_rate": "15",
            "is_active": "on",
        },
    )
    # then
    assert response.status_code == 302
    from coaching.models import CoachingProduct

    product = CoachingProduct.objects.get(name="Form VAT product")
    assert product.vat_rate == D("15")
    edit = client.get(f"/coaching/products/{product.pk}/edit/")
    assert edit.context["form"].initial["vat_rate"] == D("15")


# --- invoices API ------------------------------------------------------------------------------


def test_api_issue_list_and_pay_with_exact_amounts(
    rules, branch_manager, outsider, coach, vat_engagement
):
    # given
    held_sessions(coach, vat_engagement, [60, 90])
    api = _api(branch_manager)
    # when: issued, twice with the same key
    body = {"engagement": vat_engagement.pk, "issue_date": day(20).isoformat()}
    first = api.post(
        "/api/v1/coaching/invoices/issue/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    again = api.post(
        "/api/v1/coaching/invoices/issue/", body, format="json", HTTP_IDEMPOTENCY_KEY="k-1"
    )
    # then
    assert first.status_code == 201, first.content
    data = first.json()
    assert (data["net"], data["vat_rate"], data["vat_amount"], data["total"], data["balance"]) == (
        "3750.00",
        "15",
        "562.50",
        "4312.50",
        "4312.50",
    )
    assert [line["amount"] for line in data["lines"]] == ["1500.00", "2250.00"]
    assert again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == data
    assert CoachingInvoice.objects.count() == 1
    # list and retrieve
    listed = api.get("/api/v1/coaching/invoices/").json()
    assert listed["count"] == 1
    assert listed["results"][0]["total"] == "4312.50"
    assert api.get(f"/api/v1/coaching/invoices/{data['id']}/").json()["number"] == data["number"]
    # a loan officer of another branch sees no invoice
    assert _api(outsider).get("/api/v1/coaching/invoices/").status_code == 403
    # when: paid in two parts, the first replayed
    url = f"/api/v1/coaching/invoices/{data['id']}/payments/"
    pay = {"amount": "1000.50", "date": day(21).isoformat(), "channel": PaymentChannel.CASH}
    paid = api.post(url, pay, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    replay = api.post(url, pay, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    other_body = api.post(url, {**pay, "amount": "2.00"}, format="json", HTTP_IDEMPOTENCY_KEY="p-1")
    # then
    assert paid.status_code == 201, paid.content
    assert paid.json()["amount"] == "1000.50"
    assert replay.json() == paid.json()
    assert replay["Idempotent-Replayed"] == "true"
    assert other_body.status_code == 422
    assert CoachingPayment.objects.count() == 1
    rest = api.post(
        url,
        {"amount": "3312.00", "date": day(22).isoformat(), "channel": PaymentChannel.CASH},
        format="json",
    )
    assert rest.status_code == 201
    detail = api.get(f"/api/v1/coaching/invoices/{data['id']}/").json()
    assert (detail["status"], detail["amount_paid"], detail["balance"]) == (
        "paid",
        "4312.50",
        "0.00",
    )
    assert [p["amount"] for p in detail["payments"]] == ["1000.50", "3312.00"]


def test_api_refusals_change_nothing(rules, branch_manager, coach, vat_engagement):
    # given
    held_sessions(coach, vat_engagement, [60])
    api = _api(branch_manager)
    # when: nothing held before the issue date
    early = api.post(
        "/api/v1/coaching/invoices/issue/",
        {"engagement": vat_engagement.pk, "issue_date": day(1).isoformat()},
        format="json",
    )
    # then
    assert early.status_code == 400
    assert CoachingInvoice.objects.count() == 0
    assert JournalEntry.objects.count() == 0
    invoice = services.invoice_for_engagement(
        actor=branch_manager, engagement=vat_engagement, issue_date=day(20)
    )
    too_much = api.post(
        f"/api/v1/coaching/invoices/{invoice.pk}/payments/",
        {"amount": "1725.01", "date": day(21).isoformat(), "channel": PaymentChannel.CASH},
        format="json",
    )
    assert too_much.status_code == 400
    assert CoachingPayment.objects.count() == 0


# --- referral rules ----------------------------------------------------------------------------


def test_referral_rule_is_set_changed_and_audited(branch_manager, coach, praia):
    # when
    rule = services.referral_rule_set(
        actor=branch_manager, branch=praia, bucket="31-60", coordinator=coach
    )
    again = services.referral_rule_set(
        actor=branch_manager, branch=praia, bucket="91+", coordinator=branch_manager
    )
    # then
    assert again.pk == rule.pk
    rule.refresh_from_db()
    assert (rule.delinquency_bucket, rule.coordinator, rule.is_active) == (
        "91+",
        branch_manager,
        True,
    )
    assert list(
        AuditEvent.objects.filter(action__startswith="coaching_referral_rule")
        .order_by("pk")
        .values_list("action", flat=True)
    ) == ["coaching_referral_rule.created", "coaching_referral_rule.updated"]


def test_referral_rule_refusals(branch_manager, loan_officer, coach, praia, mindelo):
    # an unknown bucket
    with pytest.raises(ValidationError, match="delinquency buckets"):
        services.referral_rule_set(
            actor=branch_manager, branch=praia, bucket="30-60", coordinator=coach
        )
    # a branch outside the actor's scope
    with pytest.raises(PermissionDenied):
        services.referral_rule_set(
            actor=branch_manager, branch=mindelo, bucket="1-30", coordinator=coach
        )
    # a role without coaching management
    with pytest.raises(PermissionDenied):
        services.referral_rule_set(
            actor=loan_officer, branch=praia, bucket="1-30", coordinator=coach
        )
    # a coordinator of another branch
    other = _persona("manager.mindelo", Role.BRANCH_MANAGER, mindelo)
    with pytest.raises(ValidationError, match="coordinator"):
        services.referral_rule_set(
            actor=branch_manager, branch=praia, bucket="1-30", coordinator=other
        )
    assert CoachingReferralRule.objects.count() == 0
    assert not AuditEvent.objects.filter(action__startswith="coaching_referral_rule").exists()


def test_referral_rules_page_lists_and_sets_rules(client, branch_manager, coach, praia):
    # given
    client.force_login(branch_manager)
    # when
    response = client.post(
        "/coaching/referral-rules/",
        {"branch": praia.pk, "bucket": "61-90", "coordinator": coach.pk, "is_active": "on"},
    )
    # then
    assert response.status_code == 302
    page = client.get("/coaching/referral-rules/")
    assert page.status_code == 200
    assert "61-90" in page.content.decode()
    assert CoachingReferralRule.objects.get(branch=praia).delinquency_bucket == "61-90"
    refused = client.post(
        "/coaching/referral-rules/",
        {"branch": praia.pk, "bucket": "5-9", "coordinator": coach.pk},
    )
    assert refused.status_code == 200
    assert refused.context["form"].errors


def test_referral_rules_page_is_for_coaching_managers(client, coach):
    client.force_login(coach)
    assert client.get("/coaching/referral-rules/").status_code == 403
