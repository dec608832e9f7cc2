"""Coaching API: engagements and sessions in the user's scope; creation goes through the
services (a request, a logged session), and so do the engagement's status moves."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from coaching import services
from coaching.api.serializers import (
    CoachingInvoiceDetailSerializer,
    CoachingInvoiceSerializer,
    CoachingPaymentSerializer,
    EngagementCreateSerializer,
    EngagementSerializer,
    EngagementTransitionSerializer,
    InvoiceIssueSerializer,
    InvoicePaymentSerializer,
    SessionCreateSerializer,
    SessionSerializer,
)
from coaching.selectors import (
    engagement_get_for_user,
    engagements_visible_to,
    invoice_get_for_user,
    invoice_list,
    sessions_visible_to,
)
from crm.selectors import party_get_for_user
from mfi.idempotency import idempotent
from mfi.permissions import capability_permission
from users.roles import Capability

EngagementPermission = capability_permission(Capability.COACHING_VIEW, Capability.COACHING_MANAGE)
# Moves need the session-logging capability (coaches and coaching managers); the service then
# checks that a coach moves only their own engagements.
EngagementMovePermission = capability_permission(
    Capability.COACHING_VIEW, Capability.COACHING_SESSION_LOG
)
SessionPermission = capability_permission(Capability.COACHING_VIEW, Capability.COACHING_SESSION_LOG)


class EngagementViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Coaching engagements in the user's scope. POST requests coaching for a party."""

    serializer_class = EngagementSerializer
    permission_classes = [EngagementPermission]
    filterset_fields = ["status", "coach", "party"]

    def get_queryset(self):
        return engagements_visible_to(self.request.user).order_by("-pk")

    @extend_schema(request=EngagementCreateSerializer, responses={201: EngagementSerializer})
    def create(self, request, *args, **kwargs):
        body = EngagementCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        party = party_get_for_user(user=request.user, party_id=data.pop("party"))
        engagement = services.engagement_request(actor=request.user, party=party, **data)
        return self._engagement_response(engagement.pk, status.HTTP_201_CREATED)

    def _engagement_response(self, pk: int, code=status.HTTP_200_OK):
        engagement = engagement_get_for_user(user=self.request.user, engagement_id=pk)
        return Response(EngagementSerializer(engagement).data, status=code)

    @extend_schema(request=EngagementTransitionSerializer, responses=EngagementSerializer)
    @action(detail=True, methods=["post"], permission_classes=[EngagementMovePermission])
    def transition(self, request, pk=None):
        engagement = self.get_object()  # out of scope is a 404 before the body says anything
        body = EngagementTransitionSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.engagement_transition(
            actor=request.user,
            engagement=engagement,
            to_status=body.validated_data["status"],
            on=body.validated_data.get("on"),
            reason=body.validated_data["reason"],
        )
        return self._engagement_response(engagement.pk)


class SessionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Coaching sessions of the engagements in the user's scope. POST logs a session."""

    serializer_class = SessionSerializer
    permission_classes = [SessionPermission]
    filterset_fields = ["status", "engagement", "mode"]

    def get_queryset(self):
        return sessions_visible_to(self.request.user).order_by("-scheduled_at", "-pk")

    @extend_schema(request=SessionCreateSerializer, responses={201: SessionSerializer})
    def create(self, request, *args, **kwargs):
        body = SessionCreateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        engagement = engagement_get_for_user(
            user=request.user, engagement_id=data.pop("engagement")
        )
        items = [(item["text"], item.get("due_on")) for item in data.pop("action_items")]
        session = services.session_log(
            actor=request.user, engagement=engagement, action_items=items, **data
        )
        session = sessions_visible_to(request.user).get(pk=session.pk)
        return Response(SessionSerializer(session).data, status=status.HTTP_201_CREATED)


InvoicePermission = capability_permission(Capability.COACHING_MANAGE, Capability.COACHING_MANAGE)


class InvoiceViewSet(viewsets.ReadOnlyModelViewSet):
    """Coaching invoices in the user's scope (as on the invoice list page). POST ``issue/``
    invoices an engagement's unbilled sessions; POST ``{id}/payments/`` records a payment.
    Amounts are decimal strings at the currency's precision."""

    permission_classes = [InvoicePermission]
    filterset_fields = ["status", "engagement", "party"]

    def get_queryset(self):
        invoices = invoice_list(user=self.request.user)
        if self.action == "retrieve":
            invoices = invoices.prefetch_related("lines", "payments")
        return invoices

    def get_serializer_class(self):
        if self.action == "retrieve":
            return CoachingInvoiceDetailSerializer
        return CoachingInvoiceSerializer

    def _invoice_response(self, pk: int, code=status.HTTP_200_OK):
        invoice = invoice_get_for_user(user=self.request.user, invoice_id=pk)
        return Response(CoachingInvoiceDetailSerializer(invoice).data, status=code)

    @extend_schema(
        request=InvoiceIssueSerializer,
        responses={201: CoachingInvoiceDetailSerializer},
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)
        ],
    )
    @action(detail=False, methods=["post"])
    @idempotent
    def issue(self, request):
        body = InvoiceIssueSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        engagement = engagement_get_for_user(
            user=request.user, engagement_id=body.validated_data["engagement"]
        )
        invoice = services.invoice_for_engagement(
            actor=request.user, engagement=engagement, issue_date=body.validated_data["issue_date"]
        )
        return self._invoice_response(invoice.pk, status.HTTP_201_CREATED)

    @extend_schema(
        request=InvoicePaymentSerializer,
        responses={201: CoachingPaymentSerializer},
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)
        ],
    )
    @action(detail=True, methods=["post"])
    @idempotent
    def payments(self, request, pk=None):
        invoice = self.get_object()
        body = InvoicePaymentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        payment = services.payment_record(
            actor=request.user, invoice=invoice, **body.validated_data
        )
        return Response(CoachingPaymentSerializer(payment).data, status=status.HTTP_201_CREATED)
