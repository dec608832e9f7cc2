"""Coaching API serializers: they parse and present; ``coaching.services`` does the saving.

Hours are decimal strings to the hundredth; amounts are decimal strings at the currency's
precision.
"""

from __future__ import annotations

from rest_framework import serializers

from coaching.choices import (
    CoachLanguage,
    EngagementStatus,
    PaymentChannel,
    SessionMode,
    SessionStatus,
)
from coaching.models import (
    ActionItem,
    Coach,
    CoachingInvoice,
    CoachingProduct,
    Engagement,
    Session,
)
from coaching.selectors import engagement_hours
from crm.choices import Island, Sector
from mfi.money import round_money


class EngagementSerializer(serializers.ModelSerializer):
    party_name = serializers.CharField(source="party.display_name", read_only=True)
    product_name = serializers.CharField(source="product.name", read_only=True)
    coach_name = serializers.CharField(source="coach.display_name", read_only=True)
    hours_used = serializers.SerializerMethodField()

    class Meta:
        model = Engagement
        fields = [
            "id",
            "party",
            "party_name",
            "product",
            "product_name",
            "coach",
            "coach_name",
            "status",
            "needs",
            "requested_skills",
            "requested_sector",
            "requested_island",
            "requested_language",
            "package_hours",
            "hours_used",
            "price",
            "currency",
            "subsidy_percent",
            "requested_on",
            "accepted_on",
            "started_on",
            "completed_on",
            "cancelled_on",
            "cancellation_reason",
        ]
        read_only_fields = fields

    def get_hours_used(self, engagement) -> str:
        return str(engagement_hours(engagement=engagement).used)

    def to_representation(self, instance):
        data = super().to_representation(instance)
        data["price"] = str(round_money(instance.price, instance.currency))
        return data


class EngagementCreateSerializer(serializers.Serializer):
    party = serializers.IntegerField(min_value=1)
    product = serializers.PrimaryKeyRelatedField(
        queryset=CoachingProduct.objects.filter(is_active=True)
    )
    coach = serializers.PrimaryKeyRelatedField(queryset=Coach.objects.filter(is_active=True))
    needs = serializers.CharField(required=False, allow_blank=True, default="")
    skills = serializers.ListField(
        child=serializers.CharField(max_length=80), required=False, default=list
    )
    sector = serializers.ChoiceField(
        choices=Sector.choices, required=False, allow_blank=True, default=""
    )
    island = serializers.ChoiceField(
        choices=Island.choices, required=False, allow_blank=True, default=""
    )
    language = serializers.ChoiceField(
        choices=CoachLanguage.choices, required=False, allow_blank=True, default=""
    )
    requested_on = serializers.DateField(required=False)


class EngagementTransitionSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[choice for choice in EngagementStatus.choices if choice[0] != "requested"]
    )
    on = serializers.DateField(required=False)
    reason = serializers.CharField(max_length=250, required=False, allow_blank=True, default="")


class ActionItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = ActionItem
        fields = ["text", "due_on", "task_id"]
        read_only_fields = ["task_id"]


class SessionSerializer(serializers.ModelSerializer):
    action_items = ActionItemSerializer(many=True, read_only=True)

    class Meta:
        model = Session
        fields = [
            "id",
            "engagement",
            "status",
            "scheduled_at",
            "duration_minutes",
            "mode",
            "situation",
            "advice",
            "agreed_actions",
            "action_items",
            "confirmed_by_customer_at",
            "confirmation_channel",
        ]
        read_only_fields = fields


class _ActionItemInput(serializers.Serializer):
    text = serializers.CharField(max_length=250)
    due_on = serializers.DateField(required=False, allow_null=True, default=None)


class SessionCreateSerializer(serializers.Serializer):
    engagement = serializers.IntegerField(min_value=1)
    scheduled_at = serializers.DateTimeField()
    duration_minutes = serializers.IntegerField(min_value=5, max_value=600, default=60)
    mode = serializers.ChoiceField(choices=SessionMode.choices, default=SessionMode.IN_PERSON)
    status = serializers.ChoiceField(
        choices=[
            (SessionStatus.HELD, SessionStatus.HELD.label),
            (SessionStatus.NO_SHOW, SessionStatus.NO_SHOW.label),
            (SessionStatus.PLANNED, SessionStatus.PLANNED.label),
        ],
        default=SessionStatus.HELD,
    )
    situation = serializers.CharField(required=False, allow_blank=True, default="")
    advice = serializers.CharField(required=False, allow_blank=True, default="")
    agreed_actions = serializers.CharField(required=False, allow_blank=True, default="")
    action_items = _ActionItemInput(many=True, required=False, default=list)


# --- invoices ----------------------------------------------------------------------------------

_INVOICE_AMOUNTS = (
    "net",
    "vat_amount",
    "total",
    "subsidy_amount",
    "customer_amount",
    "amount_paid",
)


class CoachingPaymentSerializer(serializers.Serializer):
    id = serializers.IntegerField(read_only=True)
    invoice = serializers.IntegerField(source="invoice_id", read_only=True)
    date = serializers.DateField(read_only=True)
    amount = serializers.SerializerMethodField()
    channel = serializers.CharField(read_only=True)
    journal_entry = serializers.IntegerField(source="journal_entry_id", read_only=True)

    def get_amount(self, payment) -> str:
        return str(round_money(payment.amount, payment.invoice.currency))


class CoachingInvoiceSerializer(serializers.ModelSerializer):
    party_name = serializers.CharField(source="party.display_name", read_only=True)
    balance = serializers.SerializerMethodField()
    vat_rate = serializers.SerializerMethodField()

    class Meta:
        model = CoachingInvoice
        fields = [
            "id",
            "number",
            "status",
            "engagement",
            "party",
            "party_name",
            "branch",
            "issue_date",
            "due_date",
            "currency",
            "net",
            "vat_rate",
            "vat_amount",
            "total",
            "subsidy_amount",
            "customer_amount",
            "amount_paid",
            "balance",
            "journal_entry",
            "cancelled_on",
        ]
        read_only_fields = fields

    def get_balance(self, invoice) -> str:
        return str(round_money(invoice.balance, invoice.currency))

    def get_vat_rate(self, invoice) -> str:
        return str(invoice.vat_rate.normalize())

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for field in _INVOICE_AMOUNTS:
            data[field] = str(round_money(getattr(instance, field), instance.currency))
        return data


class CoachingInvoiceDetailSerializer(CoachingInvoiceSerializer):
    lines = serializers.SerializerMethodField()
    payments = serializers.SerializerMethodField()

    class Meta(CoachingInvoiceSerializer.Meta):
        fields = [*CoachingInvoiceSerializer.Meta.fields, "lines", "payments"]
        read_only_fields = fields

    def get_lines(self, invoice) -> list[dict]:
        return [
            {
                "session": line.session_id,
                "description": line.description,
                "hours": str(line.hours),
                "amount": str(round_money(line.amount, invoice.currency)),
            }
            for line in invoice.lines.all()
        ]

    def get_payments(self, invoice) -> list[dict]:
        return [
            {
                "id": payment.pk,
                "date": payment.date.isoformat(),
                "amount": str(round_money(payment.amount, invoice.currency)),
                "channel": payment.channel,
            }
            for payment in invoice.payments.all()
        ]


class InvoiceIssueSerializer(serializers.Serializer):
    engagement = serializers.IntegerField(min_value=1)
    issue_date = serializers.DateField()


class InvoicePaymentSerializer(serializers.Serializer):
    amount = serializers.DecimalField(max_digits=20, decimal_places=4, min_value=0)
    date = serializers.DateField()
    channel = serializers.ChoiceField(choices=PaymentChannel.choices)
