"""Adapter for a Kiva-compatible partner API (OAuth2 client credentials, partner v3 routes).

The token is cached in the Django cache and fetched again shortly before it expires (the margin
is a tenth of its life, at least a second, at most five minutes) and whenever the API answers 401. Base URLs,
partner id and credentials come from settings (the environment), never from the database.
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import httpx
from django.conf import settings
from django.core.cache import cache
from django.utils.translation import gettext as _

from p2p_export.choices import LookupKind
from p2p_export.http import HttpClient
from p2p_export.platforms.base import (
    LookupEntry,
    PlatformAdapter,
    PlatformRefused,
    PlatformValidationError,
    PushResult,
    RemoteLoan,
    RepaymentLine,
    SendResult,
    state_for,
)

SCOPES = "create:loan_draft read:loans create:journal_update create:repayments"
MAX_REPAYMENTS_PER_CALL = 300
# The partner API's field names → our profile fields, so its errors land on the right field.
FIELD_NAMES = {
    "activity_id": "activity",
    "theme_type_id": "theme",
    "location": "location",
    "description": "story",
    "description_language": "description_language",
    "loanuse": "loan_use",
    "currency": "currency",
    "disburse_time": "disbursement_date",
    "client_waiver_signed": "waiver",
    "image_encoded": "photo",
    "borrowers": "borrowers",
    "not_pictured": "borrowers",
    "schedule": "schedule",
    "group_name": "group_name",
}
LOOKUP_PATHS = {
    LookupKind.ACTIVITY: "activities",
    LookupKind.THEME: "themes",
    LookupKind.LOCATION: "locations",
    LookupKind.LOCALE: "locales",
}


def field_errors(body) -> dict[str, list[str]]:
    """The partner API's 400 body (``{"errors": [{"field", "message"}]}``) by our field names."""
    errors: dict[str, list[str]] = {}
    items = body.get("errors") if isinstance(body, dict) else None
    if not items:
        message = body.get("message") if isinstance(body, dict) else None
        return {"__all__": [str(message or body)[:500]]}
    for item in items:
        key = FIELD_NAMES.get(str(item.get("field", "")).split(".")[0].split("[")[0], "__all__")
        errors.setdefault(key, []).append(str(item.get("message", ""))[:500])
    return errors


def _remote(record: dict) -> RemoteLoan:
    funded = record.get("funded_amount")
    return RemoteLoan(
        draft_id=str(record.get("loan_draft_id") or ""),
        loan_id=str(record.get("loan_id") or ""),
        status=str(record.get("status") or ""),
        state=state_for(str(record.get("status") or "")),
        funded_amount=Decimal(str(funded)) if funded is not None else None,
        internal_loan_id=str(record.get("internal_loan_id") or ""),
    )


class KivaAdapter(PlatformAdapter):
    def __init__(self, platform, *, client: HttpClient | None = None):
        super().__init__(platform)
        self.base_url = settings.KIVA_API_BASE_URL.rstrip("/")
        self.auth_url = settings.KIVA_AUTH_URL
        self.client_id = settings.KIVA_CLIENT_ID
        self.partner_id = settings.KIVA_PARTNER_ID
        if not (self.base_url and self.auth_url and self.client_id and self.partner_id):
            raise PlatformRefused(
                _(
                    "The Kiva connection is not configured: set KIVA_API_BASE_URL, KIVA_AUTH_URL, "
                    "KIVA_CLIENT_ID, KIVA_CLIENT_SECRET and KIVA_PARTNER_ID."
                )
            )
        self.http = client or HttpClient(
            name=platform.name, timeout=getattr(settings, "P2P_HTTP_TIMEOUT", 10.0)
        )
        digest = hashlib.sha256(f"{self.auth_url}|{self.client_id}".encode()).hexdigest()[:16]
        self.token_key = f"p2p:kiva:token:{digest}"

    # --- transport ----------------------------------------------------------------------------
    def _token(self, *, fresh: bool = False) -> str:
        token = None if fresh else cache.get(self.token_key)
        if token:
            return token
        response = self.http.request(
            "POST",
            self.auth_url,
            data={"grant_type": "client_credentials", "scope": SCOPES},
            auth=(self.client_id, settings.KIVA_CLIENT_SECRET),
        )
        if response.status_code != 200:
            raise PlatformRefused(
                _("The platform refused our credentials (HTTP %(status)s).")
                % {"status": response.status_code}
            )
        body = response.json()
        lifetime = int(body.get("expires_in", 3600))
        margin = min(300, max(1, lifetime // 10))
        cache.set(self.token_key, body["access_token"], timeout=max(1, lifetime - margin))
        return body["access_token"]

    def _call(self, method: str, path: str, *, key: str = "", **kwargs) -> httpx.Response:
        url = f"{self.base_url}/v3/partner/{self.partner_id}/{path}"
        headers = {"Accept": "application/json"}
        if key:
            headers["Idempotency-Key"] = key
        response = None
        for fresh in (False, True):
            headers["Authorization"] = f"Bearer {self._token(fresh=fresh)}"
            response = self.http.request(method, url, headers=headers, **kwargs)
            if response.status_code != 401:
                break
            cache.delete(self.token_key)
        if response.status_code == 400:
            raise PlatformValidationError(field_errors(_json(response)))
        if response.status_code >= 400:
            raise PlatformRefused(
                _("The platform answered HTTP %(status)s: %(text)s")
                % {"status": response.status_code, "text": response.text[:300]}
            )
        return response

    # --- the interface --------------------------------------------------------------------------
    def lookups(self) -> list[LookupEntry]:
        entries = []
        for kind, path in LOOKUP_PATHS.items():
            for item in _json(self._call("GET", path)):
                entries.append(LookupEntry(kind, str(item["id"]), str(item["name"])[:200]))
        return entries

    def find_loan(self, internal_loan_id: str) -> RemoteLoan | None:
        body = _json(self._call("GET", "loans", params={"internal_loan_id": internal_loan_id}))
        records = [
            row for row in body.get("data", []) if row.get("internal_loan_id") == internal_loan_id
        ]
        return _remote(records[0]) if records else None

    def push_draft(self, *, internal_loan_id: str, payload: dict) -> PushResult:
        existing = self.find_loan(internal_loan_id)
        if existing is not None:
            return PushResult(remote=existing, found_existing=True)
        return PushResult(remote=_remote(_json(self._call("POST", "loan_draft", json=payload))))

    def loan_statuses(self, internal_loan_ids: list[str]) -> dict[str, RemoteLoan]:
        result = {}
        for internal_loan_id in internal_loan_ids:
            remote = self.find_loan(internal_loan_id)
            if remote is not None:
                result[internal_loan_id] = remote
        return result

    def send_repayments(self, lines: list[RepaymentLine], *, key: str) -> SendResult:
        references = []
        for start in range(0, len(lines), MAX_REPAYMENTS_PER_CALL):
            batch = lines[start : start + MAX_REPAYMENTS_PER_CALL]
            body = {
                "repayments": [
                    {
                        "loan_id": line.loan_id,
                        "client_id": line.client_id,
                        "amount": str(line.amount),
                    }
                    for line in batch
                ]
            }
            number = start // MAX_REPAYMENTS_PER_CALL + 1
            answer = _json(self._call("POST", "repayments", key=f"{key}:{number}", json=body))
            references.append(str(answer.get("repayment_batch_id", "")))
        return SendResult(references=references)

    def send_journal(self, payload: dict, *, key: str) -> SendResult:
        answer = _json(self._call("POST", "journals", key=key, json=payload))
        return SendResult(references=[str(answer.get("journal_id", ""))])

    def request_takedown(self, remote: RemoteLoan, *, key: str) -> SendResult:
        answer = _json(self._call("POST", f"loans/{remote.draft_id}/takedown", key=key))
        return SendResult(references=[str(answer.get("status", ""))])

    def request_anonymisation(self, remote: RemoteLoan, *, key: str) -> SendResult:
        answer = _json(self._call("POST", f"loans/{remote.draft_id}/anonymize", key=key))
        return SendResult(references=[str(answer.get("status", ""))])


def _json(response: httpx.Response):
    try:
        return response.json()
    except ValueError as exc:
        raise PlatformRefused(
            _("The platform sent an answer that is not JSON (HTTP %(status)s).")
            % {"status": response.status_code}
        ) from exc
