from django.urls import path

from crm import views

app_name = "crm"

urlpatterns = [
    path("", views.party_list, name="party_list"),
    path("new/<str:kind>/", views.party_create, name="party_create"),
    path("<int:pk>/", views.party_detail, name="party_detail"),
    path("<int:pk>/history/", views.party_history, name="party_history"),
    path("<int:pk>/edit/", views.party_edit, name="party_edit"),
    path("<int:pk>/links/", views.party_link_add, name="party_link_add"),
    path("<int:pk>/links/<int:link_id>/delete/", views.party_link_delete, name="party_link_delete"),
    path("<int:pk>/consents/new/", views.consent_add, name="consent_add"),
    path(
        "<int:pk>/consents/<int:consent_id>/withdraw/",
        views.consent_withdraw,
        name="consent_withdraw",
    ),
    path(
        "<int:pk>/consents/<int:consent_id>/evidence/",
        views.consent_evidence,
        name="consent_evidence",
    ),
]
