"""Two-factor enforcement: a signed-in user who owes a second factor reaches nothing else.

Runs after django-otp's ``OTPMiddleware``. Users of the roles in ``TWO_FACTOR_REQUIRED_ROLES`` and
anyone who turned two-factor authentication on must verify a code in each session. Pages redirect
to the enrolment or code page; session-authenticated API calls get a 403 JSON error. Requests that
authenticate with an API token carry no session user here and are left to DRF.
"""

from __future__ import annotations

from urllib.parse import urlencode

from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from users.two_factor import has_two_factor, two_factor_required_for

# Paths a user may reach before the second factor: the 2FA pages themselves, signing out,
# switching language, static files and the health check used by load balancers.
_OPEN_PREFIXES = ("/accounts/2fa/", "/accounts/logout/", "/i18n/", "/static/", "/healthz")


class TwoFactorMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and not request.path.startswith(_OPEN_PREFIXES)
            and not user.is_verified()
        ):
            enrolled = has_two_factor(user)
            if enrolled or two_factor_required_for(user):
                return self._refuse(request, enrolled=enrolled)
        return self.get_response(request)

    @staticmethod
    def _refuse(request, *, enrolled: bool):
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": _("Two-factor verification is required for this session.")},
                status=403,
            )
        target = reverse("two_factor_verify" if enrolled else "two_factor_setup")
        return redirect(f"{target}?{urlencode({'next': request.get_full_path()})}")
