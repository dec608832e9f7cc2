"""P2P API (/api/v1/p2p/): publications (list, detail, select, validate, push with dry run,
withdraw, profile update), eligible loans, dashboard figures, news and repayment reports.
Scoped like the screens; every change goes through one service."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import APIException
from rest_framework.response import Response
from rest_framework.views import APIView

from loans.models import Loan
from mfi.api import object_id, query_params
from mfi.permissions import capability_permission
from p2p_export import journals, reconciliation, services
from p2p_export.api import serializers as s
from p2p_export.choices import LookupKind, PublicationState
from p2p_export.forms import EligibilityForm
from p2p_export.http import TransientError
from p2p_export.selectors import (
    EligibilityCriteria,
    dashboard_figures,
    eligible_candidates,
    ineligibility_reasons,
    journals_visible_to,
    platform_get_for_user,
    platforms_visible_to,
    publication_get_for_user,
    publication_search,
    reports_visible_to,
)
from users.roles import Capability

P2PManage = capability_permission(Capability.P2P_VIEW, Capability.P2P_MANAGE)


class PlatformUnavailable(APIException):
    status_code = 503
    default_detail = "The platform could not be reached; try again later."
    default_code = "platform_unavailable"


def _platform(user, code: str):
    platform = platforms_visible_to(user, active_only=False).filter(code=code).first()
    if platform is None:
        raise serializers.ValidationError({"platform": ["No such platform."]})
    return platform


def _flag(value: str | None) -> bool:
    return (value or "").lower() in {"1", "true", "yes", "on"}


PUBLICATION_FILTERS = [
    OpenApiParameter("platform", str, description="Platform code."),
    OpenApiParameter("state", str, enum=PublicationState.values),
    OpenApiParameter("has_error", bool, description="Only profiles with errors to fix."),
    OpenApiParameter("consent_gap", bool, description="Only profiles missing a consent."),
    OpenApiParameter("q", str, description="Loan number or first name."),
]


@extend_schema(parameters=PUBLICATION_FILTERS)
class PublicationViewSet(viewsets.ReadOnlyModelViewSet):
    """Publications in the user's scope, most recently changed first."""

    permission_classes = [P2PManage]
    serializer_class = s.PublicationSerializer
    filter_backends: list = []

    def get_queryset(self):
        query = query_params(self.request)
        code = query.get("platform")
        return publication_search(
            self.request.user,
            platform=_platform(self.request.user, code) if code else None,
            state=query.get("state", "") if query.get("state") in PublicationState.values else "",
            has_error=_flag(query.get("has_error")),
            consent_gap=_flag(query.get("consent_gap")),
            text=query.get("q", ""),
        )

    def get_serializer_class(self):
        if self.action == "list":
            return s.PublicationSerializer
        return s.PublicationDetailSerializer

    def get_object(self):
        publication = publication_get_for_user(self.request.user, object_id(self.kwargs["pk"]))
        self.check_object_permissions(self.request, publication)
        return publication

    def _fresh(self, publication) -> Response:
        return Response(
            s.PublicationDetailSerializer(
                publication_get_for_user(self.request.user, publication.pk)
            ).data
        )

    @extend_schema(request=s.SelectSerializer, responses={201: s.SelectResultSerializer(many=True)})
    @action(detail=False, methods=["post"])
    def select(self, request):
        """Select loans for a platform; each loan is answered on its own (refusals included)."""
        body = s.SelectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        platform = _platform(request.user, body.validated_data["platform"])
        visible = eligible_candidates(user=request.user, criteria=EligibilityCriteria(platform))
        loans = Loan.objects.in_bulk(body.validated_data["loans"])
        in_scope = set(visible.filter(pk__in=list(loans)).values_list("pk", flat=True))
        results = []
        for loan_id in body.validated_data["loans"]:
            if loan_id not in in_scope:
                results.append(
                    {"loan": loan_id, "publication": None, "errors": ["No such eligible loan."]}
                )
                continue
            try:
                publication = services.publication_select(
                    actor=request.user, platform=platform, loan=loans[loan_id]
                )
            except ValidationError as exc:
                results.append({"loan": loan_id, "publication": None, "errors": exc.messages})
            else:
                results.append({"loan": loan_id, "publication": publication.pk, "errors": []})
        return Response(s.SelectResultSerializer(results, many=True).data, status=201)

    @extend_schema(request=None, responses=s.PublicationDetailSerializer)
    @action(detail=True, methods=["post"])
    def validate(self, request, pk=None):
        """Check the profile against the platform's rules and the consent gate (400 with the
        messages per field when it fails; they are also stored on the publication)."""
        publication = self.get_object()
        services.publication_validate(actor=request.user, publication=publication)
        return self._fresh(publication)

    @extend_schema(
        request=s.PushSerializer,
        responses={200: s.DryRunSerializer, 202: s.PublicationDetailSerializer},
    )
    @action(detail=True, methods=["post"])
    def push(self, request, pk=None):
        """Queue the push of a validated profile (202), or with ``dry_run`` answer the exact
        payload and the errors without sending or recording anything (200)."""
        publication = self.get_object()
        body = s.PushSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if body.validated_data["dry_run"]:
            outcome = services.publication_push(
                actor=request.user, publication=publication, dry_run=True
            )
            data = {
                "payload": outcome.payload,
                "payload_hash": outcome.payload_hash,
                "errors": outcome.errors,
            }
            return Response(s.DryRunSerializer(data).data)
        services.publication_push_request(actor=request.user, publication=publication)
        response = self._fresh(publication)
        response.status_code = status.HTTP_202_ACCEPTED
        return response

    @extend_schema(request=s.WithdrawSerializer, responses=s.PublicationDetailSerializer)
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Withdraw the profile (a takedown request when the platform holds a copy);
        ``anonymise`` also anonymises our copy (consent withdrawn)."""
        publication = self.get_object()
        body = s.WithdrawSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        services.publication_withdraw(
            actor=request.user, publication=publication, **body.validated_data
        )
        return self._fresh(publication)

    @extend_schema(request=s.ProfileUpdateSerializer, responses=s.PublicationDetailSerializer)
    @action(detail=True, methods=["patch"])
    def profile(self, request, pk=None):
        """Change profile fields; lookups by the platform's ids. The profile must be validated
        again afterwards."""
        publication = self.get_object()
        body = s.ProfileUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        kinds = {
            "activity": LookupKind.ACTIVITY,
            "theme": LookupKind.THEME,
            "location": LookupKind.LOCATION,
        }
        for name, kind in kinds.items():
            if name in data and data[name] is not None:
                lookup = publication.platform.lookups.filter(
                    kind=kind, external_id=data[name]
                ).first()
                if lookup is None:
                    raise serializers.ValidationError({name: ["Choose from this platform's list."]})
                data[name] = lookup
        services.profile_update(actor=request.user, publication=publication, data=data)
        return self._fresh(publication)


class EligibleLoansView(APIView):
    """Active, disbursed loans not yet selected for the platform, with the reasons some may not
    be published (empty: eligible). At most 200, least late first."""

    permission_classes = [P2PManage]

    @extend_schema(
        parameters=[
            OpenApiParameter("platform", str, required=True, description="Platform code."),
            OpenApiParameter("branch", int),
            OpenApiParameter("product", int),
            OpenApiParameter("max_days_past_due", int),
            OpenApiParameter("amount_min", OpenApiTypes.DECIMAL),
            OpenApiParameter("amount_max", OpenApiTypes.DECIMAL),
        ],
        responses=s.EligibleLoanSerializer(many=True),
    )
    def get(self, request):
        query = query_params(request).copy()
        platforms = platforms_visible_to(request.user)
        platform = platforms.filter(code=query.get("platform", "")).first()
        query["platform"] = platform.pk if platform else ""
        form = EligibilityForm(query, user=request.user, platforms=platforms)
        if not form.is_valid():
            raise serializers.ValidationError(form.errors)
        criteria = form.criteria()
        loans = list(eligible_candidates(user=request.user, criteria=criteria)[:200])
        reasons = ineligibility_reasons(criteria.platform, loans)
        for loan in loans:
            loan.p2p_reasons = reasons[loan.pk]
        return Response(s.EligibleLoanSerializer(loans, many=True).data)


class DashboardView(APIView):
    """The dashboard's figures per active platform."""

    permission_classes = [P2PManage]

    @extend_schema(responses=s.PlatformFiguresSerializer(many=True))
    def get(self, request):
        return Response(
            s.PlatformFiguresSerializer(dashboard_figures(user=request.user), many=True).data
        )


@extend_schema(
    parameters=[
        OpenApiParameter("platform", str, description="Platform code."),
        OpenApiParameter("status", str),
    ]
)
class JournalViewSet(viewsets.ReadOnlyModelViewSet):
    """News items for lenders; drafts are edited, approved and sent through the actions."""

    permission_classes = [P2PManage]
    serializer_class = s.JournalSerializer
    filter_backends: list = []

    def get_queryset(self):
        items = journals_visible_to(self.request.user).order_by("-created_at", "-pk")
        query = query_params(self.request)
        if query.get("platform"):
            items = items.filter(publication__platform__code=query["platform"])
        if query.get("status"):
            items = items.filter(status=query["status"])
        return items

    def get_object(self):
        journal = get_object_or_404(self.get_queryset(), pk=object_id(self.kwargs["pk"]))
        self.check_object_permissions(self.request, journal)
        return journal

    def _run(self, service, **kwargs) -> Response:
        journal = service(actor=self.request.user, journal=self.get_object(), **kwargs)
        return Response(s.JournalSerializer(journal).data)

    @extend_schema(request=s.JournalUpdateSerializer, responses=s.JournalSerializer)
    def partial_update(self, request, pk=None):
        body = s.JournalUpdateSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._run(journals.journal_update, **body.validated_data)

    @extend_schema(request=None, responses=s.JournalSerializer)
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        return self._run(journals.journal_approve)

    @extend_schema(request=None, responses=s.JournalSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Send an approved item (file platforms: it goes with the next package)."""
        return self._run(journals.journal_send)

    @extend_schema(request=None, responses=s.JournalSerializer)
    @action(detail=True, methods=["post"])
    def discard(self, request, pk=None):
        return self._run(journals.journal_discard)


@extend_schema(parameters=[OpenApiParameter("platform", str, description="Platform code.")])
class ReportViewSet(viewsets.ReadOnlyModelViewSet):
    """Monthly repayment reports per platform and currency; lines on the detail."""

    permission_classes = [P2PManage]
    filter_backends: list = []

    def get_queryset(self):
        reports = reports_visible_to(self.request.user).order_by("-year", "-month", "pk")
        code = query_params(self.request).get("platform")
        return reports.filter(platform__code=code) if code else reports

    def get_serializer_class(self):
        return s.ReportSerializer if self.action == "list" else s.ReportDetailSerializer

    def _detail(self, report) -> Response:
        return Response(s.ReportDetailSerializer(report, context={"request": self.request}).data)

    @extend_schema(request=s.ReportBuildSerializer, responses=s.ReportSerializer(many=True))
    @action(detail=False, methods=["post"])
    def build(self, request):
        """(Re)build a month's open reports from the repayments recorded."""
        body = s.ReportBuildSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        platform = platform_get_for_user(request.user, body.validated_data["platform"])
        reports = reconciliation.repayment_report_build(
            actor=request.user,
            platform=platform,
            year=body.validated_data["year"],
            month=body.validated_data["month"],
        )
        return Response(s.ReportSerializer(reports, many=True).data)

    @extend_schema(request=None, responses=s.ReportDetailSerializer)
    @action(detail=True, methods=["post"])
    def finalise(self, request, pk=None):
        return self._detail(
            reconciliation.repayment_report_finalise(actor=request.user, report=self.get_object())
        )

    @extend_schema(request=None, responses=s.ReportDetailSerializer)
    @action(detail=True, methods=["post"])
    def send(self, request, pk=None):
        """Send a finalised report (503 when the platform cannot be reached: try again)."""
        try:
            report = reconciliation.repayment_report_send(
                actor=request.user, report=self.get_object()
            )
        except TransientError as exc:
            raise PlatformUnavailable() from exc
        return self._detail(report)
