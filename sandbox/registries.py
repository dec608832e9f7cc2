"""Sandbox servers of the three external registries, speaking the registry protocol exactly.

- ``social_security_app()``: INPS, ``/api/v1/contributions`` (EmployerStatus by SSN), token
  ``sandbox-inps``;
- ``revenue_app()``: DNRE, ``/api/v1/tax-compliance`` (TaxStatus by NIF), token ``sandbox-dnre``;
- ``bank_app(bank_code)``: a commercial bank, ``/api/v1/credit-status`` (CreditStatus per facility,
  by NIF), token ``sandbox-bank-<code lowercase>``.

Each also serves its month file ``/files/{yyyy-mm}.csv``. Every request needs the bearer token.
List endpoints paginate (``page``, ``page_size`` default 100, at most 500) with an absolute
``next`` URL built from the request's Host header. The answers are ``sandbox.data``'s, so tests
and the demo seed can compute them; the ``malformed_every`` fault spoils list rows and file rows.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import date, timedelta
from functools import wraps
from urllib.parse import urlencode

from sandbox import data
from sandbox.core import App, Request, Response, error, json_response

DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 500

# The environment variables our ``Source`` rows name (``Source.token_env``) and the sandbox
# tokens they hold when pointed at the sandboxes.
SANDBOX_TOKEN_ENV = {
    "INPS_API_TOKEN": "sandbox-inps",
    "DNRE_API_TOKEN": "sandbox-dnre",
    **{f"BANK_{code}_API_TOKEN": f"sandbox-bank-{code.lower()}" for code in data.BANK_CODES},
}


def _as_of(request: Request) -> date:
    """The reporting month-end the request asks for (default: the last one on or before today)."""
    asked = request.query.get("as_of")
    return data.reporting_month_end(date.fromisoformat(asked) if asked else date.today())


def _page(request: Request, rows: list[dict]) -> dict:
    page = int(request.query.get("page", 1))
    size = min(int(request.query.get("page_size", DEFAULT_PAGE_SIZE)), MAX_PAGE_SIZE)
    if page < 1 or size < 1:
        raise ValueError("page and page_size must be positive")
    start = (page - 1) * size
    next_url = None
    if start + size < len(rows):
        query = urlencode(request.query | {"page": page + 1, "page_size": size})
        next_url = f"http://{request.headers.get('host', 'localhost')}{request.path}?{query}"
    return {
        "count": len(rows),
        "page": page,
        "next": next_url,
        "results": rows[start : start + size],
    }


def _registry_app(
    name: str,
    *,
    token: str,
    collection: str,
    fields: tuple[str, ...],
    amount_field: str,
    records: Callable[[date], list[dict]],
    lookup: Callable[[str, date], Response],
) -> App:
    """An ``App`` with the three endpoints every registry has, behind its bearer token.

    ``app.token`` is the sandbox token (``python -m sandbox`` prints it).
    """
    app = App(name)
    app.token = token

    def authorised(handler):
        @wraps(handler)
        def check(request: Request) -> Response:
            if not secrets.compare_digest(request.bearer_token.encode(), token.encode()):
                response = error(401, "missing or invalid bearer token")
                response.headers["WWW-Authenticate"] = 'Bearer realm="sandbox"'
                return response
            return handler(request)

        return check

    def spoilt(request: Request, as_of: date) -> list[dict]:
        return data.malformed(records(as_of), request.faults.malformed_every, amount_field)

    @app.route("GET", f"/api/v1/{collection}")
    @authorised
    def listing(request: Request) -> Response:
        return json_response(_page(request, spoilt(request, _as_of(request))))

    @app.route("GET", f"/api/v1/{collection}/(?P<key>[^/]+)")
    @authorised
    def detail(request: Request) -> Response:
        return lookup(request.match["key"], _as_of(request))

    @app.route("GET", r"/files/(?P<month>\d{4}-\d{2})\.csv")
    @authorised
    def month_file(request: Request) -> Response:
        month = request.match["month"]
        # 31 days after the 1st is always in the next month, whose last month-end is this one's.
        as_of = data.reporting_month_end(date.fromisoformat(f"{month}-01") + timedelta(days=31))
        body = data.csv_text(spoilt(request, as_of), fields).encode()
        return Response(
            body=body,
            content_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{month}.csv"'},
        )

    return app


def _found_or_404(row: dict | None, message: str) -> Response:
    return json_response(row) if row else error(404, message)


def social_security_app() -> App:
    """INPS: employers' contribution status, one record per social security number."""
    return _registry_app(
        "inps",
        token=SANDBOX_TOKEN_ENV["INPS_API_TOKEN"],
        collection="contributions",
        fields=data.SOCIAL_SECURITY_FIELDS,
        amount_field=data.AMOUNT_FIELD["inps"],
        records=data.social_security_records,
        lookup=lambda ssn, as_of: _found_or_404(
            next((r for r in data.social_security_records(as_of) if r["ssn"] == ssn), None),
            "unknown employer",
        ),
    )


def revenue_app() -> App:
    """DNRE: taxpayers' compliance status and certificate, one record per NIF."""
    return _registry_app(
        "dnre",
        token=SANDBOX_TOKEN_ENV["DNRE_API_TOKEN"],
        collection="tax-compliance",
        fields=data.REVENUE_FIELDS,
        amount_field=data.AMOUNT_FIELD["dnre"],
        records=data.revenue_records,
        lookup=lambda nif, as_of: _found_or_404(data.tax_status(nif, as_of), "unknown taxpayer"),
    )


def bank_app(bank_code: str) -> App:
    """A commercial bank: each credit facility's balance and days past due; by NIF, all of a
    borrower's facilities (an empty list when the bank does not lend to them)."""
    code = bank_code.upper()
    if code not in data.BANK_CODES:
        raise ValueError(f"no sandbox data for bank {bank_code!r}; known: {data.BANK_CODES}")

    def facilities(nif: str, as_of: date) -> Response:
        found = data.credit_facilities(code, nif, as_of)
        return json_response({"nif": nif, "as_of": as_of.isoformat(), "facilities": found})

    return _registry_app(
        f"bank-{code.lower()}",
        token=SANDBOX_TOKEN_ENV[f"BANK_{code}_API_TOKEN"],
        collection="credit-status",
        fields=data.BANK_FIELDS,
        amount_field=data.AMOUNT_FIELD["bank"],
        records=lambda as_of: data.bank_records(code, as_of),
        lookup=facilities,
    )
