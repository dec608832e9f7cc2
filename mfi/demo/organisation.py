"""Demo branches and one staff account per role."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from users.models import Branch, User
from users.roles import Role

DEMO_PASSWORD = "demo-mfi-2026"  # noqa: S105 - printed by `make run`, demo data only

BRANCHES = [
    # code, name, island, parent code
    ("hq", "Head office (Praia)", "santiago", None),
    ("praia", "Praia", "santiago", "hq"),
    ("mindelo", "Mindelo", "sao_vicente", "hq"),
    ("sal", "Sal", "sal", "hq"),
]


@dataclass(frozen=True)
class DemoStaff:
    username: str
    first_name: str
    last_name: str
    role: Role
    branch: str


STAFF = [
    DemoStaff("officer", "Ana", "Semedo", Role.LOAN_OFFICER, "praia"),
    DemoStaff("officer.mindelo", "Carlos", "Lopes", Role.LOAN_OFFICER, "mindelo"),
    DemoStaff("officer.sal", "Djamila", "Fortes", Role.LOAN_OFFICER, "sal"),
    DemoStaff("branchmanager", "Elisa", "Tavares", Role.BRANCH_MANAGER, "praia"),
    DemoStaff("committee", "Fernando", "Monteiro", Role.CREDIT_COMMITTEE, "praia"),
    DemoStaff("accountant", "Graça", "Spencer", Role.ACCOUNTANT, "hq"),
    DemoStaff("coach", "Hélio", "Varela", Role.COACH, "praia"),
    DemoStaff("fieldagent", "Ivone", "Cabral", Role.FIELD_AGENT, "praia"),
    DemoStaff("desk", "João", "Ramos", Role.SERVICE_DESK, "praia"),
    DemoStaff("compliance", "Luísa", "Andrade", Role.COMPLIANCE_OFFICER, "hq"),
    DemoStaff("manager", "Manuel", "Pires", Role.MANAGER, "hq"),
    DemoStaff("auditor", "Nádia", "Brito", Role.AUDITOR, "hq"),
    DemoStaff("admin", "Óscar", "Neves", Role.ADMINISTRATOR, "hq"),
]


@transaction.atomic
def seed_organisation() -> dict[str, User]:
    branches: dict[str, Branch] = {}
    for code, name, island, parent in BRANCHES:
        branches[code], _created = Branch.objects.get_or_create(
            code=code,
            defaults={
                "name": name,
                "island": island,
                "parent": branches[parent] if parent else None,
            },
        )
    users = {}
    for staff in STAFF:
        user = User.objects.filter(username=staff.username).first()
        if user is None:
            user = User(
                username=staff.username,
                first_name=staff.first_name,
                last_name=staff.last_name,
                role=staff.role,
                branch=branches[staff.branch],
                email=f"{staff.username}@demo.mfi.cv",
                is_staff=staff.role == Role.ADMINISTRATOR,
                is_superuser=staff.role == Role.ADMINISTRATOR,
            )
            user.set_password(DEMO_PASSWORD)
            user.save()
        users[staff.username] = user
    return users
