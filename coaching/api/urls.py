from rest_framework.routers import SimpleRouter

from coaching.api import views

router = SimpleRouter()
router.register("engagements", views.EngagementViewSet, basename="coaching-engagement")
router.register("sessions", views.SessionViewSet, basename="coaching-session")
router.register("invoices", views.InvoiceViewSet, basename="coaching-invoice")

urlpatterns = router.urls
