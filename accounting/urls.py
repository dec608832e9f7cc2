from django.urls import path

from accounting import report_views, views

app_name = "accounting"

urlpatterns = [
    path("", views.overview, name="overview"),
    path("accounts/", views.chart_of_accounts, name="chart"),
    path("entries/", views.entry_list, name="entry_list"),
    path("entries/new/", views.entry_create, name="entry_create"),
    path("entries/<int:pk>/", views.entry_detail, name="entry_detail"),
    path("entries/<int:pk>/approve/", views.entry_approve, name="entry_approve"),
    path("entries/<int:pk>/reject/", views.entry_reject, name="entry_reject"),
    path("entries/<int:pk>/reverse/", views.entry_reverse, name="entry_reverse"),
    path("periods/", views.periods, name="periods"),
    path("reports/<slug:name>/", report_views.report, name="report"),
]
