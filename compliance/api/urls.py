"""Compliance API (/api/v1/compliance/): each area's API module owns its patterns."""

from compliance.api import cases, dashboards, desk, field, sources

urlpatterns = [
    *cases.urlpatterns,
    *sources.urlpatterns,
    *field.urlpatterns,
    *desk.urlpatterns,
    *dashboards.urlpatterns,
]
