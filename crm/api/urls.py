from rest_framework.routers import DefaultRouter

from crm.api import views

router = DefaultRouter()
router.register("parties", views.PartyViewSet, basename="party")
router.register("persons", views.PersonViewSet, basename="person")
router.register("enterprises", views.EnterpriseViewSet, basename="enterprise")
router.register("interactions", views.InteractionViewSet, basename="interaction")
router.register("tasks", views.TaskViewSet, basename="task")

urlpatterns = router.urls
