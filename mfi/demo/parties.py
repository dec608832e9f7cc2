"""Demo persons and enterprises (created through the real CRM services), links and consents."""

from __future__ import annotations

import datetime
import random

from django.db import transaction

from crm import services
from crm.choices import ConsentPurpose, Gender, LinkKind, Relationship, Sector
from crm.models import Party
from users.models import Branch, User
from users.roles import Role

PERSON_COUNT = 300
ENTERPRISE_COUNT = 120

FEMALE_NAMES = [
    "Maria",
    "Ana",
    "Joana",
    "Fátima",
    "Luísa",
    "Sandra",
    "Carla",
    "Elsa",
    "Rosa",
    "Helena",
    "Jandira",
    "Nilza",
    "Odete",
    "Paula",
    "Rita",
    "Sónia",
    "Vera",
    "Zenaida",
]
MALE_NAMES = [
    "João",
    "José",
    "António",
    "Carlos",
    "Manuel",
    "Paulo",
    "Pedro",
    "Rui",
    "Nelson",
    "Adilson",
    "Bruno",
    "Dário",
    "Edmilson",
    "Hélder",
    "Jailson",
    "Kevin",
    "Mário",
]
LAST_NAMES = [
    "Silva",
    "Santos",
    "Lopes",
    "Fernandes",
    "Tavares",
    "Gomes",
    "Monteiro",
    "Varela",
    "Semedo",
    "Rodrigues",
    "Moreira",
    "Pereira",
    "Correia",
    "Borges",
    "Cabral",
    "Fortes",
    "Spencer",
    "Andrade",
    "Delgado",
    "Évora",
    "Furtado",
    "Barros",
    "Brito",
    "Mendes",
]
TRADES = {
    Sector.AGRICULTURE: ["Horta", "Quinta", "Agro"],
    Sector.FISHING: ["Peixaria", "Pesca", "Barco"],
    Sector.FOOD: ["Restaurante", "Pastelaria", "Padaria", "Cantina"],
    Sector.RETAIL: ["Mercearia", "Loja", "Boutique", "Mini-mercado"],
    Sector.CRAFTS: ["Artesanato", "Oficina", "Costura"],
    Sector.CONSTRUCTION: ["Construções", "Carpintaria", "Serralharia"],
    Sector.TOURISM: ["Pensão", "Residencial", "Turismo"],
    Sector.TRANSPORT: ["Transportes", "Hiace", "Táxi"],
    Sector.SERVICES: ["Cabeleireiro", "Serviços", "Reparações"],
}
PLACES = {
    "praia": ("santiago", ["Praia", "São Domingos", "Santa Catarina"]),
    "mindelo": ("sao_vicente", ["São Vicente"]),
    "sal": ("sal", ["Sal"]),
}
FOLLOW_UP_ROLES = {Role.LOAN_OFFICER, Role.FIELD_AGENT, Role.COACH}


def _nif(index: int, prefix: int) -> str:
    return f"{prefix}{index:08d}"


@transaction.atomic
def seed_parties(*, actor: User) -> int:
    """Create the demo parties that do not exist yet; returns how many were created."""
    rng = random.Random(20261122)
    branches = {b.code: b for b in Branch.objects.filter(code__in=PLACES)}
    staff_by_branch: dict[str, list[User]] = {code: [] for code in PLACES}
    for user in User.objects.filter(role__in=FOLLOW_UP_ROLES, branch__code__in=PLACES).order_by(
        "username"
    ):
        staff_by_branch[user.branch.code].append(user)
    existing = set(Party.objects.values_list("nif", flat=True))
    created = 0
    branch_codes = list(PLACES)
    persons = []
    for index in range(1, PERSON_COUNT + 1):
        branch_code = branch_codes[index % len(branch_codes)]
        gender = Gender.FEMALE if rng.random() < 0.62 else Gender.MALE
        first = rng.choice(FEMALE_NAMES if gender == Gender.FEMALE else MALE_NAMES)
        last = rng.choice(LAST_NAMES)
        roll = rng.random()
        relationship = (
            Relationship.CLIENT
            if roll < 0.6
            else Relationship.COACHING_CUSTOMER
            if roll < 0.75
            else Relationship.PROSPECT
        )
        island, municipalities = PLACES[branch_code]
        birth = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(0, 40 * 365))
        nif = _nif(index, 1)
        staff = staff_by_branch[branch_code]
        data = {
            "first_name": first,
            "last_name": f"{last} {rng.choice(LAST_NAMES)}",
            "gender": gender,
            "birth_date": birth,
            "civil_id": f"CV{index:07d}",
            "nif": nif,
            "social_security_number": f"{700000 + index}",
            "phone": f"9{rng.randrange(100000, 999999)}{index % 10}",
            "email": "",
            "island": island,
            "municipality": rng.choice(municipalities),
            "address": f"Rua {rng.choice(LAST_NAMES)}, {rng.randrange(1, 200)}",
            "relationship": relationship,
            "branch": branches[branch_code],
            "assigned_to": staff[index % len(staff)] if staff else None,
        }
        if nif in existing:
            persons.append(None)
            continue
        person = services.person_create(actor=actor, data=data)
        persons.append(person)
        created += 1
        _seed_consents(actor=actor, party=person, relationship=relationship, rng=rng)
    for index in range(1, ENTERPRISE_COUNT + 1):
        owner = persons[(index * 2) % PERSON_COUNT]
        branch_code = branch_codes[(index * 2) % len(branch_codes)]
        sector = list(TRADES)[index % len(TRADES)]
        island, municipalities = PLACES[branch_code]
        nif = _nif(index, 2)
        if nif in existing:
            continue
        trade = f"{rng.choice(TRADES[sector])} {rng.choice(LAST_NAMES)}"
        is_formal = rng.random() < 0.55
        enterprise = services.enterprise_create(
            actor=actor,
            data={
                "legal_name": f"{trade}, Lda" if is_formal else trade,
                "trade_name": trade if is_formal else "",
                "sector": sector,
                "is_formal": is_formal,
                "employees": rng.randrange(0, 25),
                "nif": nif,
                "social_security_number": f"{800000 + index}" if is_formal else "",
                "phone": f"2{rng.randrange(600000, 699999)}",
                "email": f"geral{index}@empresa.cv" if is_formal else "",
                "island": island,
                "municipality": rng.choice(municipalities),
                "address": f"Zona {rng.choice(LAST_NAMES)}",
                "relationship": owner.relationship if owner else Relationship.PROSPECT,
                "branch": branches[branch_code],
                "assigned_to": owner.assigned_to if owner else None,
            },
        )
        created += 1
        if owner is not None:
            services.party_link_create(
                actor=actor, from_party=owner, to_party=enterprise, kind=LinkKind.OWNER
            )
    return created


def _seed_consents(*, actor, party, relationship, rng) -> None:
    if relationship == Relationship.PROSPECT:
        return
    given_on = datetime.date(2025, 1, 1) + datetime.timedelta(days=rng.randrange(0, 600))
    purposes = [ConsentPurpose.DATA_PROCESSING]
    if relationship == Relationship.CLIENT:
        purposes.append(ConsentPurpose.REGISTRY_CHECKS)
        if rng.random() < 0.3:
            purposes += [ConsentPurpose.P2P_PUBLICATION, ConsentPurpose.PHOTO_PUBLICATION]
    for purpose in purposes:
        services.consent_record(actor=actor, party=party, purpose=purpose, given_on=given_on)
