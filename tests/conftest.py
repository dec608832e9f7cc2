"""Persona fixtures: one user per role, in a small branch tree (head office → Praia, Mindelo)."""

from __future__ import annotations

import pytest
from django.test import Client

from tests.factories import BranchFactory, UserFactory
from tests.users.two_factor_support import enrolled_device, mark_session_verified
from users.roles import Role
from users.two_factor import has_two_factor, two_factor_required_for


@pytest.fixture
def head_office(db):
    return BranchFactory(code="hq", name="Head office")


@pytest.fixture
def praia(head_office):
    return BranchFactory(code="praia", name="Praia", parent=head_office)


@pytest.fixture
def mindelo(head_office):
    return BranchFactory(code="mindelo", name="Mindelo", parent=head_office, island="sao_vicente")


def _persona(username, role, branch):
    user = UserFactory(username=username, role=role, branch=branch)
    if two_factor_required_for(user):
        enrolled_device(user)  # these roles cannot work without an authenticator
    return user


@pytest.fixture
def loan_officer(praia):
    return _persona("officer", Role.LOAN_OFFICER, praia)


@pytest.fixture
def outsider(mindelo):
    """A loan officer of another branch: must see nothing of Praia."""
    return _persona("officer.mindelo", Role.LOAN_OFFICER, mindelo)


@pytest.fixture
def branch_manager(praia):
    return _persona("branchmanager", Role.BRANCH_MANAGER, praia)


@pytest.fixture
def credit_committee(praia):
    return _persona("committee", Role.CREDIT_COMMITTEE, praia)


@pytest.fixture
def accountant(head_office):
    return _persona("accountant", Role.ACCOUNTANT, head_office)


@pytest.fixture
def coach(praia):
    return _persona("coach", Role.COACH, praia)


@pytest.fixture
def field_agent(praia):
    return _persona("fieldagent", Role.FIELD_AGENT, praia)


@pytest.fixture
def service_desk(praia):
    return _persona("desk", Role.SERVICE_DESK, praia)


@pytest.fixture
def compliance_officer(head_office):
    return _persona("compliance", Role.COMPLIANCE_OFFICER, head_office)


@pytest.fixture
def manager(head_office):
    return _persona("manager", Role.MANAGER, head_office)


@pytest.fixture
def auditor(head_office):
    return _persona("auditor", Role.AUDITOR, head_office)


@pytest.fixture
def administrator(head_office):
    return _persona("admin", Role.ADMINISTRATOR, head_office)


@pytest.fixture(autouse=True)
def _clear_cache():
    """Login throttling counters live in the cache; every test starts from zero."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture(autouse=True)
def _force_login_passes_two_factor(monkeypatch):
    """``client.force_login(user)`` signs in completely, second factor included.

    Roles that must use two-factor authentication (and users who turned it on) would otherwise be
    sent to the code page by users.middleware.TwoFactorMiddleware. The sign-in flow itself, with
    real codes, is tested in tests/users/test_two_factor.py; ``force_login`` skips it, as it skips
    the password. Applies to Django's Client and DRF's APIClient alike.
    """
    original = Client.force_login

    def force_login(self, user, backend=None):
        original(self, user, backend)
        if two_factor_required_for(user) or has_two_factor(user):
            mark_session_verified(self, user)

    monkeypatch.setattr(Client, "force_login", force_login)
