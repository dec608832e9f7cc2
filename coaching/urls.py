from django.urls import path

from coaching import client_report, views

app_name = "coaching"

urlpatterns = [
    path("", views.dashboard, name="dashboard"),
    path("products/", views.product_list, name="product_list"),
    path("products/new/", views.product_create, name="product_create"),
    path("products/<int:pk>/edit/", views.product_edit, name="product_edit"),
    path("coaches/", views.coach_list, name="coach_list"),
    path("coaches/new/", views.coach_create, name="coach_create"),
    path("coaches/<int:pk>/edit/", views.coach_edit, name="coach_edit"),
    path("requests/new/", views.engagement_request, name="engagement_request"),
    path("engagements/<int:pk>/", views.engagement_detail, name="engagement_detail"),
    path(
        "engagements/<int:pk>/transition/",
        views.engagement_transition,
        name="engagement_transition",
    ),
    path("engagements/<int:pk>/goals/", views.goal_add, name="goal_add"),
    path(
        "engagements/<int:pk>/goals/<int:goal_id>/achieved/",
        views.goal_achieved,
        name="goal_achieved",
    ),
    path("engagements/<int:pk>/milestones/", views.milestone_add, name="milestone_add"),
    path(
        "engagements/<int:pk>/milestones/<int:milestone_id>/reached/",
        views.milestone_reached,
        name="milestone_reached",
    ),
    path("engagements/<int:pk>/feedback/", views.feedback_add, name="feedback_add"),
    path("engagements/<int:pk>/sessions/new/", views.session_create, name="session_create"),
    path(
        "engagements/<int:pk>/sessions/<int:session_id>/outcome/",
        views.session_outcome,
        name="session_outcome",
    ),
    path(
        "engagements/<int:pk>/sessions/<int:session_id>/confirm/",
        views.session_confirm_staff,
        name="session_confirm_staff",
    ),
    path("clients/<int:party_id>/report/", client_report.client_report, name="client_report"),
    path("invoices/", views.invoice_list, name="invoice_list"),
    path("invoices/<int:pk>/", views.invoice_detail, name="invoice_detail"),
    path("invoices/<int:pk>/invoice.pdf", views.invoice_pdf, name="invoice_pdf"),
    path("invoices/<int:pk>/payments/", views.invoice_payment, name="invoice_payment"),
    path("invoices/<int:pk>/cancel/", views.invoice_cancel, name="invoice_cancel"),
    path("engagements/<int:pk>/invoice/", views.invoice_issue, name="invoice_issue"),
    path("referral-rules/", views.referral_rules, name="referral_rules"),
    path("reports/volunteer-hours/", views.volunteer_hours_report, name="volunteer_hours"),
    path("reports/<slug:name>/", views.coaching_report, name="report"),
    path("confirm/<str:token>/", views.session_confirm_public, name="session_confirm_public"),
]
