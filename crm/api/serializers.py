"""Serializers for the parties API. They parse and present; services do the saving."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_serializer
from rest_framework import serializers

from crm.choices import InteractionKind, InteractionOutcome
from crm.models import PARTY_CONTACT_FIELDS, Enterprise, Interaction, Party, Person, Task
from users.models import Branch, User


class PartySerializer(serializers.ModelSerializer):
    branch = serializers.SlugRelatedField(slug_field="code", read_only=True)
    assigned_to = serializers.SlugRelatedField(slug_field="username", read_only=True)

    class Meta:
        model = Party
        fields = [
            "id",
            "kind",
            "display_name",
            "relationship",
            "branch",
            "assigned_to",
            "nif",
            "social_security_number",
            "phone",
            "email",
            "island",
            "municipality",
            "address",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields


class _PartyWriteSerializer(serializers.ModelSerializer):
    branch = serializers.SlugRelatedField(slug_field="code", queryset=Branch.objects.all())
    assigned_to = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
    )
    # Identifiers accept separators; the service normalises and checks uniqueness.
    nif = serializers.CharField(max_length=30, required=False, allow_blank=True)
    social_security_number = serializers.CharField(max_length=30, required=False, allow_blank=True)
    phone = serializers.CharField(max_length=30, required=False, allow_blank=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        request = self.context.get("request")
        if request is not None and request.user.is_authenticated:
            from users.selectors import branches_visible_to, staff_assignable_by

            self.fields["branch"].queryset = branches_visible_to(request.user)
            self.fields["assigned_to"].queryset = staff_assignable_by(request.user)


class PersonSerializer(_PartyWriteSerializer):
    civil_id = serializers.CharField(max_length=30, required=False, allow_blank=True)

    class Meta:
        model = Person
        fields = [
            "id",
            "display_name",
            "first_name",
            "last_name",
            "gender",
            "birth_date",
            "civil_id",
            *PARTY_CONTACT_FIELDS,
        ]
        read_only_fields = ["id", "display_name"]


class EnterpriseSerializer(_PartyWriteSerializer):
    class Meta:
        model = Enterprise
        fields = [
            "id",
            "display_name",
            "legal_name",
            "trade_name",
            "sector",
            "is_formal",
            "employees",
            *PARTY_CONTACT_FIELDS,
        ]
        read_only_fields = ["id", "display_name"]


class InteractionSerializer(serializers.ModelSerializer):
    """An interaction as the API shows it; ``follow_up_tasks`` are the ids of the tasks its
    next-action date created."""

    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    loan = serializers.SlugRelatedField(slug_field="number", read_only=True)
    follow_up_tasks = serializers.PrimaryKeyRelatedField(many=True, read_only=True)

    class Meta:
        model = Interaction
        fields = [
            "id",
            "party",
            "kind",
            "occurred_at",
            "summary",
            "outcome",
            "notes",
            "author",
            "loan",
            "next_action_date",
            "follow_up_tasks",
            "created_at",
        ]
        read_only_fields = fields


# The request body is the "InteractionRequest" component, so the kind and outcome choice sets
# are named after one component only.
@extend_schema_serializer(component_name="Interaction")
class InteractionInputSerializer(serializers.Serializer):
    """What a client posts to record an interaction; the service checks scope and rules."""

    party = serializers.IntegerField(min_value=1)
    kind = serializers.ChoiceField(choices=InteractionKind.choices)
    summary = serializers.CharField(max_length=200)
    outcome = serializers.ChoiceField(
        choices=InteractionOutcome.choices, required=False, allow_blank=True, default=""
    )
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False, allow_null=True, default=None)
    loan = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    next_action_date = serializers.DateField(required=False, allow_null=True, default=None)
    next_action_title = serializers.CharField(
        max_length=200, required=False, allow_blank=True, default=""
    )
    assignee = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
    )


class TaskSerializer(serializers.ModelSerializer):
    assigned_to = serializers.SlugRelatedField(slug_field="username", read_only=True)
    created_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    loan = serializers.SlugRelatedField(slug_field="number", read_only=True)

    class Meta:
        model = Task
        fields = [
            "id",
            "title",
            "due_date",
            "status",
            "assigned_to",
            "party",
            "loan",
            "source_interaction",
            "created_by",
            "created_at",
            "completed_at",
        ]
        read_only_fields = fields


@extend_schema_serializer(component_name="Task")
class TaskInputSerializer(serializers.Serializer):
    """A new task: for the caller unless ``assigned_to`` names follow-up staff of their branches."""

    title = serializers.CharField(max_length=200)
    due_date = serializers.DateField()
    assigned_to = serializers.SlugRelatedField(
        slug_field="username",
        queryset=User.objects.filter(is_active=True),
        required=False,
        allow_null=True,
        default=None,
    )
    party = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
    loan = serializers.IntegerField(min_value=1, required=False, allow_null=True, default=None)
