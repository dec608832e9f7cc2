"""Give every request an id (or keep the one a proxy sent), echo it back, expose it to audit."""

from __future__ import annotations

import re

from audit.context import reset_request_id, set_request_id

_VALID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


class RequestIdMiddleware:
    header = "HTTP_X_REQUEST_ID"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.META.get(self.header, "")
        token = set_request_id(incoming if _VALID.match(incoming) else None)
        try:
            from audit.context import current_request_id

            request.request_id = current_request_id()
            response = self.get_response(request)
            response["X-Request-ID"] = request.request_id
            return response
        finally:
            reset_request_id(token)
