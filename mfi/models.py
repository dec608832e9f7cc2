"""Platform-level records that belong to no business app."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class WorkerHeartbeat(models.Model):
    """Written by a Celery worker each time it runs the heartbeat task.

    Proves the whole chain (web or beat enqueues → broker → worker → database) works; the health
    endpoint and the system page show the latest one.
    """

    token = models.CharField(max_length=64, unique=True)
    worker = models.CharField(_("worker"), max_length=200)
    seen_at = models.DateTimeField(_("seen at"), auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-seen_at"]
        verbose_name = _("worker heartbeat")

    def __str__(self) -> str:
        return f"{self.worker} at {self.seen_at:%Y-%m-%d %H:%M:%S}"


class IdempotencyRecord(models.Model):
    """A write API request made with an ``Idempotency-Key``, and its first response."""

    user = models.ForeignKey("users.User", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=100)
    fingerprint = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField(null=True)
    response_body = models.JSONField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "key"], name="%(app_label)s_%(class)s_unique_key"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}:{self.key}"


class TaskOutbox(models.Model):
    """A Celery task that must run, recorded in the same transaction as the change that needs it.

    Written by ``mfi.outbox.outbox_enqueue``; sent to the broker right after commit, or later by
    the dispatcher (beat task ``mfi.tasks.outbox_dispatch``, ``manage.py outbox_dispatch``) while
    the broker was down. ``dispatched_at`` is set once the broker accepted the message (with eager
    Celery: once the task ran in process); a row may be sent more than once if a dispatcher dies
    between the broker's acceptance and its commit, so the tasks it carries are idempotent.
    """

    task_name = models.CharField(_("task"), max_length=200)
    args = models.JSONField(_("positional arguments"), default=list, blank=True)
    kwargs = models.JSONField(_("keyword arguments"), default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    dispatched_at = models.DateTimeField(_("dispatched at"), null=True, blank=True)
    attempts = models.PositiveIntegerField(_("dispatch attempts"), default=0)
    last_error = models.TextField(_("last dispatch error"), blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("task outbox row")
        indexes = [
            # The dispatcher reads only the pending rows, oldest first.
            models.Index(
                fields=["created_at", "id"],
                condition=models.Q(dispatched_at__isnull=True),
                name="mfi_taskoutbox_pending_idx",
            ),
            models.Index(fields=["dispatched_at"], name="mfi_taskoutbox_dispatched_idx"),
        ]

    def __str__(self) -> str:
        state = "dispatched" if self.dispatched_at else "pending"
        return f"{self.task_name} #{self.pk} ({state})"
