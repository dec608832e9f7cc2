"""The manager dashboard as JSON (``GET /api/v1/compliance/dashboard/``): the same figures as
the screen, each count with the link to the list of rows behind it."""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.decorators import api_view, permission_classes
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from compliance.dashboards import DashboardFilterForm, dashboard_build
from mfi.permissions import capability_permission
from users.roles import Capability

DashboardRead = capability_permission(Capability.COMPLIANCE_VIEW, Capability.COMPLIANCE_VIEW)


class DrilldownURLField(serializers.CharField):
    """The absolute URL of the drill-down list (an HTML page with a ``?format=csv`` export)."""

    def to_representation(self, value):
        request = self.context.get("request")
        return request.build_absolute_uri(value) if request else value


class FigureSerializer(serializers.Serializer):
    count = serializers.IntegerField()
    url = DrilldownURLField(help_text="The rows behind the count (add format=csv for CSV).")


RATIO = {"max_digits": 7, "decimal_places": 4, "allow_null": True}
HOURS = {"max_digits": 12, "decimal_places": 1, "allow_null": True}


class FiltersSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    branch = serializers.IntegerField(source="branch.pk", allow_null=True)
    offer = serializers.IntegerField(source="offer.pk", allow_null=True)
    today = serializers.DateField(help_text="The date position figures are computed for.")


class CoverageSerializer(serializers.Serializer):
    kind = serializers.CharField()
    label = serializers.CharField()
    fresh = FigureSerializer()
    stale = FigureSerializer()
    unknown = FigureSerializer()
    fresh_share = serializers.DecimalField(**RATIO)


class GroupSerializer(serializers.Serializer):
    key = serializers.CharField()
    label = serializers.CharField()
    open_cases = FigureSerializer()
    non_compliant_checks = FigureSerializer()


class NonComplianceSerializer(serializers.Serializer):
    offer = GroupSerializer(many=True)
    island = GroupSerializer(many=True)
    sector = GroupSerializer(many=True)
    agent = GroupSerializer(many=True)


class ParSerializer(serializers.Serializer):
    key = serializers.CharField()
    offer = serializers.CharField()
    currency = serializers.CharField()
    loans = FigureSerializer()
    outstanding_principal = serializers.DecimalField(max_digits=20, decimal_places=2)
    par1 = serializers.DecimalField(**RATIO)
    par30 = serializers.DecimalField(**RATIO)
    par90 = serializers.DecimalField(**RATIO)
    par1_loans = FigureSerializer()
    par30_loans = FigureSerializer()
    par90_loans = FigureSerializer()


class DelaysSerializer(serializers.Serializer):
    opened = FigureSerializer()
    contacted = FigureSerializer()
    not_contacted = FigureSerializer()
    median_hours = serializers.DecimalField(**HOURS)
    average_hours = serializers.DecimalField(**HOURS)
    median_days = serializers.DecimalField(**HOURS)
    average_days = serializers.DecimalField(**HOURS)


class CureSerializer(serializers.Serializer):
    closed = FigureSerializer()
    cured = FigureSerializer()
    rate = serializers.DecimalField(**RATIO)


class DeskSerializer(serializers.Serializer):
    day = serializers.DateField(allow_null=True)
    visits = FigureSerializer()
    waited = FigureSerializer()
    left = FigureSerializer()
    average_wait_minutes = serializers.DecimalField(**HOURS)
    median_wait_minutes = serializers.DecimalField(**HOURS)
    average_service_minutes = serializers.DecimalField(**HOURS)


class AgentSerializer(serializers.Serializer):
    key = serializers.CharField()
    agent = serializers.CharField()
    follow_ups = FigureSerializer()
    cases_contacted = FigureSerializer()
    cases_closed = FigureSerializer()


class SourceHealthSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="source.pk")
    code = serializers.CharField(source="source.code")
    name = serializers.CharField(source="source.name")
    kind = serializers.CharField(source="source.kind")
    is_available = serializers.BooleanField()
    unavailable_since = serializers.DateTimeField(source="source.unavailable_since")
    last_success_at = serializers.DateTimeField(source="source.last_success_at")
    last_error = serializers.CharField(source="source.last_error")
    failures = FigureSerializer()


class DashboardSerializer(serializers.Serializer):
    filters = FiltersSerializer()
    active_loans = FigureSerializer()
    coverage = CoverageSerializer(many=True)
    open_cases = FigureSerializer()
    non_compliant_checks = FigureSerializer()
    non_compliance = NonComplianceSerializer()
    par = ParSerializer(many=True)
    delays = DelaysSerializer()
    cure = CureSerializer()
    desk = DeskSerializer(many=True)
    desk_total = DeskSerializer()
    agents = AgentSerializer(many=True)
    sources = SourceHealthSerializer(many=True)
    position_taken_at = serializers.DateTimeField(
        allow_null=True,
        help_text="When coverage, non-compliance and PAR were counted (a snapshot a few "
        "minutes old at most); null when counted live for this request.",
    )


@extend_schema(
    operation_id="compliance_dashboard",
    parameters=[
        OpenApiParameter("date_from", OpenApiTypes.DATE, description="Default: 90 days ago."),
        OpenApiParameter("date_to", OpenApiTypes.DATE, description="Default: today."),
        OpenApiParameter("branch", OpenApiTypes.INT, description="A branch of your scope."),
        OpenApiParameter("offer", OpenApiTypes.INT),
    ],
    responses=DashboardSerializer,
    description="The compliance manager's dashboard figures for the period, branch and offer.",
)
@api_view(["GET"])
@permission_classes([DashboardRead])
def dashboard_view(request):
    form = DashboardFilterForm(request.query_params, user=request.user)
    if not form.is_valid():
        raise ValidationError({field: list(errors) for field, errors in form.errors.items()})
    dashboard = dashboard_build(form.filters())
    return Response(DashboardSerializer(dashboard, context={"request": request}).data)


urlpatterns = [path("dashboard/", dashboard_view, name="compliance-dashboard")]
