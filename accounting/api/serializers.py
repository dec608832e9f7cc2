"""Ledger API serializers: amounts are decimal strings at the currency's precision."""

from __future__ import annotations

from rest_framework import serializers

from accounting.models import Account, JournalEntry, JournalLine
from mfi.money import Currency, round_money
from users.models import Branch


class AccountSerializer(serializers.ModelSerializer):
    parent = serializers.SlugRelatedField(slug_field="code", read_only=True)
    branch = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = Account
        fields = [
            "id",
            "code",
            "name",
            "type",
            "role",
            "parent",
            "is_header",
            "branch",
            "currency",
            "allows_manual_entries",
            "is_active",
        ]
        read_only_fields = fields


class JournalLineSerializer(serializers.ModelSerializer):
    account = serializers.SlugRelatedField(
        slug_field="code", queryset=Account.objects.filter(is_header=False, is_active=True)
    )
    debit = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=0, default=0)
    credit = serializers.DecimalField(max_digits=20, decimal_places=2, min_value=0, default=0)

    class Meta:
        model = JournalLine
        fields = ["account", "debit", "credit", "description"]


class JournalEntrySerializer(serializers.ModelSerializer):
    branch = serializers.SlugRelatedField(slug_field="code", queryset=Branch.objects.all())
    currency = serializers.ChoiceField(choices=Currency.choices, default="CVE")
    lines = JournalLineSerializer(many=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    reversal_of = serializers.PrimaryKeyRelatedField(read_only=True)

    class Meta:
        model = JournalEntry
        fields = [
            "id",
            "number",
            "entry_date",
            "branch",
            "currency",
            "description",
            "source",
            "source_reference",
            "status",
            "reversal_of",
            "created_by",
            "approved_by",
            "posted_at",
            "lines",
        ]
        read_only_fields = [
            "id",
            "number",
            "source",
            "source_reference",
            "status",
            "reversal_of",
            "created_by",
            "approved_by",
            "posted_at",
        ]

    def to_representation(self, instance):
        data = super().to_representation(instance)
        for line in data["lines"]:
            for side in ("debit", "credit"):
                line[side] = str(round_money(line[side], instance.currency))
        return data

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            from users.selectors import branches_visible_to

            self.fields["branch"].queryset = branches_visible_to(request.user)


class ReasonSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=200)
    entry_date = serializers.DateField(required=False)


class ReportQuerySerializer(serializers.Serializer):
    date = serializers.DateField(required=False)
    branch = serializers.IntegerField(required=False, min_value=1)
    currency = serializers.ChoiceField(choices=Currency.choices, default="CVE")
