"""Validation of uploaded files: the type is sniffed from the content, never trusted from the
name or the Content-Type the browser sent.

Every place that accepts a file from a user uses one of these validators: in the form, for the
message next to the field (loan documents, consent evidence, lesson files, CSV files), and in the
service when an API reaches it without a form (follow-up photos, waiver scans, lesson files).
P2P photos and news images are decoded by Pillow instead (``p2p_export.photos``), which checks
the content more strictly still and re-encodes it.

- ``validate_upload``: a stored document or picture (PDF, PNG, JPEG, or a subset of them). On
  success the file is renamed to a random name with the extension of its real type, so a
  user-supplied name never reaches the file system.
- ``validate_csv_upload``: a CSV file that is read and applied, not stored (registry files,
  P2P return files): UTF-8 text, not markup or a binary in disguise.

Files are stored under ``MEDIA_ROOT`` (outside the web root, which no URL serves) and leave only
through views that check the user may see the object they belong to.
"""

from __future__ import annotations

import codecs
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
PHOTO_TYPES = frozenset({"png", "jpeg"})
# Leading bytes of types a CSV file must never be (archives, executables, office files).
_BINARY_SIGNATURES = (b"PK\x03\x04", b"\x7fELF", b"MZ", b"\xd0\xcf\x11\xe0", b"\x1f\x8b")
_CSV_HEAD = 8192


def sniff_type(head: bytes) -> str | None:
    for name, (signature, _extension) in _SIGNATURES.items():
        if head.startswith(signature):
            return name
    return None


def _check_size(uploaded, max_bytes: int | None) -> None:
    limit = max_bytes if max_bytes is not None else settings.UPLOAD_MAX_BYTES
    if uploaded.size > limit:
        raise ValidationError(
            _("The file is too large (%(size)s MB); the limit is %(limit)s MB.")
            % {
                "size": round(uploaded.size / 1_048_576, 1),
                "limit": round(limit / 1_048_576, 1),
            },
            code="file_too_large",
        )


def _head(uploaded, size: int) -> bytes:
    uploaded.seek(0)
    head = uploaded.read(size)
    uploaded.seek(0)
    return head


def validate_upload(
    uploaded, *, allowed: frozenset[str] = DOCUMENT_TYPES, max_bytes: int | None = None
) -> None:
    """Reject files larger than ``max_bytes`` (default ``UPLOAD_MAX_BYTES``) or whose content
    is not one of the ``allowed`` types; then give the file a random name with the extension of
    its real type."""
    _check_size(uploaded, max_bytes)
    kind = sniff_type(_head(uploaded, 16))
    if kind is None or kind not in allowed:
        raise ValidationError(
            _("This file type is not accepted; upload a PDF, PNG or JPEG file."),
            code="file_type",
        )
    uploaded.name = f"{uuid.uuid4().hex}.{_SIGNATURES[kind][1]}"


def validate_csv_upload(uploaded, *, max_bytes: int | None = None, message: str = "") -> None:
    """Reject a file that is too large, not named .csv, or whose content is not UTF-8 text: a
    NUL byte, invalid UTF-8, a PDF, picture, archive or executable, or HTML/XML markup (a page
    or script with a .csv name) in its first 8 KB. Its rows are checked by whoever reads it.
    ``message`` replaces the generic refusal (e.g. one naming the registry's file)."""
    _check_size(uploaded, max_bytes)
    refused = ValidationError(
        message or _("Upload a CSV file (UTF-8 text, comma-separated, ending in .csv)."),
        code="file_type",
    )
    if not (uploaded.name or "").lower().endswith(".csv"):
        raise refused
    head = _head(uploaded, _CSV_HEAD)
    if b"\x00" in head or sniff_type(head) or head.startswith(_BINARY_SIGNATURES):
        raise refused
    try:
        # incremental, so a character cut at the end of the first 8 KB is not an error
        text = codecs.getincrementaldecoder("utf-8-sig")().decode(head, final=False)
    except UnicodeDecodeError as exc:
        raise refused from exc
    if text.lstrip().startswith("<"):
        raise refused
