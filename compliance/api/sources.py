"""Compliance API of the registry sources (/api/v1/compliance/): sources (pull now, upload a
file), runs with their quarantined rows, registry records and the reconciliation queue.

Reading needs COMPLIANCE_VIEW, acting COMPLIANCE_MANAGE. Records follow their party's branch
scope; quarantined rows, unmatched records and the queue are for head-office roles only
(``compliance.sources.selectors``). Changes go through ``compliance.ingest``.
"""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext_lazy as _
from drf_spectacular.utils import extend_schema, extend_schema_field
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.routers import SimpleRouter

from compliance import ingest
from compliance.choices import RunTrigger
from compliance.forms_sources import validate_registry_file
from compliance.models import (
    QuarantinedRow,
    ReconciliationItem,
    RegistryRecord,
    Source,
    SourceRun,
)
from compliance.sources import selectors
from crm.selectors import party_get_for_user
from mfi.api import object_id
from mfi.permissions import capability_permission
from users.roles import Capability

SourcesPermission = capability_permission(Capability.COMPLIANCE_VIEW, Capability.COMPLIANCE_MANAGE)


class SourceSerializer(serializers.ModelSerializer):
    fresh = serializers.SerializerMethodField()

    class Meta:
        model = Source
        fields = [
            "id",
            "code",
            "name",
            "kind",
            "transport",
            "bank_code",
            "is_active",
            "pull_every_minutes",
            "freshness_days",
            "last_pull_at",
            "last_success_at",
            "unavailable_since",
            "last_error",
            "fresh",
        ]

    def get_fresh(self, source: Source) -> bool:
        return selectors.is_fresh(source)


class QuarantinedRowSerializer(serializers.ModelSerializer):
    class Meta:
        model = QuarantinedRow
        fields = ["row_number", "raw", "reason", "is_resolved"]


class SourceRunSerializer(serializers.ModelSerializer):
    class Meta:
        model = SourceRun
        fields = [
            "id",
            "source",
            "trigger",
            "status",
            "party",
            "started_at",
            "finished_at",
            "attempts",
            "records_received",
            "records_stored",
            "rows_quarantined",
            "unmatched_skipped",
            "file_name",
            "file_sha256",
            "error",
            "triggered_by",
        ]


class SourceRunDetailSerializer(SourceRunSerializer):
    quarantined_rows = serializers.SerializerMethodField(
        help_text=_("Empty for users who do not see registry-wide data.")
    )

    class Meta(SourceRunSerializer.Meta):
        fields = [*SourceRunSerializer.Meta.fields, "quarantined_rows"]

    @extend_schema_field(QuarantinedRowSerializer(many=True))
    def get_quarantined_rows(self, run: SourceRun) -> list[dict]:
        rows = selectors.run_quarantine(user=self.context["request"].user, run=run)
        return QuarantinedRowSerializer(rows, many=True).data


class RegistryRecordSerializer(serializers.ModelSerializer):
    source_code = serializers.CharField(source="source.code", read_only=True)

    class Meta:
        model = RegistryRecord
        fields = [
            "id",
            "source",
            "source_code",
            "run",
            "party",
            "nif",
            "registry_number",
            "as_of",
            "retrieved_at",
            "valid_until",
            "status",
            "data",
            "payload_sha256",
        ]


class ReconciliationItemSerializer(serializers.ModelSerializer):
    record = RegistryRecordSerializer(read_only=True)

    class Meta:
        model = ReconciliationItem
        fields = [
            "id",
            "record",
            "reason",
            "status",
            "candidates",
            "resolved_by",
            "resolved_at",
            "created_at",
        ]


class PullSerializer(serializers.Serializer):
    as_of = serializers.DateField(
        required=False,
        allow_null=True,
        help_text=_("The registry answers for the last month-end on or before this date."),
    )


class UploadSerializer(serializers.Serializer):
    file = serializers.FileField(validators=[validate_registry_file])


class ResolveSerializer(serializers.Serializer):
    party = serializers.IntegerField(
        required=False,
        allow_null=True,
        help_text=_("The party the record belongs to; empty or null dismisses the record."),
    )


class SourceViewSet(viewsets.ReadOnlyModelViewSet):
    """Registry sources with their health. POST ``{id}/pull/`` pulls now; POST ``{id}/upload/``
    ingests a CSV file (multipart, field ``file``). Both answer with the run."""

    serializer_class = SourceSerializer
    permission_classes = [SourcesPermission]
    pagination_class = None

    def get_queryset(self):
        if not selectors.may_read(self.request.user):
            return Source.objects.none()
        return Source.objects.all()

    @extend_schema(request=PullSerializer, responses={201: SourceRunSerializer})
    @action(detail=True, methods=["post"])
    def pull(self, request, pk=None):
        body = PullSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = ingest.source_pull(
            source=self.get_object(),
            trigger=RunTrigger.ON_DEMAND,
            actor=request.user,
            as_of=body.validated_data.get("as_of"),
        )
        return Response(SourceRunSerializer(run).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=UploadSerializer, responses={201: SourceRunSerializer})
    @action(detail=True, methods=["post"], parser_classes=[MultiPartParser, FormParser])
    def upload(self, request, pk=None):
        body = UploadSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        run = ingest.file_ingest(
            source=self.get_object(),
            path_or_file=body.validated_data["file"],
            actor=request.user,
            trigger=RunTrigger.UPLOAD,
        )
        return Response(SourceRunSerializer(run).data, status=status.HTTP_201_CREATED)


class SourceRunViewSet(viewsets.ReadOnlyModelViewSet):
    """Pulls and ingested files, newest first; the detail lists the quarantined rows."""

    permission_classes = [SourcesPermission]
    filterset_fields = ["source", "status", "trigger", "party"]

    def get_queryset(self):
        return selectors.runs_visible_to(self.request.user)

    def get_serializer_class(self):
        return SourceRunDetailSerializer if self.action == "retrieve" else SourceRunSerializer


class RegistryRecordFilter(django_filters.FilterSet):
    as_of_after = django_filters.DateFilter(field_name="as_of", lookup_expr="gte")
    as_of_before = django_filters.DateFilter(field_name="as_of", lookup_expr="lte")
    nif = django_filters.CharFilter(field_name="nif")

    class Meta:
        model = RegistryRecord
        fields = ["party", "source", "nif", "status", "as_of_after", "as_of_before"]


class RegistryRecordViewSet(viewsets.ReadOnlyModelViewSet):
    """What the registries said, as history (newest as-of first), within the user's scope."""

    serializer_class = RegistryRecordSerializer
    permission_classes = [SourcesPermission]
    filterset_class = RegistryRecordFilter

    def get_queryset(self):
        return selectors.records_visible_to(self.request.user).order_by("-as_of", "-pk")


class ReconciliationItemViewSet(mixins.ListModelMixin, viewsets.GenericViewSet):
    """Open records we could not attach to exactly one party (head-office roles). POST
    ``{id}/resolve/`` with ``party`` matches the record to that party; without, dismisses it."""

    serializer_class = ReconciliationItemSerializer
    permission_classes = [SourcesPermission]

    def get_queryset(self):
        return selectors.reconciliation_items(user=self.request.user)

    @extend_schema(request=ResolveSerializer, responses=ReconciliationItemSerializer)
    @action(detail=True, methods=["post"])
    def resolve(self, request, pk=None):
        body = ResolveSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        item = selectors.reconciliation_get(user=request.user, pk=object_id(pk))
        party_id = body.validated_data.get("party")
        party = party_get_for_user(user=request.user, party_id=party_id) if party_id else None
        item = ingest.reconciliation_resolve(actor=request.user, item=item, party=party)
        return Response(ReconciliationItemSerializer(item).data)


router = SimpleRouter()
router.register("sources", SourceViewSet, basename="compliance-source")
router.register("source-runs", SourceRunViewSet, basename="compliance-source-run")
router.register("registry-records", RegistryRecordViewSet, basename="compliance-registry-record")
router.register(
    "reconciliation-items", ReconciliationItemViewSet, basename="compliance-reconciliation-item"
)

urlpatterns = router.urls
