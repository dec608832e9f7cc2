"""Settings of the Celery workers the reliability tests start (``DJANGO_SETTINGS_MODULE``).

The production settings, with a short Redis visibility timeout so a message left unacknowledged
by a killed worker is handed out again within seconds (production keeps Redis's hour), and fast
registry retries.
"""

from mfi.settings.base import *  # noqa: F403
from mfi.settings.environment import env

CELERY_BROKER_TRANSPORT_OPTIONS = {
    **CELERY_BROKER_TRANSPORT_OPTIONS,  # noqa: F405
    "visibility_timeout": env.int("RELIABILITY_VISIBILITY_TIMEOUT", 4),
    # Sweep for such messages every second (production: every 10 × 10 s).
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}
COMPLIANCE_HTTP_BACKOFF = 0.01
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
