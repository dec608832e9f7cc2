"""Compliance API of cases, checks and requirements (/api/v1/compliance/).

Cases come risk-ranked with their score's factors and filter like the worklist (open ones unless
a status is asked for); actions assign, propose a solution and close go through
``compliance.cases``. Checks are the latest ones unless ``latest=false``. Scoped like the screens.
"""

from __future__ import annotations

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, serializers, viewsets
from rest_framework.decorators import action
from rest_framework.permissions import BasePermission
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from compliance import cases as services
from compliance.choices import CaseOutcome, Solution
from compliance.filters import CaseFilter, CheckFilter
from compliance.models import Case, ComplianceCheck, OfferRequirement, RegistryRecord
from compliance.selectors import (
    case_owner_candidates,
    checks_visible_to,
    requirements_visible_to,
    worklist,
)
from loans.models import Offer
from mfi.api import object_id
from mfi.permissions import capability_permission
from users.roles import Capability

ComplianceRead = capability_permission(Capability.COMPLIANCE_VIEW, Capability.COMPLIANCE_MANAGE)


class CaseWorker(BasePermission):
    """Case managers, and staff who follow cases up (the service checks they own the case)."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        return bool(
            user
            and user.is_authenticated
            and not user.is_read_only
            and (
                user.has_capability(Capability.COMPLIANCE_MANAGE)
                or user.has_capability(Capability.COMPLIANCE_FOLLOW_UP)
            )
        )


# --- serializers ---------------------------------------------------------------------------------


class EvidenceSerializer(serializers.ModelSerializer):
    source = serializers.SlugRelatedField(slug_field="code", read_only=True)

    class Meta:
        model = RegistryRecord
        fields = ["id", "source", "as_of", "retrieved_at", "valid_until", "status", "data"]


class CheckSerializer(serializers.ModelSerializer):
    kind = serializers.CharField(source="requirement.kind", read_only=True)
    loan_number = serializers.CharField(source="loan.number", read_only=True)
    evidence = EvidenceSerializer(read_only=True)

    class Meta:
        model = ComplianceCheck
        fields = [
            "id",
            "loan",
            "loan_number",
            "party",
            "requirement",
            "kind",
            "status",
            "reason",
            "evidence",
            "evaluated_at",
            "is_latest",
        ]


class CaseSerializer(serializers.ModelSerializer):
    party_name = serializers.CharField(source="party.display_name", read_only=True)
    loan_number = serializers.CharField(source="loan.number", read_only=True, default=None)
    branch = serializers.SlugRelatedField(slug_field="code", read_only=True)
    island = serializers.CharField(source="branch.island", read_only=True)
    owner = serializers.SlugRelatedField(slug_field="username", read_only=True)
    severity_weight = serializers.IntegerField(read_only=True)
    exposure = serializers.DecimalField(max_digits=20, decimal_places=2, read_only=True)
    days_open = serializers.IntegerField(read_only=True)
    days_past_due = serializers.IntegerField(read_only=True)
    risk_score = serializers.DecimalField(max_digits=40, decimal_places=2, read_only=True)
    is_overdue = serializers.BooleanField(read_only=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "number",
            "party",
            "party_name",
            "loan",
            "loan_number",
            "branch",
            "island",
            "kind",
            "severity",
            "status",
            "owner",
            "opened_at",
            "deadline",
            "is_overdue",
            "first_contact_at",
            "proposed_solution",
            "solution_notes",
            "watch_until",
            "outcome",
            "closed_at",
            "opening_check",
            "closing_check",
            "severity_weight",
            "exposure",
            "days_open",
            "days_past_due",
            "risk_score",
        ]
        read_only_fields = fields


class AssignSerializer(serializers.Serializer):
    owner = serializers.IntegerField(help_text="Id of the member of staff who takes the case.")


class SolutionSerializer(serializers.Serializer):
    solution = serializers.ChoiceField(choices=Solution.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    watch_until = serializers.DateField(required=False, allow_null=True, default=None)


class CloseSerializer(serializers.Serializer):
    outcome = serializers.ChoiceField(choices=CaseOutcome.choices)
    check = serializers.IntegerField(
        required=False, allow_null=True, default=None, help_text="Id of the closing check."
    )


class RequirementSerializer(serializers.ModelSerializer):
    offer = serializers.PrimaryKeyRelatedField(queryset=Offer.objects.all())

    class Meta:
        model = OfferRequirement
        fields = ["id", "offer", "kind", "severity", "check_every_days", "threshold", "is_active"]


# --- views ---------------------------------------------------------------------------------------


class CaseViewSet(viewsets.ReadOnlyModelViewSet):
    """Cases in the user's scope, highest risk first; open ones unless ``status`` is given."""

    serializer_class = CaseSerializer
    permission_classes = [ComplianceRead]
    filterset_class = CaseFilter

    def get_queryset(self):
        return worklist(user=self.request.user)

    def get_object(self) -> Case:
        # A case is found whatever the list's default filter (closed ones too).
        case = get_object_or_404(self.get_queryset(), pk=object_id(self.kwargs["pk"]))
        self.check_object_permissions(self.request, case)
        return case

    def _case_response(self) -> Response:
        """The case as it is now, with its risk factors."""
        return Response(CaseSerializer(self.get_object()).data)

    @extend_schema(request=AssignSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def assign(self, request, pk=None):
        case = self.get_object()
        body = AssignSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        owner = case_owner_candidates(case=case).filter(pk=body.validated_data["owner"]).first()
        if owner is None:
            raise serializers.ValidationError({"owner": ["No such member of staff for this case."]})
        services.case_assign(actor=request.user, case=case, owner=owner)
        return self._case_response()

    @extend_schema(request=SolutionSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"], permission_classes=[CaseWorker])
    def propose(self, request, pk=None):
        case = self.get_object()
        body = SolutionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.case_propose_solution(actor=request.user, case=case, **body.validated_data)
        return self._case_response()

    @extend_schema(request=CloseSerializer, responses=CaseSerializer)
    @action(detail=True, methods=["post"])
    def close(self, request, pk=None):
        case = self.get_object()
        body = CloseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        check = None
        if body.validated_data["check"] is not None:
            check = ComplianceCheck.objects.filter(
                pk=body.validated_data["check"], party_id=case.party_id
            ).first()
            if check is None:
                raise serializers.ValidationError({"check": ["No such check for this party."]})
        services.case_close(
            actor=request.user, case=case, outcome=body.validated_data["outcome"], check=check
        )
        return self._case_response()


class CheckViewSet(viewsets.ReadOnlyModelViewSet):
    """Evaluations of requirements, newest first; the latest ones unless ``latest=false``."""

    serializer_class = CheckSerializer
    permission_classes = [ComplianceRead]
    filterset_class = CheckFilter

    def get_queryset(self):
        return checks_visible_to(self.request.user).order_by("-evaluated_at", "-pk")


class RequirementViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    """Requirements of offers: read by compliance readers, written by compliance managers."""

    serializer_class = RequirementSerializer
    permission_classes = [ComplianceRead]
    filterset_fields = ["offer", "kind", "is_active"]

    def get_queryset(self):
        return requirements_visible_to(self.request.user)

    def perform_create(self, serializer):
        data = serializer.validated_data
        serializer.instance = services.requirement_create(
            actor=self.request.user,
            offer=data["offer"],
            kind=data["kind"],
            severity=data["severity"],
            check_every_days=data.get("check_every_days", 30),
            threshold=data.get("threshold"),
        )

    def perform_update(self, serializer):
        current, data = serializer.instance, serializer.validated_data
        if (
            data.get("offer", current.offer) != current.offer
            or data.get("kind", current.kind) != current.kind
        ):
            raise serializers.ValidationError(
                {"kind": ["The offer and kind of a requirement cannot change."]}
            )
        serializer.instance = services.requirement_update(
            actor=self.request.user,
            requirement=current,
            severity=data.get("severity", current.severity),
            check_every_days=data.get("check_every_days", current.check_every_days),
            threshold=data.get("threshold", current.threshold),
            is_active=data.get("is_active"),
        )


router = SimpleRouter()
router.register("cases", CaseViewSet, basename="compliance-case")
router.register("checks", CheckViewSet, basename="compliance-check")
router.register("requirements", RequirementViewSet, basename="compliance-requirement")

urlpatterns = router.urls
