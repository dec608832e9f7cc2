from django.urls import path
from rest_framework.routers import DefaultRouter

from accounting.api import views

router = DefaultRouter()
router.register("accounts", views.AccountViewSet, basename="account")
router.register("entries", views.JournalEntryViewSet, basename="journal-entry")

urlpatterns = [
    path("trial-balance/", views.trial_balance_view, name="trial-balance"),
    path("balance-sheet/", views.balance_sheet_view, name="balance-sheet"),
    *router.urls,
]
