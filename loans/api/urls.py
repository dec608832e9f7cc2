from django.urls import path
from rest_framework.routers import DefaultRouter

from loans.api import views

router = DefaultRouter()
router.register("", views.LoanViewSet, basename="loan")

urlpatterns = [
    path("schedule-preview/", views.schedule_preview, name="loan-schedule-preview"),
    path("portfolio-quality/", views.portfolio_quality_view, name="loan-portfolio-quality"),
    *router.urls,
]
