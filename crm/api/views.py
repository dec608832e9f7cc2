"""Parties API: read every party in scope; create and update persons and enterprises."""

from __future__ import annotations

import django_filters
from django.utils.translation import gettext as _
from drf_spectacular.utils import extend_schema
from rest_framework import exceptions, mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from crm import interactions, services
from crm.api.serializers import (
    EnterpriseSerializer,
    InteractionInputSerializer,
    InteractionSerializer,
    PartySerializer,
    PersonSerializer,
    TaskInputSerializer,
    TaskSerializer,
)
from crm.choices import InteractionKind, TaskStatus
from crm.filters import PartyFilter
from crm.models import Interaction, Task
from crm.privacy import party_access_record
from crm.selectors import (
    enterprises_visible_to,
    parties_visible_to,
    party_get_for_user,
    persons_visible_to,
)
from crm.timeline import interactions_visible_to, tasks_visible_to
from loans.selectors import loans_visible_to
from mfi.idempotency import idempotent
from mfi.permissions import capability_permission
from users.roles import Capability

PartyPermission = capability_permission(Capability.PARTY_VIEW, Capability.PARTY_EDIT)


class _AccessLoggedRetrieveMixin:
    """Opening one party's full record through the API is logged (crm.privacy access log)."""

    access_view = "api_party_detail"

    def retrieve(self, request, *args, **kwargs):
        party = self.get_object()
        party_access_record(actor=request.user, party=party, view=self.access_view)
        return Response(self.get_serializer(party).data)


class PartyViewSet(_AccessLoggedRetrieveMixin, viewsets.ReadOnlyModelViewSet):
    """All parties (persons and enterprises) the user may see, filterable and paginated."""

    serializer_class = PartySerializer
    permission_classes = [PartyPermission]
    filterset_class = PartyFilter

    def get_queryset(self):
        return parties_visible_to(self.request.user).order_by("display_name", "pk")


class _PartyWriteViewSet(
    _AccessLoggedRetrieveMixin,
    mixins.CreateModelMixin,
    mixins.UpdateModelMixin,
    viewsets.ReadOnlyModelViewSet,
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


def _loan_in_scope(user, loan_id: int | None):
    """The loan the body names, if the user may see it; a 400 otherwise (never a hint that an
    out-of-scope loan exists)."""
    if loan_id is None:
        return None
    loan = loans_visible_to(user).filter(pk=loan_id).first()
    if loan is None:
        raise exceptions.ValidationError({"loan": [_("No such loan in your scope.")]})
    return loan


class InteractionFilter(django_filters.FilterSet):
    # A plain number, not a choice of parties: an out-of-scope party gives an empty list, not a
    # different error from a missing one.
    party = django_filters.NumberFilter(field_name="party_id")
    kind = django_filters.ChoiceFilter(choices=InteractionKind.choices)

    class Meta:
        model = Interaction
        fields = ["party", "kind"]


class InteractionViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """Interactions with the parties in the user's scope, newest first (``?party=<id>``).
    POST records one; a ``next_action_date`` creates a follow-up task."""

    serializer_class = InteractionSerializer
    permission_classes = [PartyPermission]
    filterset_class = InteractionFilter

    def get_queryset(self):
        return interactions_visible_to(self.request.user).prefetch_related("follow_up_tasks")

    @extend_schema(request=InteractionInputSerializer, responses={201: InteractionSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        body = InteractionInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        party = party_get_for_user(user=request.user, party_id=data.pop("party"))
        data["loan"] = _loan_in_scope(request.user, data.pop("loan"))
        interaction = interactions.interaction_record(actor=request.user, party=party, **data)
        return Response(
            InteractionSerializer(self.get_queryset().get(pk=interaction.pk)).data,
            status=status.HTTP_201_CREATED,
        )


class TaskFilter(django_filters.FilterSet):
    status = django_filters.ChoiceFilter(choices=TaskStatus.choices)
    party = django_filters.NumberFilter(field_name="party_id")

    class Meta:
        model = Task
        fields = ["status", "party"]


class TaskViewSet(mixins.CreateModelMixin, viewsets.ReadOnlyModelViewSet):
    """The caller's tasks, soonest first (``?status=open``). POST creates one;
    ``POST /tasks/{id}/complete/`` marks it done."""

    serializer_class = TaskSerializer
    permission_classes = [PartyPermission]
    filterset_class = TaskFilter

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):  # the OpenAPI schema has no user
            return Task.objects.none()
        tasks = tasks_visible_to(self.request.user).order_by("due_date", "pk")
        if self.action == "list":
            return tasks.filter(assigned_to=self.request.user)
        return tasks

    @extend_schema(request=TaskInputSerializer, responses={201: TaskSerializer})
    @idempotent
    def create(self, request, *args, **kwargs):
        body = TaskInputSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        party_id = data.pop("party")
        party = party_get_for_user(user=request.user, party_id=party_id) if party_id else None
        task = interactions.task_create(
            actor=request.user,
            title=data["title"],
            due_date=data["due_date"],
            assigned_to=data["assigned_to"],
            party=party,
            loan=_loan_in_scope(request.user, data["loan"]),
        )
        return Response(TaskSerializer(task).data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses=TaskSerializer)
    @action(detail=True, methods=["post"])
    @idempotent
    def complete(self, request, pk=None):
        task = interactions.task_complete(actor=request.user, task=self.get_object())
        return Response(TaskSerializer(task).data)
