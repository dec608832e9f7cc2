"""Settings for the test suite: the same PostgreSQL engine, faster password hashing."""

from mfi.settings.base import *  # noqa: F403
from mfi.settings.environment import env

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # speed only; prod uses Argon2
LOGGING["root"]["level"] = "WARNING"  # noqa: F405
MEDIA_ROOT = BASE_DIR / "var" / "test-media"  # noqa: F405

# Parallel runs on one machine (a developer's and a helper's, say) can keep separate test databases.
DATABASES["default"]["TEST"] = {"NAME": env.str("TEST_DATABASE_NAME", "test_mfi")}  # noqa: F405
