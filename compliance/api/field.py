"""Field follow-up API: post a call or visit (multipart, with an optional photo), read the
follow-ups in scope, and the caller's day list."""

from __future__ import annotations

from django.urls import path
from django.utils.translation import gettext as _
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import exceptions, mixins, serializers, status, viewsets
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter
from rest_framework.views import APIView

from compliance.choices import FollowUpKind, FollowUpOutcome
from compliance.field import (
    field_day_list,
    follow_up_record,
    follow_ups_for_user,
    location_from_query,
)
from compliance.models import FollowUp
from compliance.scoping import case_get_for_user
from crm.selectors import party_get_for_user
from mfi.permissions import capability_permission
from users.roles import Capability


class FollowUpPermission(BasePermission):
    """Reading: compliance readers and field staff; writing: field staff."""

    def has_permission(self, request, view) -> bool:
        user = request.user
        if not user or not user.is_authenticated:
            return False
        if request.method in SAFE_METHODS and user.has_capability(Capability.COMPLIANCE_VIEW):
            return True
        return user.has_capability(Capability.COMPLIANCE_FOLLOW_UP)


class FollowUpSerializer(serializers.ModelSerializer):
    party_name = serializers.CharField(source="party.display_name", read_only=True)
    case_number = serializers.CharField(source="case.number", read_only=True, default=None)
    author = serializers.SlugRelatedField(slug_field="username", read_only=True)
    has_photo = serializers.SerializerMethodField()

    class Meta:
        model = FollowUp
        fields = [
            "id",
            "client_uuid",
            "party",
            "party_name",
            "case",
            "case_number",
            "kind",
            "outcome",
            "notes",
            "next_action_date",
            "latitude",
            "longitude",
            "accuracy_m",
            "has_photo",
            "occurred_at",
            "author",
            "interaction",
            "created_at",
        ]
        read_only_fields = fields

    def get_has_photo(self, follow_up: FollowUp) -> bool:
        return bool(follow_up.photo)


class FollowUpInputSerializer(serializers.Serializer):
    """A call or visit from a phone. Give the ``case`` (its party is implied) or the ``party``."""

    client_uuid = serializers.UUIDField()
    case = serializers.IntegerField(required=False, allow_null=True)
    party = serializers.IntegerField(required=False, allow_null=True)
    kind = serializers.ChoiceField(choices=FollowUpKind.choices)
    outcome = serializers.ChoiceField(choices=FollowUpOutcome.choices)
    notes = serializers.CharField(required=False, allow_blank=True, default="")
    occurred_at = serializers.DateTimeField(required=False, allow_null=True)
    next_action_date = serializers.DateField(required=False, allow_null=True)
    latitude = serializers.FloatField(required=False, allow_null=True)
    longitude = serializers.FloatField(required=False, allow_null=True)
    accuracy_m = serializers.FloatField(required=False, allow_null=True)
    photo = serializers.FileField(required=False, allow_null=True)


def _subject(user, data: dict):
    """The case and the party the body names, in the caller's scope (404 otherwise)."""
    case_id, party_id = data.pop("case", None), data.pop("party", None)
    case = case_get_for_user(user, case_id) if case_id else None
    if party_id:
        return case, party_get_for_user(user=user, party_id=party_id)
    if case is None:
        raise exceptions.ValidationError({"party": [_("Give the case or the party.")]})
    return case, case.party


class FollowUpViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Follow-ups in the caller's scope, newest first (``?party=``, ``?case=``).

    POST records a call or visit: 201 with the follow-up; 409 with the existing id when the same
    ``client_uuid`` was already received (nothing is created twice)."""

    serializer_class = FollowUpSerializer
    permission_classes = [FollowUpPermission]
    parser_classes = [MultiPartParser, FormParser, JSONParser]

    def get_queryset(self):
        params = self.request.query_params
        return follow_ups_for_user(
            self.request.user,
            party_id=int(params["party"]) if params.get("party", "").isdigit() else None,
            case_id=int(params["case"]) if params.get("case", "").isdigit() else None,
        )

    @extend_schema(
        request={"multipart/form-data": FollowUpInputSerializer},
        responses={201: FollowUpSerializer, 409: None},
    )
    def create(self, request, *args, **kwargs):
        body = FollowUpInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        case, party = _subject(request.user, data)
        follow_up, created = follow_up_record(actor=request.user, case=case, party=party, **data)
        if not created:
            return Response(
                {"detail": _("This follow-up was already received."), "id": follow_up.pk},
                status=status.HTTP_409_CONFLICT,
            )
        return Response(FollowUpSerializer(follow_up).data, status=status.HTTP_201_CREATED)


class DayItemSerializer(serializers.Serializer):
    kind = serializers.CharField()
    due = serializers.DateField()
    is_overdue = serializers.BooleanField()
    distance_km = serializers.FloatField(allow_null=True)
    party = serializers.SerializerMethodField()
    case = serializers.SerializerMethodField()
    task = serializers.SerializerMethodField()

    def get_party(self, item) -> dict:
        party = item.party
        return {
            "id": party.pk,
            "display_name": party.display_name,
            "phone": party.phone,
            "address": party.address,
            "municipality": party.municipality,
        }

    def get_case(self, item) -> dict | None:
        case = item.case
        if case is None:
            return None
        return {
            "id": case.pk,
            "number": case.number,
            "kind": case.kind,
            "severity": case.severity,
            "status": case.status,
            "deadline": case.deadline.isoformat(),
        }

    def get_task(self, item) -> dict | None:
        task = item.task
        return None if task is None else {"id": task.pk, "title": task.title}


class FieldDayView(APIView):
    """The caller's day: open cases they own and client tasks due today or overdue. With
    ``?lat=&lon=`` nearest first (clients never located last, by deadline)."""

    permission_classes = [
        capability_permission(Capability.COMPLIANCE_FOLLOW_UP, Capability.COMPLIANCE_FOLLOW_UP)
    ]

    @extend_schema(
        parameters=[
            OpenApiParameter("lat", float, description="Your latitude (decimal degrees)"),
            OpenApiParameter("lon", float, description="Your longitude (decimal degrees)"),
        ],
        responses=DayItemSerializer(many=True),
    )
    def get(self, request):
        latitude, longitude = location_from_query(request.query_params)
        items = field_day_list(user=request.user, latitude=latitude, longitude=longitude)
        return Response(DayItemSerializer(items, many=True).data)


router = SimpleRouter()
router.register("follow-ups", FollowUpViewSet, basename="compliance-follow-up")

urlpatterns = [
    path("field/day/", FieldDayView.as_view(), name="compliance-field-day"),
    *router.urls,
]
