"""Sandbox of a Kiva-compatible partner API (served on port 8110 by ``python -m sandbox``).

- ``POST /oauth/token``: client credentials (HTTP Basic or form fields) → a bearer token that
  lives ``token_ttl`` seconds (12 h by default); an expired or unknown token gets 401.
- ``GET /v3/partner/{id}/activities|themes|locations|locales``: lookup lists.
- ``POST /v3/partner/{id}/loan_draft``: validates like the partner API (400 with
  ``{"code", "message", "errors": [{"field", "message"}]}``) and creates a draft. Like the real
  API it does **not** refuse a second draft for the same internal loan id: callers look first.
- ``GET /v3/partner/{id}/loans?internal_loan_id=``: drafts and loans for our id. Each such poll
  moves a loan one step along draft → fundraising → raised → payingBack (deterministic).
- ``POST /v3/partner/{id}/repayments``: at most 300 ``{loan_id, client_id, amount}`` per call.
- ``POST /v3/partner/{id}/journals``: ``{internal_loan_id, internal_client_id, subject, body,
  image}``.
- ``POST /v3/partner/{id}/loans/{draft_id}/takedown|anonymize``.
Writes honour an ``Idempotency-Key`` header (a repeat returns the first answer).

Sandbox controls (outside the API): ``POST /sandbox/expire-tokens``; ``PUT
/sandbox/loans/{internal_loan_id}`` with ``{"status": ...}``; ``GET /sandbox/state``.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import secrets
import time
import uuid
from decimal import Decimal, InvalidOperation

from sandbox.core import App, Request, Response, error, json_response

CLIENT_ID = "demo-client"
CLIENT_SECRET = "demo-secret"  # noqa: S105 - a sandbox credential, published in docs/p2p.md
PARTNER = r"/v3/partner/(?P<partner>\d+)"
ROAD = ("draft", "fundraising", "raised", "payingBack")
CURRENCIES = ("CVE", "EUR", "USD", "XOF")
MIN_DESCRIPTION = 150
MAX_REPAYMENTS = 300

ACTIVITIES = [
    (61, "Agriculture"),
    (104, "Fishing"),
    (82, "Food Market"),
    (120, "Restaurant"),
    (113, "General Store"),
    (33, "Clothing Sales"),
    (9, "Crafts"),
    (58, "Construction"),
    (142, "Hotel"),
    (87, "Transportation"),
    (64, "Services"),
    (25, "Retail"),
]
THEMES = [(1, "Women-owned business"), (2, "Rural exclusion"), (3, "Green")]
LOCATIONS = [
    (238, "Praia, Santiago"),
    (239, "Assomada, Santiago"),
    (240, "Mindelo, São Vicente"),
    (241, "Espargos, Sal"),
    (242, "São Filipe, Fogo"),
    (243, "Porto Novo, Santo Antão"),
]
LOCALES = [("en", "English"), ("fr", "French"), ("pt", "Portuguese"), ("es", "Spanish")]


def _problem(errors: list[tuple[str, str]]) -> Response:
    return json_response(
        {
            "code": "api.error.validation",
            "message": "The request is not valid.",
            "errors": [{"field": field, "message": message} for field, message in errors],
        },
        status=400,
    )


def _amount(value) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, TypeError):
        return None


def _draft_errors(body: dict) -> list[tuple[str, str]]:
    """The partner API's rules for a loan draft."""
    errors = []
    for field in (
        "internal_loan_id",
        "activity_id",
        "location",
        "description",
        "description_language",
        "loanuse",
        "currency",
        "disburse_time",
    ):
        if body.get(field) in (None, ""):
            errors.append((field, f"{field} is required."))
    if body.get("activity_id") not in (None, "") and int(body["activity_id"]) not in dict(
        ACTIVITIES
    ):
        errors.append(("activity_id", "Unknown activity."))
    if body.get("theme_type_id") and int(body["theme_type_id"]) not in dict(THEMES):
        errors.append(("theme_type_id", "Unknown theme."))
    if body.get("location") and body["location"] not in {name for _id, name in LOCATIONS}:
        errors.append(("location", "Unknown location."))
    if body.get("description_language") and body["description_language"] not in dict(LOCALES):
        errors.append(("description_language", "Unknown language."))
    if body.get("description") and len(body["description"]) < MIN_DESCRIPTION:
        errors.append(
            ("description", f"The description must be at least {MIN_DESCRIPTION} characters.")
        )
    if body.get("currency") and body["currency"] not in CURRENCIES:
        errors.append(("currency", "This currency is not supported."))
    if body.get("client_waiver_signed") is not True:
        errors.append(("client_waiver_signed", "The client waiver must be signed."))
    borrowers = body.get("borrowers") or []
    schedule = body.get("schedule") or []
    if not borrowers:
        errors.append(("borrowers", "At least one borrower is required."))
    if not schedule:
        errors.append(("schedule", "A repayment schedule is required."))
    for index, borrower in enumerate(borrowers):
        for field in ("first_name", "last_name", "gender", "client_id", "loan_id", "amount"):
            if borrower.get(field) in (None, ""):
                errors.append((f"borrowers[{index}].{field}", f"{field} is required."))
    if len(borrowers) < 2 and body.get("group_name"):
        errors.append(("group_name", "group_name is only allowed on group loans."))
    if len(borrowers) > 1 and not body.get("group_name"):
        errors.append(("group_name", "A group loan needs a group_name."))
    lent = sum((_amount(b.get("amount")) or Decimal(0) for b in borrowers), Decimal(0))
    principal = sum((_amount(row.get("principal")) or Decimal(0) for row in schedule), Decimal(0))
    if borrowers and schedule and lent != principal:
        errors.append(
            ("schedule", f"The schedule's principal ({principal}) differs from the loan ({lent}).")
        )
    not_pictured = set(body.get("not_pictured") or [])
    everyone_hidden = borrowers and not_pictured >= {b.get("client_id") for b in borrowers}
    image = body.get("image_encoded")
    if not image and not everyone_hidden:
        errors.append(("image_encoded", "An image is required unless no borrower is pictured."))
    elif image:
        try:
            if not base64.b64decode(image, validate=True).startswith(b"\xff\xd8\xff"):
                errors.append(("image_encoded", "The image must be a JPEG."))
        except (binascii.Error, ValueError):
            errors.append(("image_encoded", "The image is not valid base64."))
    return errors


def build_app(
    *, client_id: str = CLIENT_ID, client_secret: str = CLIENT_SECRET, token_ttl: int = 43200
) -> App:
    app = App("kiva")
    tokens: dict[str, float] = {}
    drafts: dict[str, dict] = {}
    answered: dict[str, Response] = {}
    repayments: list[dict] = []
    journals: list[dict] = []
    loan_ids = itertools.count(2_000_001)
    app.state = {"drafts": drafts, "repayments": repayments, "journals": journals}

    def authorised(request: Request) -> bool:
        expires = tokens.get(request.bearer_token)
        return expires is not None and expires > time.monotonic()

    def api(handler):
        """Bearer token required; a write with an Idempotency-Key answers a repeat from memory."""

        def wrapped(request: Request) -> Response:
            if not authorised(request):
                return error(401, "invalid or expired token")
            key = request.headers.get("idempotency-key", "")
            with app.lock:
                if key and key in answered:
                    return answered[key]
            response = handler(request)
            if key and response.status < 400:
                with app.lock:
                    answered[key] = response
            return response

        return wrapped

    @app.route("POST", "/oauth/token")
    def token(request: Request) -> Response:
        form = request.form()
        given_id, given_secret = form.get("client_id", ""), form.get("client_secret", "")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            given_id, _sep, given_secret = base64.b64decode(basic[6:]).decode().partition(":")
        if form.get("grant_type") != "client_credentials":
            return error(400, "unsupported_grant_type")
        if not (
            secrets.compare_digest(given_id, client_id)
            and secrets.compare_digest(given_secret, client_secret)
        ):
            return error(401, "invalid_client")
        value = secrets.token_urlsafe(24)
        with app.lock:
            tokens[value] = time.monotonic() + token_ttl
        return json_response(
            {
                "access_token": value,
                "token_type": "bearer",
                "expires_in": token_ttl,
                "scope": form.get("scope", ""),
            }
        )

    def lookup(rows):
        return api(lambda request: json_response([{"id": key, "name": name} for key, name in rows]))

    app.route("GET", f"{PARTNER}/activities")(lookup(ACTIVITIES))
    app.route("GET", f"{PARTNER}/themes")(lookup(THEMES))
    app.route("GET", f"{PARTNER}/locations")(lookup(LOCATIONS))
    app.route("GET", f"{PARTNER}/locales")(lookup(LOCALES))

    def public(record: dict) -> dict:
        return {key: value for key, value in record.items() if key != "payload"}

    @app.route("POST", f"{PARTNER}/loan_draft")
    @api
    def loan_draft(request: Request) -> Response:
        body = request.json()
        if not isinstance(body, dict):
            return _problem([("body", "A JSON object is expected.")])
        problems = _draft_errors(body)
        if problems:
            return _problem(problems)
        record = {
            "loan_draft_id": str(uuid.uuid4()),
            "loan_id": None,
            "internal_loan_id": body["internal_loan_id"],
            "internal_client_id": body.get("internal_client_id", ""),
            "status": "draft",
            "amount": str(sum(_amount(b["amount"]) for b in body["borrowers"])),
            "funded_amount": "0",
            "client_ids": [b["client_id"] for b in body["borrowers"]],
            "anonymized": False,
            "payload": body,
        }
        with app.lock:
            drafts[record["loan_draft_id"]] = record
        return json_response(public(record))

    @app.route("GET", f"{PARTNER}/loans")
    @api
    def loans(request: Request) -> Response:
        wanted = request.query.get("internal_loan_id")
        with app.lock:
            found = [r for r in drafts.values() if wanted in (None, r["internal_loan_id"])]
            for record in found if wanted else []:
                position = ROAD.index(record["status"]) if record["status"] in ROAD else -1
                if 0 <= position < len(ROAD) - 1:
                    record["status"] = ROAD[position + 1]
                    if record["status"] == "fundraising" and not record["loan_id"]:
                        record["loan_id"] = next(loan_ids)
                    if record["status"] == "raised":
                        record["funded_amount"] = record["amount"]
            data = [public(r) for r in found]
        return json_response({"totalRecords": len(data), "data": data})

    @app.route("POST", f"{PARTNER}/repayments")
    @api
    def post_repayments(request: Request) -> Response:
        rows = (request.json() or {}).get("repayments") or []
        if len(rows) > MAX_REPAYMENTS:
            return _problem([("repayments", f"At most {MAX_REPAYMENTS} repayments per call.")])
        with app.lock:
            known = {str(r["loan_id"]): r for r in drafts.values() if r["loan_id"]}
        problems = []
        for index, row in enumerate(rows):
            record = known.get(str(row.get("loan_id")))
            amount = _amount(row.get("amount"))
            if record is None:
                problems.append((f"repayments[{index}].loan_id", "Unknown loan."))
            elif str(row.get("client_id")) not in record["client_ids"]:
                problems.append((f"repayments[{index}].client_id", "Not a borrower of this loan."))
            if amount is None or amount <= 0:
                problems.append((f"repayments[{index}].amount", "A positive amount is required."))
        if not rows:
            problems.append(("repayments", "No repayments."))
        if problems:
            return _problem(problems)
        batch = {"repayment_batch_id": str(uuid.uuid4()), "count": len(rows), "rows": rows}
        with app.lock:
            repayments.append(batch)
        return json_response(
            {"repayment_batch_id": batch["repayment_batch_id"], "count": len(rows)}
        )

    @app.route("POST", f"{PARTNER}/journals")
    @api
    def post_journal(request: Request) -> Response:
        body = request.json() or {}
        problems = [
            (field, f"{field} is required.")
            for field in ("internal_loan_id", "subject", "body")
            if not body.get(field)
        ]
        with app.lock:
            published = any(
                r["internal_loan_id"] == body.get("internal_loan_id") and r["loan_id"]
                for r in drafts.values()
            )
        if not problems and not published:
            problems.append(("internal_loan_id", "No published loan has this internal id."))
        if problems:
            return _problem(problems)
        entry = {"journal_id": str(uuid.uuid4()), **body}
        with app.lock:
            journals.append(entry)
        return json_response({"journal_id": entry["journal_id"]})

    def change(action: str):
        def handler(request: Request) -> Response:
            with app.lock:
                record = drafts.get(request.match["draft"])
                if record is None:
                    return error(404, "no such loan")
                if action == "takedown":
                    record["status"] = "deleted"
                else:
                    record["anonymized"] = True
                    record["payload"] = {"anonymized": True}
                return json_response(
                    {"status": record["status"], "anonymized": record["anonymized"]}
                )

        return api(handler)

    app.route("POST", f"{PARTNER}/loans/(?P<draft>[0-9a-f-]+)/takedown")(change("takedown"))
    app.route("POST", f"{PARTNER}/loans/(?P<draft>[0-9a-f-]+)/anonymize")(change("anonymize"))

    @app.route("POST", "/sandbox/expire-tokens")
    def expire_tokens(request: Request) -> Response:
        with app.lock:
            tokens.clear()
        return json_response({"ok": True})

    @app.route("PUT", "/sandbox/loans/(?P<internal>[^/]+)")
    def set_status(request: Request) -> Response:
        status = (request.json() or {})["status"]
        with app.lock:
            found = [
                r for r in drafts.values() if r["internal_loan_id"] == request.match["internal"]
            ]
            for record in found:
                record["status"] = status
                if status != "draft" and not record["loan_id"]:
                    record["loan_id"] = next(loan_ids)
        return json_response({"updated": len(found)})

    @app.route("GET", "/sandbox/state")
    def state(request: Request) -> Response:
        with app.lock:
            return json_response(
                {
                    "drafts": [public(r) for r in drafts.values()],
                    "repayment_batches": [
                        {"id": b["repayment_batch_id"], "count": b["count"]} for b in repayments
                    ],
                    "journals": list(journals),
                }
            )

    return app
