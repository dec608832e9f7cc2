"""Who sees which parties: branch subtree, head office, assigned-only roles, outsiders."""

import pytest

from crm.selectors import parties_visible_to, party_get_for_user, party_search
from tests.crm.factories import make_person
from tests.factories import BranchFactory, UserFactory
from users.models import Branch
from users.roles import Role


@pytest.fixture
def parties(loan_officer, outsider, field_agent):
    """Two Praia persons (one assigned to the field agent) and one Mindelo person."""
    return {
        "praia": make_person(loan_officer, first_name="Alda", nif="100000001"),
        "praia_assigned": make_person(
            loan_officer, first_name="Bela", assigned_to=field_agent, phone="9911111"
        ),
        "mindelo": make_person(outsider, first_name="Cida", nif="100000003"),
    }


def _visible_names(user):
    return sorted(parties_visible_to(user).values_list("person__first_name", flat=True))


def test_a_loan_officer_sees_their_branch_only(parties, loan_officer):
    assert _visible_names(loan_officer) == ["Alda", "Bela"]


def test_an_officer_of_another_branch_sees_nothing_of_praia(parties, outsider):
    assert _visible_names(outsider) == ["Cida"]


@pytest.mark.parametrize("role", [Role.MANAGER, Role.AUDITOR, Role.ADMINISTRATOR])
def test_head_office_roles_see_every_branch(parties, head_office, role):
    # given
    user = UserFactory(role=role, branch=head_office)
    # then
    assert _visible_names(user) == ["Alda", "Bela", "Cida"]


def test_an_accountant_at_head_office_sees_every_branch(parties, accountant):
    assert _visible_names(accountant) == ["Alda", "Bela", "Cida"]


def test_a_field_agent_sees_only_what_is_assigned_to_them(parties, field_agent):
    assert _visible_names(field_agent) == ["Bela"]


def test_a_coach_with_nothing_assigned_sees_nobody(parties, coach):
    assert _visible_names(coach) == []


def test_a_branch_manager_sees_sub_branches(parties, praia, branch_manager):
    # given: an agency below Praia
    agency = BranchFactory(code="praia-sul", name="Praia Sul", parent=praia)
    make_person(branch_manager, branch=agency, first_name="Dora")
    # then
    assert _visible_names(branch_manager) == ["Alda", "Bela", "Dora"]
    assert sorted(praia.subtree_ids()) == sorted([praia.pk, agency.pk])


def test_a_branchs_subtree_reaches_every_level_below_it_in_one_query(
    praia, mindelo, django_assert_num_queries
):
    # given: Praia > Praia Sul > Achada, and Mindelo beside them
    south = BranchFactory(code="praia-sul", name="Praia Sul", parent=praia)
    achada = BranchFactory(code="achada", name="Achada", parent=south)
    # then
    with django_assert_num_queries(1):
        assert sorted(Branch.subtree_ids_of(praia.pk)) == sorted([praia.pk, south.pk, achada.pk])
    assert sorted(south.subtree_ids()) == sorted([south.pk, achada.pk])
    assert achada.subtree_ids() == [achada.pk]


def test_an_out_of_scope_party_is_indistinguishable_from_a_missing_one(parties, outsider):
    from django.http import Http404

    with pytest.raises(Http404):
        party_get_for_user(user=outsider, party_id=parties["praia"].pk)


def test_search_finds_by_nif_and_phone_within_scope(parties, loan_officer, outsider):
    # when
    by_nif = party_search(user=loan_officer, text="100 000 001")
    by_phone = party_search(user=loan_officer, text="991 11 11")
    outsider_hits = party_search(user=outsider, text="100000001")
    # then
    assert [p.pk for p in by_nif] == [parties["praia"].pk]
    assert [p.pk for p in by_phone] == [parties["praia_assigned"].pk]
    assert outsider_hits == []


def test_an_inactive_user_sees_nothing(parties, loan_officer):
    # given
    loan_officer.is_active = False
    # then
    assert _visible_names(loan_officer) == []
