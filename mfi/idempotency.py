"""``Idempotency-Key`` on write APIs: a repeat returns the first result; a repeat while the
first is still in flight gets 409; the same key with a different body gets 422.

The key is claimed in its own committed row *before* the work starts, so a concurrent repeat
sees it at once; if the work fails, the claim is released and the client may retry.
"""

from __future__ import annotations

import hashlib
import json
from functools import wraps

from django.db import IntegrityError, transaction
from rest_framework.response import Response

from mfi.models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def idempotent(view_method):
    """Decorate a DRF view method (``def post(self, request, ...)`` or an ``@action``)."""

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.META.get(HEADER, "").strip()
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 100:
            return Response(
                {"detail": "Idempotency-Key is longer than 100 characters."}, status=400
            )
        fingerprint = _fingerprint(request)
        try:
            with transaction.atomic():
                record = IdempotencyRecord.objects.create(
                    user=request.user, key=key, fingerprint=fingerprint
                )
        except IntegrityError:
            record = IdempotencyRecord.objects.get(user=request.user, key=key)
            if record.fingerprint != fingerprint:
                return Response(
                    {"detail": "This Idempotency-Key was used for another request."}, status=422
                )
            if record.response_status is None:
                return Response(
                    {"detail": "A request with this Idempotency-Key is in progress."}, status=409
                )
            return Response(
                record.response_body,
                status=record.response_status,
                headers={"Idempotent-Replayed": "true"},
            )
        try:
            response = view_method(self, request, *args, **kwargs)
        except Exception:
            record.delete()
            raise
        if response.status_code >= 500:
            record.delete()
            return response
        record.response_status = response.status_code
        record.response_body = response.data
        record.save(update_fields=["response_status", "response_body"])
        return response

    return wrapper
