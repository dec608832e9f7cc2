"""Writing audit events. Called by every service that changes money or status."""

from __future__ import annotations

import datetime
import decimal
import uuid
from collections.abc import Iterable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction

from audit.context import current_request_id
from audit.models import AuditEvent


def _json_value(value: Any) -> Any:
    if isinstance(value, (datetime.date, datetime.datetime, datetime.time)):
        return value.isoformat()
    if isinstance(value, (decimal.Decimal, uuid.UUID)):
        return str(value)
    if isinstance(value, models.Model):
        return value.pk
    if hasattr(value, "name") and hasattr(value, "storage"):  # a FieldFile
        return value.name or None
    return value


def snapshot(instance: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """A JSON-safe dict of an instance's concrete field values (foreign keys as ids)."""
    result: dict[str, Any] = {}
    for field in instance._meta.concrete_fields:
        if fields is not None and field.name not in fields:
            continue
        if field.name in {"password"}:
            continue
        result[field.name] = _json_value(getattr(instance, field.attname))
    return result


def audit_record(
    *,
    actor,
    action: str,
    target: models.Model | None = None,
    before: dict | None = None,
    after: dict | None = None,
    branch_id: int | None = None,
) -> AuditEvent:
    """Append one audit event. Must run inside the transaction of the change it describes."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit_record must be called inside the transaction of the change")
    if branch_id is None and target is not None:
        branch_id = getattr(target, "branch_id", None)
    return AuditEvent.objects.create(
        actor=actor if getattr(actor, "pk", None) else None,
        action=action,
        content_type=ContentType.objects.get_for_model(target, for_concrete_model=False)
        if target is not None
        else None,
        object_id=str(target.pk) if target is not None else "",
        object_repr=str(target)[:200] if target is not None else "",
        branch_id=branch_id,
        before=before,
        after=after,
        request_id=current_request_id(),
    )
