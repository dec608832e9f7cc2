"""Parties API: read every party in scope; create and update persons and enterprises."""

from __future__ import annotations

from rest_framework import mixins, status, viewsets
from rest_framework.response import Response

from crm import services
from crm.api.serializers import EnterpriseSerializer, PartySerializer, PersonSerializer
from crm.filters import PartyFilter
from crm.selectors import enterprises_visible_to, parties_visible_to, persons_visible_to
from mfi.permissions import capability_permission
from users.roles import Capability

PartyPermission = capability_permission(Capability.PARTY_VIEW, Capability.PARTY_EDIT)


class PartyViewSet(viewsets.ReadOnlyModelViewSet):
    """All parties (persons and enterprises) the user may see, filterable and paginated."""

    serializer_class = PartySerializer
    permission_classes = [PartyPermission]
    filterset_class = PartyFilter

    def get_queryset(self):
        return parties_visible_to(self.request.user).order_by("display_name", "pk")


class _PartyWriteViewSet(
    mixins.CreateModelMixin, mixins.UpdateModelMixin, viewsets.ReadOnlyModelViewSet
):
    permission_classes = [PartyPermission]
    create_service = None
    update_service = None
    instance_argument = ""

    def create(self, request, *args, **kwargs):
        serializer = self.get_serializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        party = type(self).create_service(actor=request.user, data=serializer.validated_data)
        return Response(self.get_serializer(party).data, status=status.HTTP_201_CREATED)

    def update(self, request, *args, **kwargs):
        instance = self.get_object()
        serializer = self.get_serializer(
            instance, data=request.data, partial=kwargs.get("partial", False)
        )
        serializer.is_valid(raise_exception=True)
        party = type(self).update_service(
            actor=request.user,
            data=serializer.validated_data,
            **{self.instance_argument: instance},
        )
        return Response(self.get_serializer(party).data)


class PersonViewSet(_PartyWriteViewSet):
    serializer_class = PersonSerializer
    create_service = services.person_create
    update_service = services.person_update
    instance_argument = "person"

    def get_queryset(self):
        return persons_visible_to(self.request.user).order_by("display_name", "pk")


class EnterpriseViewSet(_PartyWriteViewSet):
    serializer_class = EnterpriseSerializer
    create_service = services.enterprise_create
    update_service = services.enterprise_update
    instance_argument = "enterprise"

    def get_queryset(self):
        return enterprises_visible_to(self.request.user).order_by("display_name", "pk")
