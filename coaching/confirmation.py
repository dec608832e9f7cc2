"""Signed links a customer opens to confirm they attended a held session (no sign-in needed).

The token names the session and is signed with the site's secret key; it expires after
``CONFIRMATION_MAX_AGE`` seconds. Confirming is done by ``services.session_confirm_by_customer``.
"""

from __future__ import annotations

from django.core import signing

CONFIRMATION_SALT = "coaching.session-confirmation"
CONFIRMATION_MAX_AGE = 30 * 24 * 3600  # a month for the customer to answer


def confirmation_token(session_id: int) -> str:
    return signing.dumps({"session": session_id}, salt=CONFIRMATION_SALT, compress=True)


def session_id_from_token(token: str) -> int | None:
    """The session the token was made for, or None if it is forged, malformed or expired."""
    try:
        data = signing.loads(token, salt=CONFIRMATION_SALT, max_age=CONFIRMATION_MAX_AGE)
    except signing.BadSignature:  # SignatureExpired is a BadSignature
        return None
    session_id = data.get("session") if isinstance(data, dict) else None
    return session_id if isinstance(session_id, int) else None
