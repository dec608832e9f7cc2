"""Settings for the test suite: the same PostgreSQL engine, faster password hashing."""

from mfi.settings.base import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; prod uses Argon2
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405
