"""P2P export screens (mounted at /p2p/): each area's view module owns its URL patterns."""

from p2p_export.views import (
    dashboard,
    journals,
    platforms,
    profile,
    publications,
    reconciliation,
    reports,
    selection,
)

app_name = "p2p_export"
urlpatterns = [
    *dashboard.urlpatterns,
    *platforms.urlpatterns,
    *selection.urlpatterns,
    *publications.urlpatterns,
    *profile.urlpatterns,
    *journals.urlpatterns,
    *reports.urlpatterns,
    *reconciliation.urlpatterns,
]
