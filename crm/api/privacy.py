"""Personal-data API: a party's data export (subject access request) as JSON or PDF."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from crm.privacy import party_data_export, party_data_export_pdf
from crm.selectors import party_get_for_user
from mfi.permissions import capability_permission
from users.roles import Capability

# Reading a whole person's data is an editor's act (the same roles that may record a request).
ExportPermission = capability_permission(Capability.PARTY_EDIT, Capability.PARTY_EDIT)


class PartyDataExportView(APIView):
    """Everything we hold about one party (JSON); each call is recorded in the audit trail."""

    permission_classes = [ExportPermission]

    @extend_schema(responses={200: OpenApiTypes.OBJECT}, operation_id="parties_data_export")
    def get(self, request, pk: int):
        party = party_get_for_user(user=request.user, party_id=pk)
        return Response(party_data_export(party=party, actor=request.user))


class PartyDataExportPdfView(APIView):
    """The same export as a PDF document."""

    permission_classes = [ExportPermission]

    @extend_schema(
        responses={(200, "application/pdf"): OpenApiTypes.BINARY},
        operation_id="parties_data_export_pdf",
    )
    def get(self, request, pk: int):
        party = party_get_for_user(user=request.user, party_id=pk)
        response = HttpResponse(
            party_data_export_pdf(party=party, actor=request.user), content_type="application/pdf"
        )
        response["Content-Disposition"] = f'attachment; filename="personal-data-party-{pk}.pdf"'
        return response
