"""The authorization matrix as a markdown page (``manage.py authz_matrix`` writes it)."""

from __future__ import annotations

from itertools import groupby

from mfi.authz.matrix import ANONYMOUS, ROUTES, Column, Outcome, Route
from users.roles import Role

_ABBREVIATIONS = {
    ANONYMOUS: "anon",
    Role.LOAN_OFFICER: "LO",
    Role.BRANCH_MANAGER: "BM",
    Role.CREDIT_COMMITTEE: "CC",
    Role.ACCOUNTANT: "ACC",
    Role.COACH: "CO",
    Role.FIELD_AGENT: "FA",
    Role.SERVICE_DESK: "SD",
    Role.COMPLIANCE_OFFICER: "CMP",
    Role.MANAGER: "MGR",
    Role.AUDITOR: "AUD",
    Role.ADMINISTRATOR: "ADM",
}
_SYMBOLS = {
    Outcome.ALLOWED: "✓",
    Outcome.FORBIDDEN: "403",
    Outcome.NOT_FOUND: "404",
    Outcome.LOGIN: "→login",
    Outcome.REFUSED: "refused",
    Outcome.ANSWERED: "answers",
}

_HEADER = """# Authorization matrix

Generated from `mfi/authz/matrix.py` by `python manage.py authz_matrix`; do not edit by hand.
`tests/security/test_authz_matrix.py` requests every cell against the running views (and fails
when a URL pattern has no entry, or when this page is out of date).

Cells: `✓` allowed (2xx/3xx; for a write with an empty body also a 400), `403` forbidden,
`404` not found (the object is outside the role's branch scope), `→login` sent to the login page,
`refused` the page answers but the service turns the role away (the test checks nothing changed),
`answers` a public probe answers everyone with its own status (200, or 503 while a dependency is
down).
Where two values are shown (`own / other`), the first is for an object of the user's own branch
(Praia), the second for an object of another branch (Mindelo); one value means the URL names no
branch object. Head-office roles (ACC, CMP, MGR, AUD, ADM) see every branch; field agents and
coaches see what is assigned to them.

Roles: """


def _cell(route: Route, role, method: str) -> str:
    own = _SYMBOLS[route.expected(role, Column.OWN, method)]
    if not route.is_branch_scoped:
        return own
    other = _SYMBOLS[route.expected(role, Column.OTHER, method)]
    return own if own == other else f"{own} / {other}"


def _capability_text(route: Route) -> str:
    if route.public:
        return "public"
    read = route.read.value if route.read else "signed in"
    write = route.write_capability
    if any(method != "GET" for method in route.methods) and write != route.read:
        return f"{read}; writes: {write.value if write else 'signed in'}"
    return read


def _section(route: Route) -> str:
    if route.api:
        return "API (`/api/v1/`)"
    if route.name == "admin:*":
        return "Django admin"
    namespace, _colon, _name = route.name.rpartition(":")
    return namespace or "shell"


def render_markdown() -> str:
    roles = [ANONYMOUS, *Role]
    legend = ", ".join(
        f"{_ABBREVIATIONS[role]} = {role if role == ANONYMOUS else Role(role).label}"
        for role in roles
    )
    lines = [_HEADER + legend + ".", ""]
    for section, routes in groupby(ROUTES, key=_section):
        lines += [f"## {section}", ""]
        header = ["route", "method", "needs", *(_ABBREVIATIONS[role] for role in roles)]
        lines.append("| " + " | ".join(header) + " |")
        lines.append("|" + "|".join("---" for _ in header) + "|")
        notes = []
        for route in routes:
            for method in route.methods:
                cells = [_cell(route, role, method) for role in roles]
                name = f"`{route.name}`" + (f" ({route.obj})" if route.obj else "")
                lines.append(
                    "| " + " | ".join([name, method, _capability_text(route), *cells]) + " |"
                )
            if route.note:
                notes.append(f"- `{route.name}`: {route.note}")
        lines.append("")
        if notes:
            lines += [*notes, ""]
    return "\n".join(lines)
