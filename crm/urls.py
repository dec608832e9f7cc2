from django.urls import path

from crm import lead_views, task_views, views, views_privacy

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
    path("<int:pk>/timeline/", task_views.party_timeline_view, name="party_timeline"),
    path("<int:pk>/interactions/new/", task_views.interaction_add, name="interaction_add"),
    # "My tasks" (served under /parties/tasks/ until the root URLconf mounts it at /tasks/).
    path("tasks/", task_views.task_list, name="task_list"),
    path("tasks/card/", task_views.task_card, name="task_card"),
    path("tasks/<int:task_id>/complete/", task_views.task_complete, name="task_complete"),
    path("tasks/<int:task_id>/cancel/", task_views.task_cancel, name="task_cancel"),
    path("tasks/<int:task_id>/reassign/", task_views.task_reassign, name="task_reassign"),
    path("leads/", lead_views.lead_pipeline, name="lead_pipeline"),
    path("<int:party_id>/lead/", lead_views.lead_create, name="lead_create"),
    path("leads/<int:lead_id>/move/", lead_views.lead_move, name="lead_move"),
    path("segments/", lead_views.segment_list, name="segment_list"),
    path("segments/<int:segment_id>/", lead_views.segment_open, name="segment_open"),
    path("duplicates/", lead_views.duplicate_review, name="duplicate_review"),
    path("duplicates/merge/", lead_views.party_merge, name="party_merge"),
    # Personal data: access log, data export, erasure requests.
    path("<int:pk>/privacy/", views_privacy.party_privacy, name="party_privacy"),
    path("<int:pk>/privacy/export.json", views_privacy.party_export_json, name="party_export_json"),
    path("<int:pk>/privacy/export.pdf", views_privacy.party_export_pdf, name="party_export_pdf"),
    path(
        "<int:pk>/privacy/erasure/", views_privacy.erasure_request_add, name="erasure_request_add"
    ),
    path(
        "privacy/erasure-requests/",
        views_privacy.erasure_request_list,
        name="erasure_request_list",
    ),
    path(
        "privacy/erasure-requests/<int:request_id>/approve/",
        views_privacy.erasure_request_approve,
        name="erasure_request_approve",
    ),
    path(
        "privacy/erasure-requests/<int:request_id>/reject/",
        views_privacy.erasure_request_reject,
        name="erasure_request_reject",
    ),
]
