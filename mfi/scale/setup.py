"""The institution the scale data lives in, made through the ORM and the real services (a few
hundred rows): the demo staff (one login per role), more branches, their managers and loan
officers, the chart of accounts, the demo offers and loan products, and coaches.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass

from django.contrib.auth.hashers import make_password
from django.db import transaction

from accounting.chart import chart_install
from accounting.choices import AccountRole
from accounting.models import Account
from loans import services as loan_services
from loans.models import LoanProduct, LoanProductVersion, Offer
from mfi.demo import coaching as demo_coaching
from mfi.demo.loans import OFFERS, PRODUCTS
from mfi.demo.organisation import BRANCHES, DEMO_PASSWORD, STAFF, seed_organisation
from users.models import Branch, User
from users.roles import Role

# Branches beyond the demo's (Praia, Mindelo, Sal): code, name, island.
MORE_BRANCHES = [
    ("assomada", "Assomada", "santiago"),
    ("tarrafal", "Tarrafal", "santiago"),
    ("sao-filipe", "São Filipe", "fogo"),
    ("porto-novo", "Porto Novo", "santo_antao"),
    ("ribeira-grande", "Ribeira Grande", "santo_antao"),
    ("sal-rei", "Sal Rei", "boa_vista"),
    ("vila-do-maio", "Vila do Maio", "maio"),
    ("ribeira-brava", "Ribeira Brava", "sao_nicolau"),
    ("nova-sintra", "Nova Sintra", "brava"),
    ("sao-domingos", "São Domingos", "santiago"),
    ("pedra-badejo", "Pedra Badejo", "santiago"),
    ("espargos", "Espargos", "sal"),
]
DEMO_BRANCHES = [("praia", "santiago"), ("mindelo", "sao_vicente"), ("sal", "sal")]
DEMO_OFFICERS = {"praia": "officer", "mindelo": "officer.mindelo", "sal": "officer.sal"}


@dataclass(frozen=True)
class ProductTerms:
    """What the generator needs of one loan product version."""

    version: LoanProductVersion
    code: str
    product_id: int
    rule_set_id: int
    is_accrual: bool
    rates: tuple[str, ...]
    terms_offered: tuple[int, ...]
    principal_range: tuple[int, int]
    principal_step: int
    purposes: tuple[str, ...]


@dataclass
class Institution:
    """Ids the generator writes rows against."""

    branches: list[Branch]  # the operating branches (not the head office)
    head_office: Branch
    officers: dict[int, list[User]]  # branch id -> its loan officers
    managers: dict[int, User]  # branch id -> the manager who approves its loans
    products: dict[str, ProductTerms]
    cash_accounts: dict[int, int]  # branch id -> cash account id
    accounts: dict[str, int]  # role -> the institution's account id
    users: dict[str, User]  # the demo logins


@transaction.atomic
def institution_create(*, branches: int, officers: int) -> Institution:
    """Branches (``branches`` operating ones under the head office), their managers and
    ``officers`` loan officers in all, the chart of accounts and the loan products."""
    if branches < 1 or officers < branches:
        raise ValueError("At least one branch and one officer per branch.")
    password = make_password(DEMO_PASSWORD)
    _demo_staff(password)
    users = seed_organisation()
    head_office = Branch.objects.get(code="hq")
    operating = [Branch.objects.get(code=code) for code, _island in DEMO_BRANCHES][:branches]
    for code, name, island in MORE_BRANCHES[: max(0, branches - len(operating))]:
        branch, _created = Branch.objects.get_or_create(
            code=code, defaults={"name": name, "island": island, "parent": head_office}
        )
        operating.append(branch)
    if len(operating) < branches:
        raise ValueError(f"At most {len(DEMO_BRANCHES) + len(MORE_BRANCHES)} branches.")
    staff = _officers_and_managers(operating, officers, users, password)
    rule_sets = chart_install()
    products = _products(users["admin"], rule_sets)
    _coaches(users)
    cash = dict(
        Account.objects.filter(role=AccountRole.CASH, branch__isnull=False).values_list(
            "branch_id", "pk"
        )
    )
    accounts = dict(
        Account.objects.filter(branch__isnull=True).exclude(role="").values_list("role", "pk")
    )
    return Institution(
        branches=operating,
        head_office=head_office,
        officers=staff["officers"],
        managers=staff["managers"],
        products=products,
        cash_accounts=cash,
        accounts=accounts,
        users=users,
    )


def _demo_staff(password: str) -> None:
    """The demo's branches and staff (one login per role, coaches), all with the demo password
    hashed once: hashing it per user (Argon2) would take longer than the whole load."""
    branches = {}
    for code, name, island, parent in BRANCHES:
        branches[code], _created = Branch.objects.get_or_create(
            code=code,
            defaults={"name": name, "island": island, "parent": branches.get(parent)},
        )
    existing = set(User.objects.values_list("username", flat=True))
    User.objects.bulk_create(
        User(
            username=staff.username,
            first_name=staff.first_name,
            last_name=staff.last_name,
            role=staff.role,
            branch=branches[staff.branch],
            email=f"{staff.username}@demo.mfi.cv",
            is_staff=staff.role == Role.ADMINISTRATOR,
            is_superuser=staff.role == Role.ADMINISTRATOR,
            password=password,
        )
        for staff in [*STAFF, *demo_coaching.COACHES]
        if staff.username not in existing
    )


def _officers_and_managers(operating, officers: int, users, password: str) -> dict:
    per_branch = {branch.pk: [] for branch in operating}
    managers = {}
    new = []
    for index, branch in enumerate(operating):
        demo_officer = DEMO_OFFICERS.get(branch.code)
        if demo_officer:
            per_branch[branch.pk].append(users[demo_officer])
        manager = users["branchmanager"] if branch.code == "praia" else None
        if manager is None:
            manager = User.objects.filter(username=f"manager.{branch.code}").first()
        if manager is None:
            manager = User(
                username=f"manager.{branch.code}",
                first_name="Gerente",
                last_name=branch.name,
                role=Role.BRANCH_MANAGER,
                branch=branch,
                email=f"manager.{branch.code}@scale.mfi.cv",
                password=password,
            )
            new.append(manager)
        managers[branch.pk] = manager
        wanted = officers // len(operating) + (1 if index < officers % len(operating) else 0)
        for number in range(len(per_branch[branch.pk]) + 1, wanted + 1):
            username = f"officer.{branch.code}.{number:02d}"
            officer = User.objects.filter(username=username).first()
            if officer is None:
                officer = User(
                    username=username,
                    first_name=_FIRST_NAMES[(index * 7 + number) % len(_FIRST_NAMES)],
                    last_name=f"{branch.name} {number:02d}",
                    role=Role.LOAN_OFFICER,
                    branch=branch,
                    email=f"{username}@scale.mfi.cv",
                    password=password,
                )
                new.append(officer)
            per_branch[branch.pk].append(officer)
    User.objects.bulk_create([user for user in new if user.pk is None])
    return {"officers": per_branch, "managers": managers}


_FIRST_NAMES = ["Adilson", "Beatriz", "Celso", "Dulce", "Edson", "Fátima", "Gilson", "Helena"]


def _products(actor: User, rule_sets: dict) -> dict[str, ProductTerms]:
    offers = {}
    for spec in OFFERS:
        offers[spec["code"]], _created = Offer.objects.get_or_create(
            code=spec["code"], defaults={key: value for key, value in spec.items() if key != "code"}
        )
    result = {}
    for spec in PRODUCTS:
        product, _created = LoanProduct.objects.get_or_create(
            code=spec.code, defaults={"offer": offers[spec.offer], "name": spec.name}
        )
        version = product.current_version
        if version is None:
            version = loan_services.product_version_create(
                actor=actor,
                product=product,
                terms={**spec.terms, "posting_rule_set": rule_sets[spec.rule_set]},
            )
        version = LoanProductVersion.objects.select_related("posting_rule_set").get(pk=version.pk)
        result[spec.code] = ProductTerms(
            version=version,
            code=spec.code,
            product_id=product.pk,
            rule_set_id=version.posting_rule_set_id,
            is_accrual=version.posting_rule_set.accounting_rule == "accrual",
            rates=spec.rates,
            terms_offered=spec.terms_offered,
            principal_range=spec.principal_range,
            principal_step=spec.principal_step,
            purposes=spec.purposes,
        )
    return result


def _coaches(users) -> None:
    """The demo's coaches and coaching products (the scale data adds engagements in bulk)."""
    staff = {**users, **demo_coaching._seed_coach_users()}
    demo_coaching._seed_coaches(actor=users["manager"], staff=staff)
    if not demo_coaching.CoachingProduct.objects.exists():
        demo_coaching._seed_products(actor=users["manager"])


def first_day(as_of: datetime.date, years: int = 2) -> datetime.date:
    """The first day of the history: ``years`` before ``as_of``."""
    return as_of - datetime.timedelta(days=365 * years)
