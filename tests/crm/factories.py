"""Builders of parties through the real services (so tests exercise the real path)."""

from __future__ import annotations

import itertools

from crm import services
from crm.choices import Gender, Relationship, Sector

_numbers = itertools.count(1)


def person_data(branch, **overrides) -> dict:
    number = next(_numbers)
    data = {
        "first_name": "Maria",
        "last_name": f"Tavares {number}",
        "gender": Gender.FEMALE,
        "birth_date": None,
        "civil_id": "",
        "nif": "",
        "social_security_number": "",
        "phone": "",
        "email": "",
        "island": "santiago",
        "municipality": "Praia",
        "address": "",
        "relationship": Relationship.CLIENT,
        "branch": branch,
        "assigned_to": None,
    }
    data.update(overrides)
    return data


def enterprise_data(branch, **overrides) -> dict:
    number = next(_numbers)
    data = {
        "legal_name": f"Mercearia Tavares {number}, Lda",
        "trade_name": "",
        "sector": Sector.RETAIL,
        "is_formal": True,
        "employees": 3,
        "nif": "",
        "social_security_number": "",
        "phone": "",
        "email": "",
        "island": "santiago",
        "municipality": "Praia",
        "address": "",
        "relationship": Relationship.CLIENT,
        "branch": branch,
        "assigned_to": None,
    }
    data.update(overrides)
    return data


def make_person(actor, branch=None, **overrides):
    return services.person_create(
        actor=actor, data=person_data(branch or actor.branch, **overrides)
    )


def make_enterprise(actor, branch=None, **overrides):
    return services.enterprise_create(
        actor=actor, data=enterprise_data(branch or actor.branch, **overrides)
    )


def person_form_data(branch, **overrides) -> dict:
    """What a browser posts from the new-person form (empty strings for blank fields)."""
    data = {
        "first_name": "Joana",
        "last_name": "Semedo",
        "gender": "female",
        "nif": "",
        "social_security_number": "",
        "civil_id": "",
        "phone": "",
        "email": "",
        "island": "santiago",
        "municipality": "Praia",
        "address": "",
        "relationship": "prospect",
        "branch": branch.pk,
        "assigned_to": "",
    }
    data.update(overrides)
    return data
