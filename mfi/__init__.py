"""The MFI platform project package: settings, URLs, Celery app, shell views (home, search, health)."""

from mfi.celery import app as celery_app

__all__ = ["celery_app"]
