"""Loans API serializers: amounts are decimal strings at the loan currency's precision."""

from __future__ import annotations

from rest_framework import serializers

from loans.choices import Channel
from loans.models import Installment, Loan, LoanProduct, LoanTransaction
from mfi.money import Currency


def _money(value, currency: str) -> str:
    from mfi.money import round_money

    return str(round_money(value, currency))


class InstallmentSerializer(serializers.ModelSerializer):
    class Meta:
        model = Installment
        fields = [
            "number",
            "due_date",
            "principal_due",
            "interest_due",
            "fee_due",
            "penalty_due",
            "principal_paid",
            "interest_paid",
            "fee_paid",
            "penalty_paid",
        ]


class LoanSerializer(serializers.ModelSerializer):
    borrower = serializers.PrimaryKeyRelatedField(read_only=True)
    branch = serializers.SlugRelatedField(slug_field="code", read_only=True)
    officer = serializers.SlugRelatedField(slug_field="username", read_only=True)
    product = serializers.CharField(source="product_version.product.code", read_only=True)
    product_version = serializers.IntegerField(source="product_version.version", read_only=True)

    MONEY_FIELDS = (
        "principal",
        "principal_outstanding",
        "interest_outstanding",
        "fees_outstanding",
        "penalties_outstanding",
        "overpaid_amount",
        "arrears_amount",
    )

    class Meta:
        model = Loan
        fields = [
            "id",
            "number",
            "borrower",
            "branch",
            "officer",
            "product",
            "product_version",
            "status",
            "currency",
            "principal",
            "annual_interest_rate",
            "number_of_repayments",
            "purpose",
            "expected_disbursement_date",
            "first_repayment_date",
            "submitted_on",
            "approved_on",
            "disbursed_on",
            "closed_on",
            "principal_outstanding",
            "interest_outstanding",
            "fees_outstanding",
            "penalties_outstanding",
            "overpaid_amount",
            "days_past_due",
            "arrears_amount",
            "delinquency_bucket",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in self.MONEY_FIELDS:
            data[name] = _money(getattr(instance, name), instance.currency)
        return data


class LoanApplicationSerializer(serializers.Serializer):
    borrower = serializers.IntegerField(min_value=1)
    product = serializers.SlugRelatedField(
        slug_field="code", queryset=LoanProduct.objects.filter(is_active=True)
    )
    principal = serializers.DecimalField(max_digits=20, decimal_places=4, min_value=0)
    annual_interest_rate = serializers.DecimalField(
        max_digits=9, decimal_places=4, min_value=0, required=False
    )
    number_of_repayments = serializers.IntegerField(min_value=1, max_value=1200, required=False)
    expected_disbursement_date = serializers.DateField()
    first_repayment_date = serializers.DateField(required=False)
    purpose = serializers.CharField(max_length=250)


class LoanReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=250)


class DisbursementSerializer(serializers.Serializer):
    disbursed_on = serializers.DateField(required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.CASH)


class RepaymentSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=20, decimal_places=4, min_value=0)
    value_date = serializers.DateField(required=False)
    channel = serializers.ChoiceField(choices=Channel.choices, default=Channel.CASH)
    receipt_number = serializers.CharField(
        max_length=40, required=False, allow_blank=True, default=""
    )


class LoanTransactionSerializer(serializers.ModelSerializer):
    journal_entry = serializers.IntegerField(source="journal_entry.number", read_only=True)

    class Meta:
        model = LoanTransaction
        fields = [
            "id",
            "kind",
            "value_date",
            "amount",
            "principal_portion",
            "interest_portion",
            "fee_portion",
            "penalty_portion",
            "overpayment_portion",
            "channel",
            "receipt_number",
            "journal_entry",
            "is_reversed",
        ]
        read_only_fields = fields

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for name in (
            "amount",
            "principal_portion",
            "interest_portion",
            "fee_portion",
            "penalty_portion",
            "overpayment_portion",
        ):
            data[name] = _money(getattr(instance, name), instance.loan.currency)
        return data


class PortfolioQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=False)
    branch = serializers.IntegerField(required=False, min_value=1)
    currency = serializers.ChoiceField(choices=Currency.choices, required=False, default="CVE")
