"""Settings for the benchmarks: the product's, plus a benchmark-only URLconf (a trivial API
view to compare the real API against). Never used by the product itself."""

from mfi.settings.base import *  # noqa: F403

ROOT_URLCONF = "benchmarks.urls"
LOGGING["root"]["level"] = "WARNING"  # noqa: F405 - one line per request would skew the figures
