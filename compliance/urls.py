"""Compliance screens: each area's view module owns its URL patterns; this file joins them."""

from compliance.views import cases, dashboards, desk, field, sources

app_name = "compliance"
urlpatterns = [
    *cases.urlpatterns,
    *sources.urlpatterns,
    *field.urlpatterns,
    *desk.urlpatterns,
    *dashboards.urlpatterns,
]
