from django.urls import path

from loans import views

app_name = "loans"

urlpatterns = [
    path("", views.portfolio, name="portfolio"),
    path("portfolio-report.pdf", views.portfolio_report_pdf, name="portfolio_report_pdf"),
    path("par/", views.par_dashboard, name="par_dashboard"),
    path("new/", views.loan_create, name="loan_create"),
    path("preview/", views.loan_preview, name="preview"),
    path("approvals/", views.approvals, name="approvals"),
    path("catalogue/", views.catalogue, name="catalogue"),
    path(
        "products/<int:product_id>/new-version/",
        views.product_version_create,
        name="product_version_create",
    ),
    path("<int:pk>/", views.loan_detail, name="loan_detail"),
    path("<int:pk>/transactions/", views.loan_transactions_page, name="loan_transactions"),
    path("<int:pk>/history/", views.loan_history_page, name="loan_history"),
    path("<int:pk>/approve/", views.loan_approve, name="loan_approve"),
    path("<int:pk>/reject/", views.loan_reject, name="loan_reject"),
    path("<int:pk>/undo-approval/", views.loan_undo_approval, name="loan_undo_approval"),
    path("<int:pk>/withdraw/", views.loan_withdraw, name="loan_withdraw"),
    path("<int:pk>/disburse/", views.loan_disburse, name="loan_disburse"),
    path("<int:pk>/repay/", views.repayment_create, name="repayment_create"),
    path("<int:pk>/write-off/", views.loan_write_off, name="loan_write_off"),
    path(
        "<int:pk>/transactions/<int:transaction_id>/reverse/",
        views.repayment_reverse,
        name="repayment_reverse",
    ),
    path(
        "<int:pk>/transactions/<int:transaction_id>/receipt.pdf",
        views.receipt_pdf,
        name="receipt_pdf",
    ),
    path("<int:pk>/contract.pdf", views.contract_pdf, name="contract_pdf"),
    path("<int:pk>/statement.pdf", views.statement_pdf, name="statement_pdf"),
    path("<int:pk>/documents/", views.document_add, name="document_add"),
    path("<int:pk>/guarantors/", views.guarantor_add, name="guarantor_add"),
    path("<int:pk>/collateral/", views.collateral_add, name="collateral_add"),
    path(
        "<int:pk>/documents/<int:document_id>/",
        views.document_download,
        name="document_download",
    ),
]
