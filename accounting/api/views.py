"""Ledger API: accounts, journal entries (draft manual, approve, reject, reverse), statements."""

from __future__ import annotations

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action, api_view, permission_classes
from rest_framework.response import Response

from accounting import services
from accounting.api.serializers import (
    AccountSerializer,
    JournalEntrySerializer,
    ReasonSerializer,
    ReportQuerySerializer,
)
from accounting.models import Account
from accounting.selectors import (
    balance_sheet,
    entries_visible_to,
    ledger_branch_scope,
    trial_balance,
)
from mfi.money import round_money
from mfi.permissions import capability_permission
from users.roles import Capability

LedgerRead = capability_permission(Capability.LEDGER_VIEW, Capability.LEDGER_DRAFT)
LedgerCheck = capability_permission(Capability.LEDGER_VIEW, Capability.LEDGER_APPROVE)


class AccountViewSet(viewsets.ReadOnlyModelViewSet):
    """The chart of accounts."""

    serializer_class = AccountSerializer
    permission_classes = [LedgerRead]
    queryset = Account.objects.select_related("parent", "branch").order_by("code")
    filterset_fields = ["type", "role", "is_header"]


class JournalEntryViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Journal entries in the user's branches. POST drafts a manual entry (maker); another
    person approves it (checker)."""

    serializer_class = JournalEntrySerializer
    permission_classes = [LedgerRead]
    filterset_fields = ["status", "source", "entry_date"]

    def get_queryset(self):
        return (
            entries_visible_to(self.request.user)
            .prefetch_related("lines__account")
            .order_by("-entry_date", "-pk")
        )

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        entry = services.manual_entry_draft(
            actor=request.user,
            entry_date=data["entry_date"],
            branch=data["branch"],
            currency=data["currency"],
            description=data["description"],
            lines=[
                services.LineSpec(
                    line["account"],
                    debit=line["debit"],
                    credit=line["credit"],
                    description=line.get("description", ""),
                )
                for line in data["lines"]
            ],
        )
        return Response(self.get_serializer(entry).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None)
    @action(detail=True, methods=["post"], permission_classes=[LedgerCheck])
    def approve(self, request, pk=None):
        entry = services.manual_entry_approve(actor=request.user, entry=self.get_object())
        return Response(self.get_serializer(entry).data)

    @extend_schema(request=ReasonSerializer)
    @action(detail=True, methods=["post"], permission_classes=[LedgerCheck])
    def reject(self, request, pk=None):
        reason = ReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        entry = services.manual_entry_reject(
            actor=request.user, entry=self.get_object(), reason=reason.validated_data["reason"]
        )
        return Response(self.get_serializer(entry).data)

    @extend_schema(request=ReasonSerializer, responses={201: JournalEntrySerializer})
    @action(detail=True, methods=["post"], permission_classes=[LedgerCheck])
    def reverse(self, request, pk=None):
        reason = ReasonSerializer(data=request.data)
        reason.is_valid(raise_exception=True)
        reversal = services.journal_entry_reverse(
            actor=request.user,
            entry=self.get_object(),
            reason=reason.validated_data["reason"],
            entry_date=reason.validated_data.get("entry_date"),
        )
        return Response(self.get_serializer(reversal).data, status=status.HTTP_201_CREATED)


def _report_query(request):
    query = ReportQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    data = query.validated_data
    return (
        data.get("date") or timezone.localdate(),
        ledger_branch_scope(request.user, data.get("branch")),
        data["currency"],
    )


_money = serializers.DecimalField(max_digits=20, decimal_places=2)


@extend_schema(
    parameters=[ReportQuerySerializer],
    responses=inline_serializer(
        "TrialBalance",
        {
            "date": serializers.DateField(),
            "currency": serializers.CharField(),
            "accounts": inline_serializer(
                "TrialBalanceRow",
                {
                    "code": serializers.CharField(),
                    "name": serializers.CharField(),
                    "type": serializers.CharField(),
                    "role": serializers.CharField(),
                    "debit": _money,
                    "credit": _money,
                },
                many=True,
            ),
            "total_debit": _money,
            "total_credit": _money,
        },
    ),
)
@api_view(["GET"])
@permission_classes([LedgerRead])
def trial_balance_view(request):
    """Each account's balance at the end of ``date`` (default today), debit or credit side."""
    as_of, branch_ids, currency = _report_query(request)
    report = trial_balance(as_of=as_of, branch_ids=branch_ids, currency=currency)
    return Response(
        {
            "date": as_of.isoformat(),
            "currency": currency,
            "accounts": [
                {
                    "code": row["account"].code,
                    "name": row["account"].name,
                    "type": row["account"].type,
                    "role": row["account"].role,
                    "debit": str(round_money(row["debit"], currency)),
                    "credit": str(round_money(row["credit"], currency)),
                }
                for row in report.rows
            ],
            "total_debit": str(round_money(report.total_debit, currency)),
            "total_credit": str(round_money(report.total_credit, currency)),
        }
    )


@extend_schema(
    parameters=[ReportQuerySerializer],
    responses=inline_serializer(
        "BalanceSheet",
        {
            "date": serializers.DateField(),
            "currency": serializers.CharField(),
            "total_assets": _money,
            "total_liabilities": _money,
            "total_equity": _money,
            "current_result": _money,
        },
    ),
)
@api_view(["GET"])
@permission_classes([LedgerRead])
def balance_sheet_view(request):
    """Totals of the balance sheet at ``date``: assets = liabilities + equity + current result."""
    as_of, branch_ids, currency = _report_query(request)
    statement = balance_sheet(as_of=as_of, branch_ids=branch_ids, currency=currency)
    totals = {key: str(round_money(value, currency)) for key, value in statement.totals.items()}
    return Response(
        {
            "date": as_of.isoformat(),
            "currency": currency,
            "total_assets": totals["asset"],
            "total_liabilities": totals["liability"],
            "total_equity": totals["equity"],
            "current_result": totals["current_result"],
        }
    )
