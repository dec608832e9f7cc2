"""API plumbing shared by every app: error format and the mapping of domain errors.

Every error the API answers is JSON (``{"detail": ...}`` or field errors), whatever raised it:
DRF's own exceptions, Django's ``ValidationError`` from services, a suspicious request (too much
data, a malformed multipart body), or a URL that matches no API route (``page_not_found``, which
the root URLconf installs as ``handler404``).
"""

from __future__ import annotations

from django.core.exceptions import SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import JsonResponse
from django.utils.translation import gettext as _
from django.views import defaults
from rest_framework import exceptions
from rest_framework.views import exception_handler as drf_exception_handler

API_PREFIX = "/api/"
# Primary keys are PostgreSQL bigints: a larger number names no row.
_LARGEST_ID = 2**63 - 1


def exception_handler(exc, context):
    """DRF's handler, plus Django ``ValidationError`` from services as a 400 with field errors
    and Django's ``SuspiciousOperation`` (request body too big, too many fields) as a 400."""
    if isinstance(exc, DjangoValidationError):
        detail = exc.message_dict if hasattr(exc, "error_dict") else {"detail": exc.messages}
        exc = exceptions.ValidationError(detail=detail)
    elif isinstance(exc, SuspiciousOperation):
        exc = exceptions.ParseError(
            detail=_("The request could not be read: %(reason)s") % {"reason": exc}
        )
    return drf_exception_handler(exc, context)


def object_id(value) -> int:
    """A path parameter as the integer primary key it names; anything else (``abc``, ``0.5``,
    ``-1``, a number beyond a bigint) is a 404, as for an id that exists nowhere."""
    try:
        number = int(str(value))
    except (TypeError, ValueError):
        raise exceptions.NotFound() from None
    if not 1 <= number <= _LARGEST_ID:
        raise exceptions.NotFound()
    return number


def query_params(request):
    """The request's query parameters, refused with a 400 when a value holds a NUL character:
    PostgreSQL can neither store nor compare text that contains one."""
    for name, values in request.query_params.lists():
        if any("\x00" in value for value in values):
            raise exceptions.ValidationError({name: [_("Null characters are not allowed.")]})
    return request.query_params


def is_api_request(request) -> bool:
    return request.path_info.startswith(API_PREFIX)


def page_not_found(request, exception):
    """``handler404``: a JSON 404 under ``/api/``, the site's 404 page elsewhere."""
    if is_api_request(request):
        return JsonResponse({"detail": _("Not found.")}, status=404)
    return defaults.page_not_found(request, exception)


def bad_request(request, exception):
    """``handler400``: a JSON 400 under ``/api/``, the site's 400 page elsewhere."""
    if is_api_request(request):
        return JsonResponse({"detail": _("Bad request.")}, status=400)
    return defaults.bad_request(request, exception)


def server_error(request):
    """``handler500``: a JSON 500 under ``/api/`` (a client can parse it), the 500 page elsewhere."""
    if is_api_request(request):
        return JsonResponse({"detail": _("Server error.")}, status=500)
    return defaults.server_error(request)
