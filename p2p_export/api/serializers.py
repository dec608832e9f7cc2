"""Serializers of the P2P API: read shapes of publications, profiles, news and reports, and the
request bodies of the actions (each action calls one service)."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from p2p_export.choices import PublicationState
from p2p_export.models import (
    JournalDraft,
    Profile,
    Publication,
    PublicationBorrower,
    PublicationEvent,
    RepaymentReport,
    RepaymentReportLine,
)
from p2p_export.selectors import (
    consent_lines,
    publication_borrowers,
    publication_history,
    report_lines,
)

MONEY = {"max_digits": 20, "decimal_places": 4, "read_only": True}


class ProfileSerializer(serializers.ModelSerializer):
    activity = serializers.CharField(source="activity.external_id", read_only=True, default=None)
    activity_name = serializers.CharField(source="activity.name", read_only=True, default=None)
    theme = serializers.CharField(source="theme.external_id", read_only=True, default=None)
    location = serializers.CharField(source="location.external_id", read_only=True, default=None)
    location_name = serializers.CharField(source="location.name", read_only=True, default=None)

    class Meta:
        model = Profile
        fields = [
            "first_name",
            "story",
            "loan_use",
            "activity",
            "activity_name",
            "theme",
            "location",
            "location_name",
            "coarse_location",
            "family_situation",
            "standard_of_living",
            "description_language",
            "group_name",
            "updated_at",
        ]
        read_only_fields = fields


class ProfileUpdateSerializer(serializers.Serializer):
    """Fields to change (all optional). Lookups are given by the platform's own ids."""

    first_name = serializers.CharField(required=False, allow_blank=True, max_length=80)
    story = serializers.CharField(required=False, allow_blank=True)
    loan_use = serializers.CharField(required=False, allow_blank=True, max_length=250)
    activity = serializers.CharField(required=False, allow_null=True, help_text="Platform id.")
    theme = serializers.CharField(required=False, allow_null=True, help_text="Platform id.")
    location = serializers.CharField(required=False, allow_null=True, help_text="Platform id.")
    coarse_location = serializers.CharField(required=False, allow_blank=True, max_length=120)
    family_situation = serializers.CharField(required=False, allow_blank=True, max_length=250)
    standard_of_living = serializers.CharField(required=False, allow_blank=True, max_length=250)
    description_language = serializers.CharField(required=False, allow_blank=True, max_length=8)
    group_name = serializers.CharField(required=False, allow_blank=True, max_length=120)
    is_not_pictured = serializers.BooleanField(required=False)


class BorrowerSerializer(serializers.ModelSerializer):
    class Meta:
        model = PublicationBorrower
        fields = ["id", "person", "first_name", "gender", "amount", "is_pictured"]
        read_only_fields = fields


class EventSerializer(serializers.ModelSerializer):
    actor = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = PublicationEvent
        fields = ["from_state", "to_state", "action", "note", "actor", "created_at"]
        read_only_fields = fields


class ConsentLineSerializer(serializers.Serializer):
    person_id = serializers.IntegerField()
    first_name = serializers.CharField()
    is_borrower = serializers.BooleanField()
    is_pictured = serializers.BooleanField()
    has_p2p_consent = serializers.BooleanField()
    has_photo_consent = serializers.BooleanField()
    has_waiver = serializers.SerializerMethodField()
    is_complete = serializers.BooleanField()

    def get_has_waiver(self, line) -> bool:
        return line.waiver is not None


class PublicationSerializer(serializers.ModelSerializer):
    platform = serializers.SlugRelatedField(slug_field="code", read_only=True)
    loan_number = serializers.CharField(source="loan.number", read_only=True)
    branch = serializers.CharField(source="loan.branch.code", read_only=True)
    currency = serializers.CharField(source="loan.currency", read_only=True)
    principal = serializers.DecimalField(source="loan.principal", **MONEY)
    first_name = serializers.CharField(source="profile.first_name", read_only=True, default="")
    state = serializers.ChoiceField(choices=PublicationState.choices, read_only=True)

    class Meta:
        model = Publication
        fields = [
            "id",
            "platform",
            "loan",
            "loan_number",
            "branch",
            "currency",
            "principal",
            "first_name",
            "state",
            "platform_draft_id",
            "platform_loan_id",
            "platform_status",
            "funded_amount",
            "payload_version",
            "pushed_at",
            "last_synced_at",
            "last_error",
            "field_errors",
            "is_not_pictured",
            "is_anonymised",
            "selected_at",
            "updated_at",
        ]
        read_only_fields = fields


class PublicationDetailSerializer(PublicationSerializer):
    profile = ProfileSerializer(read_only=True)
    borrowers = serializers.SerializerMethodField()
    history = serializers.SerializerMethodField()
    consent = serializers.SerializerMethodField()

    class Meta(PublicationSerializer.Meta):
        fields = [*PublicationSerializer.Meta.fields, "profile", "borrowers", "history", "consent"]
        read_only_fields = fields

    @extend_schema_field(BorrowerSerializer(many=True))
    def get_borrowers(self, publication):
        return BorrowerSerializer(publication_borrowers(publication), many=True).data

    @extend_schema_field(EventSerializer(many=True))
    def get_history(self, publication):
        return EventSerializer(publication_history(publication), many=True).data

    @extend_schema_field(ConsentLineSerializer(many=True))
    def get_consent(self, publication):
        return ConsentLineSerializer(consent_lines(publication), many=True).data


class SelectSerializer(serializers.Serializer):
    platform = serializers.SlugField(help_text="Platform code.")
    loans = serializers.ListField(child=serializers.IntegerField(), min_length=1, max_length=200)


class SelectResultSerializer(serializers.Serializer):
    loan = serializers.IntegerField()
    publication = serializers.IntegerField(allow_null=True)
    errors = serializers.ListField(child=serializers.CharField())


class PushSerializer(serializers.Serializer):
    dry_run = serializers.BooleanField(
        default=False, help_text="Send nothing; answer the exact payload and the errors."
    )


class DryRunSerializer(serializers.Serializer):
    payload = serializers.JSONField()
    payload_hash = serializers.CharField()
    errors = serializers.DictField(child=serializers.ListField(child=serializers.CharField()))


class WithdrawSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=400)
    anonymise = serializers.BooleanField(default=False)


class EligibleLoanSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    number = serializers.CharField()
    borrower = serializers.CharField(source="borrower.display_name")
    branch = serializers.CharField(source="branch.code")
    product = serializers.CharField(source="product_version.product.name")
    currency = serializers.CharField()
    principal = serializers.DecimalField(max_digits=20, decimal_places=4)
    days_past_due = serializers.IntegerField()
    disbursed_on = serializers.DateField()
    reasons = serializers.ListField(child=serializers.CharField(), source="p2p_reasons")


class StateCountSerializer(serializers.Serializer):
    state = serializers.CharField()
    label = serializers.CharField()
    count = serializers.IntegerField()


class PlatformFiguresSerializer(serializers.Serializer):
    platform = serializers.CharField(source="platform.code")
    name = serializers.CharField(source="platform.name")
    states = StateCountSerializer(many=True)
    total = serializers.IntegerField()
    fundraising = serializers.DictField(
        child=serializers.DecimalField(max_digits=20, decimal_places=4)
    )
    funded = serializers.DictField(child=serializers.DecimalField(max_digits=20, decimal_places=4))
    errors = serializers.IntegerField()
    consent_gaps = serializers.IntegerField()
    pending_journals = serializers.IntegerField()
    open_reports = serializers.IntegerField()
    last_synced_at = serializers.DateTimeField(allow_null=True)


class JournalSerializer(serializers.ModelSerializer):
    platform = serializers.CharField(source="publication.platform.code", read_only=True)
    loan_number = serializers.CharField(source="publication.loan.number", read_only=True)
    approved_by = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = JournalDraft
        fields = [
            "id",
            "publication",
            "platform",
            "loan_number",
            "subject",
            "body",
            "source",
            "status",
            "created_at",
            "approved_by",
            "approved_at",
            "sent_at",
            "platform_journal_id",
            "last_error",
        ]
        read_only_fields = fields


class JournalUpdateSerializer(serializers.Serializer):
    subject = serializers.CharField(max_length=200)
    body = serializers.CharField()


class ReportLineSerializer(serializers.ModelSerializer):
    loan_number = serializers.CharField(source="publication.loan.number", read_only=True)

    class Meta:
        model = RepaymentReportLine
        fields = ["publication", "loan_number", "loan_transaction", "value_date", "amount"]
        read_only_fields = fields


class ReportSerializer(serializers.ModelSerializer):
    platform = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = RepaymentReport
        fields = [
            "id",
            "platform",
            "year",
            "month",
            "currency",
            "status",
            "total",
            "finalised_at",
            "sent_at",
        ]
        read_only_fields = fields


class ReportDetailSerializer(ReportSerializer):
    lines = serializers.SerializerMethodField()

    class Meta(ReportSerializer.Meta):
        fields = [*ReportSerializer.Meta.fields, "lines"]
        read_only_fields = fields

    @extend_schema_field(ReportLineSerializer(many=True))
    def get_lines(self, report):
        return ReportLineSerializer(
            report_lines(self.context["request"].user, report), many=True
        ).data


class ReportBuildSerializer(serializers.Serializer):
    platform = serializers.SlugField(help_text="Platform code.")
    year = serializers.IntegerField(min_value=2000, max_value=2100)
    month = serializers.IntegerField(min_value=1, max_value=12)
