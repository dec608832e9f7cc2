"""Coaching API serializers: they parse and present; ``coaching.services`` does the saving.

Hours are decimal strings to the hundredth; amounts are decimal strings at the currency's
precision.
"""

from __future__ import annotations

from rest_framework import serializers

from coaching.choices import CoachLanguage, EngagementStatus, SessionMode, SessionStatus
from coaching.models import ActionItem, Coach, CoachingProduct, Engagement, Session
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
