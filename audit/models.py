"""The append-only audit trail: one event per change of state, written in the same transaction."""

from __future__ import annotations

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import models
from django.utils.translation import gettext_lazy as _


class AuditEvent(models.Model):
    """Who did what to which object, with the values before and after, and when.

    Rows are never updated or deleted: a database trigger (migration 0002) rejects both, so not
    even a bug or a hand-written SQL statement through the application role can rewrite history.
    """

    occurred_at = models.DateTimeField(_("time"), auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("actor"),
    )
    action = models.CharField(_("action"), max_length=64, db_index=True)
    content_type = models.ForeignKey(
        ContentType, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    object_id = models.CharField(max_length=64, blank=True)
    object_repr = models.CharField(_("object"), max_length=200, blank=True)
    branch = models.ForeignKey(
        "users.Branch",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        help_text=_("Branch the object belongs to, so branch staff can read their own history."),
    )
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True, db_index=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(
                fields=["content_type", "object_id", "-occurred_at"], name="audit_event_object_idx"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.occurred_at:%Y-%m-%d %H:%M} {self.action} {self.object_repr}"

    @property
    def changed_fields(self) -> list[dict]:
        """Field-by-field differences between ``before`` and ``after``."""
        before = self.before or {}
        after = self.after or {}
        rows = []
        for field in sorted(set(before) | set(after)):
            if before.get(field) != after.get(field):
                rows.append(
                    {"field": field, "before": before.get(field), "after": after.get(field)}
                )
        return rows
