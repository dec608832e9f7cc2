"""The leads pipeline (stage moves, conversion figures) and saved party segments."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from audit.models import AuditEvent
from crm.choices import LeadSource, LeadStage, Relationship
from crm.leads import (
    lead_create,
    lead_move,
    leads_pipeline,
    segment_create,
    segment_parties,
    segments_for_user,
)
from crm.models import Lead, Party, Segment
from tests.crm.factories import make_enterprise, make_person

pytestmark = pytest.mark.django_db


def _prospect(actor, **overrides):
    return make_person(actor, relationship=Relationship.PROSPECT, **overrides)


def _lead(actor, source=LeadSource.WALK_IN, **overrides):
    return lead_create(actor=actor, party=_prospect(actor, **overrides), source=source)


def _moved(actor, lead, *stages, lost_reason="no interest"):
    for stage in stages:
        lead = lead_move(actor=actor, lead=lead, to_stage=stage, lost_reason=lost_reason)
    return lead


def test_a_lead_moves_through_every_stage_and_the_party_becomes_a_client(loan_officer):
    # given
    lead = _lead(loan_officer)
    # when
    lead = lead_move(actor=loan_officer, lead=lead, to_stage=LeadStage.CONTACTED)
    assert lead.stage == LeadStage.CONTACTED
    lead = lead_move(actor=loan_officer, lead=lead, to_stage=LeadStage.APPLIED)
    assert lead.stage == LeadStage.APPLIED
    assert lead.applied_at is not None
    lead = lead_move(actor=loan_officer, lead=lead, to_stage=LeadStage.CLIENT)
    # then
    lead.refresh_from_db()
    assert lead.stage == LeadStage.CLIENT
    assert lead.converted_at is not None
    assert Party.objects.get(pk=lead.party_id).relationship == Relationship.CLIENT
    assert AuditEvent.objects.filter(action="lead.moved", object_id=str(lead.pk)).count() == 3
    assert AuditEvent.objects.filter(action="person.updated", object_id=str(lead.party_id)).count()


def test_a_lead_can_be_lost_with_a_reason_and_reopened(loan_officer):
    lead = _lead(loan_officer)
    lead = lead_move(
        actor=loan_officer, lead=lead, to_stage=LeadStage.LOST, lost_reason="Moved to Fogo"
    )
    assert (lead.stage, lead.lost_reason) == (LeadStage.LOST, "Moved to Fogo")
    lead = lead_move(actor=loan_officer, lead=lead, to_stage=LeadStage.PROSPECT)
    assert (lead.stage, lead.lost_reason) == (LeadStage.PROSPECT, "")


@pytest.mark.parametrize(
    ("path", "to_stage", "message"),
    [
        ((), LeadStage.CLIENT, "cannot move from “Prospect” to “Client”"),
        ((LeadStage.CONTACTED,), LeadStage.PROSPECT, "cannot move from “Contacted” to “Prospect”"),
        (
            (LeadStage.APPLIED, LeadStage.CLIENT),
            LeadStage.LOST,
            "cannot move from “Client” to “Lost”",
        ),
        ((LeadStage.LOST,), LeadStage.APPLIED, "cannot move from “Lost” to “Applied”"),
        ((), LeadStage.LOST, "Say why the lead was lost."),
        ((), "won", "Unknown stage."),
    ],
)
def test_invalid_moves_are_refused_and_change_nothing(loan_officer, path, to_stage, message):
    # given
    lead = _moved(loan_officer, _lead(loan_officer), *path)
    before = Lead.objects.values().get(pk=lead.pk)
    events = AuditEvent.objects.count()
    relationship = Party.objects.get(pk=lead.party_id).relationship
    # when
    with pytest.raises(ValidationError) as error:
        lead_move(actor=loan_officer, lead=lead, to_stage=to_stage, lost_reason="")
    # then
    assert message in " ".join(error.value.messages)
    assert Lead.objects.values().get(pk=lead.pk) == before
    assert AuditEvent.objects.count() == events
    assert Party.objects.get(pk=lead.party_id).relationship == relationship


def test_only_prospects_enter_the_pipeline_once(loan_officer):
    client = make_person(loan_officer, relationship=Relationship.CLIENT)
    with pytest.raises(ValidationError, match="Only a prospect"):
        lead_create(actor=loan_officer, party=client, source=LeadSource.REFERRAL)
    lead = _lead(loan_officer)
    with pytest.raises(ValidationError, match="already in the pipeline"):
        lead_create(actor=loan_officer, party=lead.party, source=LeadSource.REFERRAL)
    assert Lead.objects.count() == 1


def test_an_outsider_cannot_open_or_move_a_lead(loan_officer, outsider):
    prospect = _prospect(loan_officer)
    with pytest.raises(PermissionDenied):
        lead_create(actor=outsider, party=prospect, source=LeadSource.WALK_IN)
    lead = lead_create(actor=loan_officer, party=prospect, source=LeadSource.WALK_IN)
    with pytest.raises(PermissionDenied):
        lead_move(actor=outsider, lead=lead, to_stage=LeadStage.CONTACTED)
    lead.refresh_from_db()
    assert lead.stage == LeadStage.PROSPECT


@pytest.fixture
def small_pipeline(loan_officer, outsider):
    """Walk-in: a client, one lost after applying, one contacted, one prospect.
    Referral: one applied, one lost before applying, one prospect. Mindelo: one walk-in client."""
    officer = loan_officer
    _moved(officer, _lead(officer), LeadStage.APPLIED, LeadStage.CLIENT)
    _moved(officer, _lead(officer), LeadStage.CONTACTED, LeadStage.APPLIED, LeadStage.LOST)
    _moved(officer, _lead(officer), LeadStage.CONTACTED)
    _lead(officer)
    _moved(officer, _lead(officer, LeadSource.REFERRAL), LeadStage.APPLIED)
    _moved(officer, _lead(officer, LeadSource.REFERRAL), LeadStage.LOST)
    _lead(officer, LeadSource.REFERRAL)
    _moved(outsider, _lead(outsider), LeadStage.APPLIED, LeadStage.CLIENT)


def test_pipeline_counts_and_conversion_by_source_are_exact(loan_officer, small_pipeline):
    # when
    pipeline = leads_pipeline(user=loan_officer)
    # then
    assert [(key, count) for key, _label, count in pipeline["stages"]] == [
        ("prospect", 2),
        ("contacted", 1),
        ("applied", 1),
        ("client", 1),
        ("lost", 2),
    ]
    rows = {row.source: row for row in pipeline["by_source"]}
    assert list(rows) == ["walk_in", "referral"]
    walk_in, referral = rows["walk_in"], rows["referral"]
    assert (walk_in.total, walk_in.applied, walk_in.clients) == (4, 2, 1)
    assert (walk_in.applied_share, walk_in.client_share) == (Decimal("50.0"), Decimal("25.0"))
    assert (referral.total, referral.applied, referral.clients) == (3, 1, 0)
    assert (referral.applied_share, referral.client_share) == (Decimal("33.3"), Decimal("0.0"))
    overall = pipeline["overall"]
    assert (overall.total, overall.applied, overall.clients) == (7, 3, 1)
    assert (overall.applied_share, overall.client_share) == (Decimal("42.9"), Decimal("14.3"))


def test_the_outsider_sees_only_their_own_branch_pipeline(outsider, small_pipeline):
    pipeline = leads_pipeline(user=outsider)
    assert pipeline["overall"].total == 1
    assert [(row.source, row.clients) for row in pipeline["by_source"]] == [("walk_in", 1)]


def test_pipeline_page_shows_counts(client, loan_officer, small_pipeline):
    client.force_login(loan_officer)
    response = client.get(reverse("crm:lead_pipeline"))
    assert response.status_code == 200
    assert response.context["pipeline"]["overall"].total == 7
    assert len(response.context["leads"]) == 7


def test_moving_a_lead_from_the_page(client, loan_officer):
    lead = _lead(loan_officer)
    client.force_login(loan_officer)
    response = client.post(
        reverse("crm:lead_move", args=[lead.pk]), {"to_stage": "client", "lost_reason": ""}
    )
    assert response.status_code == 302
    lead.refresh_from_db()
    assert lead.stage == LeadStage.PROSPECT
    client.post(reverse("crm:lead_move", args=[lead.pk]), {"to_stage": "contacted"})
    lead.refresh_from_db()
    assert lead.stage == LeadStage.CONTACTED


# --- Segments --------------------------------------------------------------------------------


@pytest.fixture
def sal_prospects(loan_officer):
    wanted = [
        _prospect(loan_officer, first_name="Ana", island="sal"),
        _prospect(loan_officer, first_name="Bela", island="sal"),
    ]
    _prospect(loan_officer, island="santiago")
    make_person(loan_officer, island="sal", relationship=Relationship.CLIENT)
    make_enterprise(loan_officer, island="sal", relationship=Relationship.PROSPECT)
    return wanted


def test_a_saved_segment_gives_the_exact_filtered_list(loan_officer, sal_prospects):
    # when
    segment = segment_create(
        actor=loan_officer,
        name="Sal prospects",
        query="?kind=person&relationship=prospect&island=sal&page=3&colour=red&q=",
    )
    # then
    assert segment.query == "kind=person&relationship=prospect&island=sal"
    parties = segment_parties(user=loan_officer, segment=segment)
    assert sorted(party.pk for party in parties) == sorted(party.pk for party in sal_prospects)
    assert AuditEvent.objects.filter(action="segment.created").count() == 1


def test_segment_names_filters_and_sharing(loan_officer, branch_manager, outsider, sal_prospects):
    mine = segment_create(actor=loan_officer, name="Mine", query="island=sal")
    shared = segment_create(
        actor=loan_officer, name="Shared", query="relationship=prospect", is_shared=True
    )
    with pytest.raises(ValidationError):
        segment_create(actor=loan_officer, name="Mine", query="island=maio")
    with pytest.raises(ValidationError):
        segment_create(actor=loan_officer, name="Empty", query="page=2")
    with pytest.raises(ValidationError):
        segment_create(actor=loan_officer, name="Bad", query="island=atlantis")
    assert Segment.objects.count() == 2
    assert list(segments_for_user(user=loan_officer)) == [mine, shared]
    assert list(segments_for_user(user=branch_manager)) == [shared]
    # a shared segment never widens the scope: the outsider sees no Praia party through it
    assert list(segment_parties(user=outsider, segment=shared)) == []


def test_assigned_to_me_segment_uses_the_viewer(loan_officer, field_agent):
    mine = _prospect(loan_officer, assigned_to=loan_officer)
    _prospect(loan_officer, assigned_to=field_agent)
    segment = segment_create(actor=loan_officer, name="My prospects", query="assigned_to_me=true")
    parties = segment_parties(
        user=loan_officer, segment=segment, request=SimpleNamespace(user=loan_officer)
    )
    assert [party.pk for party in parties] == [mine.pk]


def test_saving_and_opening_a_segment_from_the_pages(client, loan_officer, sal_prospects):
    client.force_login(loan_officer)
    page = client.get(reverse("crm:segment_list") + "?kind=person&relationship=prospect&island=sal")
    assert page.status_code == 200
    assert page.context["form"].initial["query"] == "kind=person&relationship=prospect&island=sal"
    response = client.post(
        reverse("crm:segment_list"),
        {"name": "Sal", "query": "kind=person&relationship=prospect&island=sal"},
    )
    assert response.status_code == 302
    segment = Segment.objects.get()
    opened = client.get(reverse("crm:segment_open", args=[segment.pk]))
    assert opened.status_code == 302
    assert opened.url == reverse("crm:party_list") + "?" + segment.query
    listed = client.get(opened.url)
    assert sorted(party.pk for party in listed.context["page"].object_list) == sorted(
        party.pk for party in sal_prospects
    )


def test_someone_elses_private_segment_is_not_found(client, loan_officer, branch_manager):
    segment = segment_create(actor=loan_officer, name="Private", query="island=sal")
    client.force_login(branch_manager)
    assert client.get(reverse("crm:segment_open", args=[segment.pk])).status_code == 404
