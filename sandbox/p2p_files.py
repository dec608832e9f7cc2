"""Sandbox of a file-based P2P platform (served on port 8111 by ``python -m sandbox``).

- ``POST /packages`` (``Content-Type: application/zip``, ``X-Package-Name``, bearer token when
  the sandbox has one): checks the zip holds ``manifest.json``, ``profiles.csv`` and
  ``repayments.csv`` and that every profile's photo is in ``photos/``; registers new profiles
  as "received". 201 with ``{"package_id", "profiles", "updates", "repayments"}``; 400 for a
  broken package.
- ``GET /returns``: the return file (CSV ``internal_loan_id,platform_loan_id,status,
  funded_amount,changed_on``). Each fetch moves every loan one step along received → online →
  funded → repaying (deterministic); takedowns in updates mark a loan withdrawn.

Sandbox controls: ``PUT /sandbox/loans/{internal_loan_id}`` with ``{"status": ...}``;
``GET /sandbox/state``.
"""

from __future__ import annotations

import csv
import datetime
import io
import itertools
import json
import secrets
import zipfile

from sandbox.core import App, Request, Response, error, json_response

TOKEN = "demo-files-token"  # noqa: S105 - a sandbox credential, published in docs/p2p.md
ROAD = ("received", "online", "funded", "repaying")
REQUIRED = ("manifest.json", "profiles.csv", "repayments.csv")


def _rows(archive: zipfile.ZipFile, name: str) -> list[dict]:
    if name not in archive.namelist():
        return []
    return list(csv.DictReader(io.StringIO(archive.read(name).decode("utf-8-sig"))))


def build_app(*, token: str = TOKEN) -> App:
    app = App("p2p_files")
    loans: dict[str, dict] = {}
    packages: list[dict] = []
    platform_ids = itertools.count(90_001)
    app.state = {"loans": loans, "packages": packages}

    @app.route("POST", "/packages")
    def upload(request: Request) -> Response:
        if token and not secrets.compare_digest(request.bearer_token, token):
            return error(401, "invalid token")
        try:
            archive = zipfile.ZipFile(io.BytesIO(request.body))
            names = archive.namelist()
        except zipfile.BadZipFile:
            return error(400, "not a zip file")
        missing = [name for name in REQUIRED if name not in names]
        if missing:
            return error(400, f"missing from the package: {', '.join(missing)}")
        json.loads(archive.read("manifest.json"))
        profiles = _rows(archive, "profiles.csv")
        updates = _rows(archive, "updates.csv")
        repayments = _rows(archive, "repayments.csv")
        for row in profiles:
            photo = row.get("photo", "")
            if photo and photo not in names:
                return error(400, f"photo {photo} is missing")
        with app.lock:
            for row in profiles:
                loans.setdefault(
                    row["internal_loan_id"],
                    {
                        "internal_loan_id": row["internal_loan_id"],
                        "platform_loan_id": "",
                        "status": "received",
                        "amount": row.get("amount", "0"),
                        "funded_amount": "",
                    },
                )
            for row in updates:
                record = loans.get(row.get("internal_loan_id", ""))
                if record is not None and row.get("kind") == "takedown":
                    record["status"] = "withdrawn"
            package = {
                "package_id": f"PKG-{len(packages) + 1:05d}",
                "name": request.headers.get("x-package-name", ""),
                "files": sorted(names),
                "profiles": len(profiles),
                "updates": len(updates),
                "repayments": len(repayments),
            }
            packages.append(package)
        return json_response(
            {key: package[key] for key in ("package_id", "profiles", "updates", "repayments")},
            status=201,
        )

    @app.route("GET", "/returns")
    def returns(request: Request) -> Response:
        if token and not secrets.compare_digest(request.bearer_token, token):
            return error(401, "invalid token")
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(
            ["internal_loan_id", "platform_loan_id", "status", "funded_amount", "changed_on"]
        )
        with app.lock:
            for record in loans.values():
                if record["status"] in ROAD[:-1]:
                    record["status"] = ROAD[ROAD.index(record["status"]) + 1]
                if record["status"] != "received" and not record["platform_loan_id"]:
                    record["platform_loan_id"] = f"BL-{next(platform_ids)}"
                if record["status"] in ("funded", "repaying"):
                    record["funded_amount"] = record["amount"]
                writer.writerow(
                    [
                        record["internal_loan_id"],
                        record["platform_loan_id"],
                        record["status"],
                        record["funded_amount"],
                        datetime.date.today().isoformat(),
                    ]
                )
        return Response(body=out.getvalue().encode(), content_type="text/csv; charset=utf-8")

    @app.route("PUT", "/sandbox/loans/(?P<internal>[^/]+)")
    def set_status(request: Request) -> Response:
        status = (request.json() or {})["status"]
        with app.lock:
            record = loans.get(request.match["internal"])
            if record is None:
                return error(404, "unknown loan")
            record["status"] = status
        return json_response(record)

    @app.route("GET", "/sandbox/state")
    def state(request: Request) -> Response:
        with app.lock:
            return json_response({"loans": list(loans.values()), "packages": list(packages)})

    return app
