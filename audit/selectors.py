"""Reading the audit trail, scoped to what the user may see."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.db.models import QuerySet

from audit.models import AuditEvent
from users.roles import Capability


def events_for_object(*, target: models.Model) -> QuerySet[AuditEvent]:
    """History of one object (the caller has already checked the user may see the object)."""
    content_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
    return AuditEvent.objects.filter(
        content_type=content_type, object_id=str(target.pk)
    ).select_related("actor")


def events_for_objects(*, targets: list[models.Model]) -> QuerySet[AuditEvent]:
    """History of several related objects, e.g. a party with its links and consents."""
    condition = models.Q(pk__in=[])
    for target in targets:
        content_type = ContentType.objects.get_for_model(target, for_concrete_model=False)
        condition |= models.Q(content_type=content_type, object_id=str(target.pk))
    return AuditEvent.objects.filter(condition).select_related("actor")


def audit_search(
    *,
    user,
    action: str = "",
    actor_username: str = "",
    text: str = "",
    request_id: str = "",
    date_from=None,
    date_to=None,
) -> QuerySet[AuditEvent]:
    """All events matching the filters; only for roles with the audit-search capability."""
    if not user.has_capability(Capability.AUDIT_SEARCH):
        return AuditEvent.objects.none()
    events = AuditEvent.objects.select_related("actor", "content_type")
    if action:
        events = events.filter(action__startswith=action)
    if actor_username:
        events = events.filter(actor__username__iexact=actor_username)
    if text:
        events = events.filter(object_repr__icontains=text)
    if request_id:
        events = events.filter(request_id=request_id)
    if date_from:
        events = events.filter(occurred_at__date__gte=date_from)
    if date_to:
        events = events.filter(occurred_at__date__lte=date_to)
    return events
