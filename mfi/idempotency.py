"""``Idempotency-Key`` on write APIs: a repeat returns the first result; the same key with a
different body gets 422.

The key is claimed, the work done and the response stored in *one* transaction. A concurrent
repeat's claim (``INSERT … ON CONFLICT DO NOTHING``) waits on the unique index until the first
transaction ends: if it committed, the repeat answers with the stored result; if it rolled back
(the work failed), the repeat takes the key and does the work itself. So a repeat never posts
twice and never sees a half-done request, and the happy path costs one commit.
"""

from __future__ import annotations

import hashlib
import json
from functools import wraps

from django.db import connection, transaction
from django.utils import timezone
from rest_framework.response import Response

from mfi.models import IdempotencyRecord

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 100


def _fingerprint(request) -> str:
    body = json.dumps(request.data, sort_keys=True, default=str)
    return hashlib.sha256(f"{request.method} {request.path}\n{body}".encode()).hexdigest()


def _claim(*, user_id: int, key: str, fingerprint: str) -> int | None:
    """The new record's id, or None when the key is already taken (after waiting for a
    concurrent claim of it to commit or roll back)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO mfi_idempotencyrecord (user_id, key, fingerprint, created_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (user_id, key) DO NOTHING RETURNING id",
            [user_id, key, fingerprint, timezone.now()],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _answer_repeat(record: IdempotencyRecord, fingerprint: str) -> Response:
    if record.fingerprint != fingerprint:
        return Response(
            {"detail": "This Idempotency-Key was used for another request."}, status=422
        )
    if record.response_status is None:  # claimed by a request that has not answered yet
        return Response(
            {"detail": "A request with this Idempotency-Key is in progress."}, status=409
        )
    return Response(
        record.response_body,
        status=record.response_status,
        headers={"Idempotent-Replayed": "true"},
    )


def idempotent(view_method):
    """Decorate a DRF view method (``def post(self, request, ...)`` or an ``@action``)."""

    @wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.META.get(HEADER, "").strip()
        if not key:
            return view_method(self, request, *args, **kwargs)
        if len(key) > MAX_KEY_LENGTH:
            return Response(
                {"detail": f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters."},
                status=400,
            )
        fingerprint = _fingerprint(request)
        with transaction.atomic():
            record_id = _claim(user_id=request.user.pk, key=key, fingerprint=fingerprint)
            if record_id is None:
                record = IdempotencyRecord.objects.get(user=request.user, key=key)
                return _answer_repeat(record, fingerprint)
            # an exception rolls the claim back with the work: the client may retry the key
            response = view_method(self, request, *args, **kwargs)
            if response.status_code >= 500:
                transaction.set_rollback(True)
                return response
            IdempotencyRecord.objects.filter(pk=record_id).update(
                response_status=response.status_code, response_body=response.data
            )
        return response

    return wrapper
