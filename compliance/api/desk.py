"""Service-desk API: check in a walk-in, today's queue, start / finish / left, daily figures.

``?branch=<id>`` picks the desk (default: the caller's own branch); head-office callers must
give it. A branch outside the caller's scope is a 404.
"""

from __future__ import annotations

from django.urls import path
from django.utils import timezone
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from compliance.choices import DeskReason, HandOff, RequirementKind, Severity
from compliance.desk import (
    desk_branch_for,
    desk_check_in,
    desk_day_figures,
    desk_figure_branches,
    desk_finish,
    desk_mark_left,
    desk_start_service,
    desk_wait_minutes,
    parse_day,
)
from compliance.models import DeskVisit
from compliance.scoping import desk_visits_visible_to
from crm.selectors import party_get_for_user
from mfi.permissions import capability_permission
from users.roles import Capability

DeskPermission = capability_permission(Capability.DESK, Capability.DESK)
BRANCH_PARAMETER = OpenApiParameter("branch", int, description="Branch id (default: your own)")
DATE_PARAMETER = OpenApiParameter("date", str, description="YYYY-MM-DD (default: today)")


class DeskVisitSerializer(serializers.ModelSerializer):
    visitor = serializers.CharField(source="visitor_label", read_only=True)
    served_by = serializers.SlugRelatedField(slug_field="username", read_only=True)
    wait_minutes = serializers.SerializerMethodField()

    class Meta:
        model = DeskVisit
        fields = [
            "id",
            "branch",
            "business_date",
            "ticket",
            "party",
            "visitor",
            "visitor_name",
            "visitor_phone",
            "reason",
            "status",
            "checked_in_at",
            "service_started_at",
            "served_at",
            "wait_minutes",
            "served_by",
            "notes",
            "hand_off",
            "case",
            "task",
            "interaction",
        ]
        read_only_fields = fields

    def get_wait_minutes(self, visit: DeskVisit) -> int:
        return desk_wait_minutes(visit)


class CheckInSerializer(serializers.Serializer):
    """A known client by ``party`` id, or a new visitor by name (and phone)."""

    reason = serializers.ChoiceField(choices=DeskReason.choices)
    party = serializers.IntegerField(required=False, allow_null=True)
    visitor_name = serializers.CharField(required=False, allow_blank=True, default="")
    visitor_phone = serializers.CharField(required=False, allow_blank=True, default="")
    notes = serializers.CharField(required=False, allow_blank=True, default="")


class FinishSerializer(serializers.Serializer):
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    hand_off = serializers.ChoiceField(choices=HandOff.choices, default=HandOff.NONE)
    case_kind = serializers.ChoiceField(
        choices=RequirementKind.choices, required=False, allow_null=True
    )
    severity = serializers.ChoiceField(choices=Severity.choices, required=False, allow_null=True)
    task_title = serializers.CharField(required=False, allow_blank=True, default="")
    task_due = serializers.DateField(required=False, allow_null=True)
    appointment_at = serializers.DateTimeField(required=False, allow_null=True)


def _desk_branch(request, branches=None):
    branch = desk_branch_for(request.user, request.query_params.get("branch"), branches=branches)
    if branch is None:
        raise exceptions.ValidationError({"branch": [_("Choose the branch of the desk.")]})
    return branch


def _day(request):
    raw = request.query_params.get("date")
    day = parse_day(raw)
    if raw and day is None:
        raise exceptions.ValidationError({"date": [_("Give the date as YYYY-MM-DD.")]})
    return day or timezone.localdate()


class DeskVisitViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The desk's visits of a day by ticket (``?branch=&date=``, default today). POST checks a
    visitor in; ``start``, ``finish`` and ``left`` move a visit along the queue."""

    serializer_class = DeskVisitSerializer
    permission_classes = [DeskPermission]
    pagination_class = None

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema has no user
            return DeskVisit.objects.none()
        visits = desk_visits_visible_to(self.request.user).order_by("business_date", "ticket")
        if self.action == "list":
            return visits.filter(
                branch=_desk_branch(self.request), business_date=_day(self.request)
            )
        return visits

    @extend_schema(parameters=[BRANCH_PARAMETER, DATE_PARAMETER])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)

    @extend_schema(
        parameters=[BRANCH_PARAMETER],
        request=CheckInSerializer,
        responses={201: DeskVisitSerializer},
    )
    def create(self, request, *args, **kwargs):
        body = CheckInSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        party_id = data.pop("party", None)
        party = party_get_for_user(user=request.user, party_id=party_id) if party_id else None
        visit = desk_check_in(actor=request.user, branch=_desk_branch(request), party=party, **data)
        return Response(DeskVisitSerializer(visit).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=DeskVisitSerializer)
    @action(detail=True, methods=["post"])
    def start(self, request, pk=None):
        visit = desk_start_service(actor=request.user, visit=self.get_object())
        return Response(DeskVisitSerializer(visit).data)

    @extend_schema(request=FinishSerializer, responses=DeskVisitSerializer)
    @action(detail=True, methods=["post"])
    def finish(self, request, pk=None):
        body = FinishSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        visit = desk_finish(actor=request.user, visit=self.get_object(), **body.validated_data)
        return Response(DeskVisitSerializer(visit).data)

    @extend_schema(request=None, responses=DeskVisitSerializer)
    @action(detail=True, methods=["post"])
    def left(self, request, pk=None):
        visit = desk_mark_left(actor=request.user, visit=self.get_object())
        return Response(DeskVisitSerializer(visit).data)


def _minutes(figures: dict) -> dict:
    return {key: None if value is None else str(value) for key, value in figures.items()}


class DeskFiguresView(APIView):
    """A branch's desk on a day: visits, served, left, wait and service minutes (average,
    median, longest; strings with one decimal), by reason and by member of staff."""

    @extend_schema(parameters=[BRANCH_PARAMETER, DATE_PARAMETER], responses=dict)
    def get(self, request):
        branches = desk_figure_branches(request.user)
        if not branches.exists():
            raise exceptions.PermissionDenied
        figures = desk_day_figures(branch=_desk_branch(request, branches), day=_day(request))
        return Response(
            {
                "branch": figures.branch.pk,
                "date": figures.day,
                "visits": figures.visits,
                "waiting": figures.waiting,
                "in_service": figures.in_service,
                "served": figures.served,
                "left": figures.left,
                "wait_minutes": _minutes(figures.wait),
                "service_minutes": _minutes(figures.service),
                "by_reason": [
                    {**row, "label": str(row["label"]), "wait": _minutes(row["wait"])}
                    for row in figures.by_reason
                ],
                "by_staff": [
                    {**row, "service": _minutes(row["service"])} for row in figures.by_staff
                ],
            }
        )


router = SimpleRouter()
router.register("desk/visits", DeskVisitViewSet, basename="compliance-desk-visit")

urlpatterns = [
    path("desk/figures/", DeskFiguresView.as_view(), name="compliance-desk-figures"),
    *router.urls,
]
