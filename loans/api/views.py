"""Loans API: schedule preview, applications and their lifecycle, repayments (idempotent),
portfolio quality, and the loans ↔ ledger reconciliation."""

from __future__ import annotations

from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.generics import get_object_or_404
from rest_framework.response import Response

from accounting.selectors import ledger_branch_scope
from crm.selectors import party_get_for_user
from loans import services
from loans.api.serializers import (
    DisbursementSerializer,
    LoanApplicationSerializer,
    LoanReasonSerializer,
    LoanSerializer,
    LoanTransactionSerializer,
    PortfolioQuerySerializer,
    RepaymentSerializer,
)
from loans.models import Loan
from loans.portfolio import loans_reconciliation, portfolio_quality
from loans.preview import parse_preview_input, schedule_to_json
from loans.schedule import ScheduleError, generate_schedule
from loans.selectors import loans_visible_to
from mfi.idempotency import idempotent
from mfi.permissions import capability_permission
from users.roles import Capability

LoanRead = capability_permission(Capability.LOAN_VIEW, Capability.LOAN_APPLY)


def _permission(capability: Capability):
    return capability_permission(Capability.LOAN_VIEW, capability)


@extend_schema(
    request=dict,
    responses=dict,
    description="Repayment schedule for the given terms (no data is written).",
)
@api_view(["POST"])
@permission_classes([_permission(Capability.LOAN_APPLY)])  # as the HTML preview: loan applicants
def schedule_preview(request):
    try:
        terms = parse_preview_input(request.data if isinstance(request.data, dict) else {})
        schedule = generate_schedule(terms)
    except DjangoValidationError as exc:
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        return Response(detail, status=status.HTTP_400_BAD_REQUEST)
    except ScheduleError as exc:
        return Response({"detail": [str(exc)]}, status=status.HTTP_400_BAD_REQUEST)
    return Response(schedule_to_json(schedule))


class LoanViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Loans in the user's scope. POST submits an application."""

    serializer_class = LoanSerializer
    permission_classes = [LoanRead]
    filterset_fields = ["status", "currency", "officer"]

    def get_queryset(self):
        return loans_visible_to(self.request.user).order_by("-pk")

    @extend_schema(request=LoanApplicationSerializer, responses={201: LoanSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        application = LoanApplicationSerializer(data=request.data)
        application.is_valid(raise_exception=True)
        data = dict(application.validated_data)
        borrower = party_get_for_user(user=request.user, party_id=data.pop("borrower"))
        loan = services.loan_submit(actor=request.user, borrower=borrower, **data)
        return Response(LoanSerializer(loan).data, status=status.HTTP_201_CREATED)

    def _loan_in_scope(self) -> Loan:
        """The URL's loan, 404 outside the user's scope like ``get_object``, read as its id only:
        the service locks and reads the loan itself (a repayment is the API's busiest call)."""
        scope = self.get_queryset().select_related(None).only("pk")
        return get_object_or_404(scope, pk=self.kwargs["pk"])

    def _loan_response(self, loan, code=status.HTTP_200_OK):
        loan.refresh_from_db()
        return Response(LoanSerializer(loan).data, status=code)

    @extend_schema(request=None, responses=LoanSerializer)
    @action(
        detail=True, methods=["post"], permission_classes=[_permission(Capability.LOAN_APPROVE)]
    )
    @idempotent
    def approve(self, request, pk=None):
        return self._loan_response(
            services.loan_approve(actor=request.user, loan=self.get_object())
        )

    @extend_schema(request=LoanReasonSerializer, responses=LoanSerializer)
    @action(
        detail=True, methods=["post"], permission_classes=[_permission(Capability.LOAN_APPROVE)]
    )
    def reject(self, request, pk=None):
        loan = self.get_object()  # out of scope is a 404 before the body says anything
        body = LoanReasonSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._loan_response(
            services.loan_reject(
                actor=request.user, loan=loan, reason=body.validated_data["reason"]
            )
        )

    @extend_schema(request=DisbursementSerializer, responses=LoanSerializer)
    @action(
        detail=True, methods=["post"], permission_classes=[_permission(Capability.LOAN_DISBURSE)]
    )
    @idempotent
    def disburse(self, request, pk=None):
        loan = self.get_object()
        body = DisbursementSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        return self._loan_response(
            services.loan_disburse(actor=request.user, loan=loan, **body.validated_data)
        )

    @extend_schema(
        request=RepaymentSerializer,
        responses={201: LoanTransactionSerializer},
        parameters=[
            OpenApiParameter("Idempotency-Key", str, OpenApiParameter.HEADER, required=False)
        ],
    )
    @action(detail=True, methods=["post"], permission_classes=[_permission(Capability.LOAN_REPAY)])
    @idempotent
    def repayments(self, request, pk=None):
        loan = self._loan_in_scope()
        body = RepaymentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        transaction = services.repayment_record(
            actor=request.user, loan=loan, **body.validated_data
        )
        return Response(LoanTransactionSerializer(transaction).data, status=status.HTTP_201_CREATED)


def _portfolio_query(request):
    query = PortfolioQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    return (
        data.get("date") or timezone.localdate(),
        ledger_branch_scope(request.user, data.get("branch")),
        data["currency"],
    )


@extend_schema(parameters=[PortfolioQuerySerializer], responses=dict)
@api_view(["GET"])
@permission_classes([_permission(Capability.LOAN_VIEW)])
def portfolio_quality_view(request):
    """PAR1/PAR30/PAR90 as decimal ratios, outstanding principal and counts."""
    as_of, branch_ids, currency = _portfolio_query(request)
    result = portfolio_quality(as_of=as_of, branch_ids=branch_ids, currency=currency)
    return Response(
        {
            key: str(value) if not isinstance(value, int | str) else value
            for key, value in result.items()
        }
    )


@extend_schema(parameters=[PortfolioQuerySerializer], responses=dict)
@api_view(["GET"])
@permission_classes([capability_permission(Capability.LEDGER_VIEW, Capability.LEDGER_VIEW)])
def reconciliation_view(request):
    """Loan portfolio in the general ledger against the loans' outstanding principal."""
    as_of, _branches, currency = _portfolio_query(request)
    result = loans_reconciliation(as_of=as_of, currency=currency)
    return Response({key: str(value) for key, value in result.items()})
