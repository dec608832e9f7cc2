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
