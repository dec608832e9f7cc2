"""P2P export API (mounted at /api/v1/p2p/)."""

from django.urls import path
from rest_framework.routers import SimpleRouter

from p2p_export.api import views

router = SimpleRouter()
router.register("publications", views.PublicationViewSet, basename="p2p-publication")
router.register("journals", views.JournalViewSet, basename="p2p-journal")
router.register("reports", views.ReportViewSet, basename="p2p-report")

urlpatterns = [
    path("eligible-loans/", views.EligibleLoansView.as_view(), name="p2p-eligible-loans"),
    path("dashboard/", views.DashboardView.as_view(), name="p2p-dashboard"),
    *router.urls,
]
