"""Validation of uploaded files: the type is sniffed from the content, never trusted from the name."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

# Leading bytes of each accepted type, and the extension we store it under.
_SIGNATURES: dict[str, tuple[bytes, str]] = {
    "pdf": (b"%PDF-", "pdf"),
    "png": (b"\x89PNG\r\n\x1a\n", "png"),
    "jpeg": (b"\xff\xd8\xff", "jpg"),
}
DOCUMENT_TYPES = frozenset({"pdf", "png", "jpeg"})


def sniff_type(head: bytes) -> str | None:
    for name, (signature, _extension) in _SIGNATURES.items():
        if head.startswith(signature):
            return name
    return None


def validate_upload(uploaded, *, allowed: frozenset[str] = DOCUMENT_TYPES) -> None:
    """Reject files that are too large or whose content is not one of the allowed types.

    On success the file gets a random name with the extension of its real type, so a
    user-supplied name never reaches the file system.
    """
    if uploaded.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            _("The file is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {
                "size": round(uploaded.size / 1_048_576, 1),
                "limit": round(settings.UPLOAD_MAX_BYTES / 1_048_576, 1),
            },
            code="file_too_large",
        )
    uploaded.seek(0)
    head = uploaded.read(16)
    uploaded.seek(0)
    kind = sniff_type(head)
    if kind is None or kind not in allowed:
        raise ValidationError(
            _("This file type is not accepted; upload a PDF, PNG or JPEG file."),
            code="file_type",
        )
    uploaded.name = f"{uuid.uuid4().hex}.{_SIGNATURES[kind][1]}"
