"""Serializers for the parties API. They parse and present; services do the saving."""

from __future__ import annotations

from rest_framework import serializers

from crm.models import PARTY_CONTACT_FIELDS, Enterprise, Party, Person
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
