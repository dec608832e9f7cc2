from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from loans.api import views as loans_api
from mfi import views
from users.forms import ThrottledAuthenticationForm

api_v1 = [
    path("", include("crm.api.urls")),
    path(
        "accounting/reconciliation/loans/",
        loans_api.reconciliation_view,
        name="loan-reconciliation",
    ),
    path("accounting/", include("accounting.api.urls")),
    path("loans/", include("loans.api.urls")),
    path("coaching/", include("coaching.api.urls")),
    path("compliance/", include("compliance.api.urls")),
    path("p2p/", include("p2p_export.api.urls")),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="swagger-ui"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("search/", views.search, name="search"),
    path("healthz", views.healthz, name="healthz"),
    path("system/", views.system_status, name="system_status"),
    path(
        "accounts/login/",
        auth_views.LoginView.as_view(
            authentication_form=ThrottledAuthenticationForm, redirect_authenticated_user=True
        ),
        name="login",
    ),
    path("accounts/2fa/", include("users.urls")),
    path("accounts/", include("django.contrib.auth.urls")),
    path("parties/", include("crm.urls")),
    path("tasks/", RedirectView.as_view(pattern_name="crm:task_list"), name="tasks"),
    path("audit/", include("audit.urls")),
    path("accounting/", include("accounting.urls")),
    path("loans/", include("loans.urls")),
    path("coaching/", include("coaching.urls")),
    path("learning/", include("elearning.urls")),
    path("compliance/", include("compliance.urls")),
    path("p2p/", include("p2p_export.urls")),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", include(api_v1)),
    path("admin/", admin.site.urls),
]

# Errors under /api/ are JSON like every other API error; the site keeps its HTML pages.
handler400 = "mfi.api.bad_request"
handler404 = "mfi.api.page_not_found"
handler500 = "mfi.api.server_error"
