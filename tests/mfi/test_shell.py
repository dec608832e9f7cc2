"""The UI shell: home per role, menu per role, error pages, demo data."""

import pytest
from django.core.management import call_command

from crm.models import Enterprise, Party, PartyLink, Person
from mfi.navigation import menu_for
from tests.crm.factories import make_person
from tests.factories import ROLE_PERSONAS
from users.models import Branch, User
from users.roles import Role

ALL_PERSONAS = ROLE_PERSONAS


@pytest.mark.parametrize("persona", ALL_PERSONAS)
def test_every_role_gets_a_home_page(client, request, persona):
    # given
    user = request.getfixturevalue(persona)
    client.force_login(user)
    # when
    response = client.get("/")
    # then
    assert response.status_code == 200
    assert [item.url_name for item in response.context["menu"]] == [
        item.url_name for item in menu_for(user)
    ]


def test_menus_differ_by_role(auditor, loan_officer, administrator):
    # then
    def labels(user):
        return [str(item.label) for item in menu_for(user)]

    assert labels(loan_officer) == [
        "Home",
        "My tasks",
        "Parties",
        "Leads",
        "Loans",
        "Compliance",
        "My day",
        "Coaching",
        "Learning",
        "API",
    ]
    assert labels(auditor) == [
        "Home",
        "Parties",
        "Loans",
        "Compliance",
        "P2P lending",
        "Coaching",
        "Learning",
        "Accounting",
        "Audit trail",
        "API",
    ]
    assert labels(administrator) == [
        "Home",
        "My tasks",
        "Parties",
        "Leads",
        "Loans",
        "Offers",
        "Compliance",
        "Service desk",
        "P2P lending",
        "Coaching",
        "Learning",
        "Accounting",
        "Audit trail",
        "System",
        "API",
    ]


def test_the_loan_officer_dashboard_counts_their_scope(client, loan_officer, outsider):
    # given
    make_person(loan_officer, relationship="client", assigned_to=loan_officer)
    make_person(loan_officer, relationship="prospect")
    make_person(outsider, relationship="client")
    client.force_login(loan_officer)
    # when
    counts = client.get("/").context["counts"]
    # then
    assert (counts["total"], counts["clients"], counts["prospects"], counts["assigned_to_me"]) == (
        2,
        1,
        1,
        1,
    )


def test_an_unknown_page_is_a_404_page_not_a_500(client, loan_officer):
    # given
    client.force_login(loan_officer)
    # when
    response = client.get("/no/such/page/")
    # then
    assert response.status_code == 404
    assert "This page does not exist, or it is outside your scope." in response.content.decode()


def test_the_500_page_renders_without_a_request_context():
    # given
    from django.template.loader import get_template

    # when
    html = get_template("500.html").render({})
    # then
    assert "Something went wrong on our side." in html


def test_seed_demo_is_deterministic_and_idempotent(db):
    # when
    call_command("seed_demo", "--quiet-logins")
    first = sorted(Party.objects.values_list("nif", "display_name"))
    call_command("seed_demo", "--quiet-logins")
    # then
    assert list(Branch.objects.order_by("code").values_list("code", flat=True)) == [
        "hq",
        "mindelo",
        "praia",
        "sal",
    ]
    assert set(User.objects.values_list("role", flat=True)) == set(Role.values)
    assert (
        Person.objects.count(),
        Enterprise.objects.count(),
        PartyLink.objects.filter(kind="owner").count(),
    ) == (300, 120, 120)
    assert sorted(Party.objects.values_list("nif", "display_name")) == first
    assert Party.objects.filter(relationship="coaching_customer").count() > 0
    assert Party.objects.filter(relationship="prospect").count() > 0
