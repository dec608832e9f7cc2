"""Adapter for a file-based platform (Babyloan-style, no public API).

Everything we send goes out in the monthly package (``p2p_export.packages``): this adapter only
says so (``queued``), delivers a built package to ``P2P_FILES_DELIVERY_URL`` when one is set, and
reads the platform's return file of status changes (fetched from the same endpoint, or uploaded
by staff).

Return file: CSV with a header ``internal_loan_id,platform_loan_id,status,funded_amount,changed_on``.
"""

from __future__ import annotations

import csv
import io
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.utils.translation import gettext as _

from p2p_export.http import HttpClient
from p2p_export.platforms import base

RETURN_COLUMNS = ("internal_loan_id", "platform_loan_id", "status", "funded_amount", "changed_on")


def parse_return_file(content: bytes) -> dict[str, base.RemoteLoan]:
    """The platform's return file → its view of each loan, keyed by our internal loan id.
    A malformed file is refused as a whole, with the line at fault."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise base.PlatformValidationError(
            {"file": [_("The return file is not UTF-8 text.")]}
        ) from exc
    reader = csv.DictReader(io.StringIO(text))
    missing = [column for column in RETURN_COLUMNS[:3] if column not in (reader.fieldnames or [])]
    if missing:
        raise base.PlatformValidationError(
            {"file": [_("Columns missing: %(columns)s.") % {"columns": ", ".join(missing)}]}
        )
    result = {}
    for line, row in enumerate(reader, start=2):
        status = (row.get("status") or "").strip()
        state = base.state_for(status)
        funded = (row.get("funded_amount") or "").strip()
        try:
            amount = Decimal(funded) if funded else None
        except InvalidOperation:
            amount = None
            state = ""
        if not state or not (row.get("internal_loan_id") or "").strip():
            raise base.PlatformValidationError(
                {"file": [_("Line %(line)s cannot be read.") % {"line": line}]}
            )
        internal = row["internal_loan_id"].strip()
        result[internal] = base.RemoteLoan(
            loan_id=(row.get("platform_loan_id") or "").strip(),
            status=status,
            state=state,
            funded_amount=amount,
            internal_loan_id=internal,
        )
    return result


class FilesAdapter(base.PlatformAdapter):
    delivers_by_package = True

    def __init__(self, platform, *, client: HttpClient | None = None):
        super().__init__(platform)
        self.url = settings.P2P_FILES_DELIVERY_URL.rstrip("/")
        self.http = client or HttpClient(
            name=platform.name, timeout=getattr(settings, "P2P_HTTP_TIMEOUT", 10.0)
        )

    @property
    def delivers_over_http(self) -> bool:
        return bool(self.url)

    def _headers(self) -> dict[str, str]:
        token = settings.P2P_FILES_TOKEN
        return {"Authorization": f"Bearer {token}"} if token else {}

    def lookups(self) -> list[base.LookupEntry]:
        return []  # the platform publishes no lists: sector and place travel as text

    def push_draft(self, *, internal_loan_id: str, payload: dict) -> base.PushResult:
        return base.PushResult(
            remote=base.RemoteLoan(internal_loan_id=internal_loan_id), queued=True
        )

    def loan_statuses(self, internal_loan_ids: list[str]) -> dict[str, base.RemoteLoan]:
        if not self.url:
            return {}
        response = self.http.request("GET", f"{self.url}/returns", headers=self._headers())
        if response.status_code != 200:
            raise base.PlatformRefused(
                _("The platform answered HTTP %(status)s to the return-file request.")
                % {"status": response.status_code}
            )
        wanted = set(internal_loan_ids)
        return {
            key: remote
            for key, remote in parse_return_file(response.content).items()
            if key in wanted
        }

    def deliver_package(self, *, filename: str, content: bytes) -> str:
        """Upload a package; returns the platform's receipt id."""
        if not self.url:
            raise base.PlatformRefused(
                _("No delivery endpoint is configured (P2P_FILES_DELIVERY_URL).")
            )
        response = self.http.request(
            "POST",
            f"{self.url}/packages",
            headers={
                **self._headers(),
                "Content-Type": "application/zip",
                "X-Package-Name": filename,
            },
            content=content,
        )
        if response.status_code == 400:
            raise base.PlatformValidationError({"package": [response.text[:500]]})
        if response.status_code >= 400:
            raise base.PlatformRefused(
                _("The platform answered HTTP %(status)s: %(text)s")
                % {"status": response.status_code, "text": response.text[:300]}
            )
        return str(response.json().get("package_id", ""))

    def send_repayments(self, lines: list[base.RepaymentLine], *, key: str) -> base.SendResult:
        return base.SendResult(queued=True)

    def send_journal(self, payload: dict, *, key: str) -> base.SendResult:
        return base.SendResult(queued=True)

    def request_takedown(self, remote: base.RemoteLoan, *, key: str) -> base.SendResult:
        return base.SendResult(queued=True)

    def request_anonymisation(self, remote: base.RemoteLoan, *, key: str) -> base.SendResult:
        return base.SendResult(queued=True)
