from django.urls import path
from rest_framework.routers import DefaultRouter

from crm.api import privacy, views

router = DefaultRouter()
router.register("parties", views.PartyViewSet, basename="party")
router.register("persons", views.PersonViewSet, basename="person")
router.register("enterprises", views.EnterpriseViewSet, basename="enterprise")
router.register("interactions", views.InteractionViewSet, basename="interaction")
router.register("tasks", views.TaskViewSet, basename="task")

urlpatterns = [
    path(
        "parties/<int:pk>/data-export/",
        privacy.PartyDataExportView.as_view(),
        name="party-data-export",
    ),
    path(
        "parties/<int:pk>/data-export/pdf/",
        privacy.PartyDataExportPdfView.as_view(),
        name="party-data-export-pdf",
    ),
    *router.urls,
]
