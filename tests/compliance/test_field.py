"""Field follow-up service and the agent's day list: validation, the CRM interaction and task,
the case's first contact, a submission sent twice stored once, and the day's order."""

from __future__ import annotations

import datetime
import uuid
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from audit.models import AuditEvent
from compliance.cases import case_open
from compliance.choices import CaseStatus, RequirementKind, Severity
from compliance.field import distance_km, field_day_list, follow_up_record
from compliance.models import FollowUp
from crm.interactions import task_create
from crm.models import Interaction, Task
from tests.compliance.test_field_support import PDF, PNG, client_with_case, photo, record
from tests.crm.factories import make_person
from tests.factories import UserFactory
from users.roles import Role

# Praia (Plateau) and two places a few kilometres away.
PLATEAU = (14.9177, -23.5092)
ACHADA_SANTO_ANTONIO = (14.9060, -23.5260)  # about 2.2 km away
SAO_FILIPE = (14.9330, -23.5530)  # about 5 km away


def _nothing_created() -> tuple[int, int, int]:
    return FollowUp.objects.count(), Interaction.objects.count(), Task.objects.count()


def test_a_call_on_a_case_records_the_interaction_the_task_and_the_first_contact(field_agent):
    # given
    party, case = client_with_case(field_agent, first_name="Ana", last_name="Lopes")
    next_week = timezone.localdate() + datetime.timedelta(days=7)
    when = timezone.now() - datetime.timedelta(minutes=30)
    submission = uuid.uuid4()
    # when
    follow_up, created = follow_up_record(
        actor=field_agent,
        client_uuid=str(submission),
        party=party,
        case=case,
        kind="call",
        outcome="will_regularise",
        notes="Will pay the tax office on Monday.",
        occurred_at=when,
        next_action_date=next_week,
    )
    # then
    assert created is True
    follow_up.refresh_from_db()
    assert (follow_up.client_uuid, follow_up.author, follow_up.case, follow_up.occurred_at) == (
        submission,
        field_agent,
        case,
        when,
    )
    interaction = Interaction.objects.get()
    assert follow_up.interaction == interaction
    assert (
        interaction.kind,
        interaction.outcome,
        interaction.summary,
        interaction.notes,
        interaction.occurred_at,
        interaction.next_action_date,
    ) == (
        "call",
        "reached",
        f"{case.number}: Reached: will regularise",
        "Will pay the tax office on Monday.",
        when,
        next_week,
    )
    task = Task.objects.get()
    assert (task.assigned_to, task.due_date, task.party_id, task.source_interaction) == (
        field_agent,
        next_week,
        party.pk,
        interaction,
    )
    case.refresh_from_db()
    assert (case.status, case.first_contact_at) == (CaseStatus.CONTACTED, when)
    event = AuditEvent.objects.get(action="follow_up.recorded")
    assert (event.actor, event.object_id, event.branch_id) == (
        field_agent,
        str(follow_up.pk),
        party.branch_id,
    )


def test_a_visit_without_a_case_maps_its_outcome_and_creates_no_task(field_agent):
    # given
    party = make_person(field_agent)
    # when
    follow_up = record(field_agent, party, kind="visit", outcome="wrong_contact")
    # then
    assert (follow_up.interaction.kind, follow_up.interaction.outcome) == ("visit", "not_reached")
    assert follow_up.interaction.summary == "Wrong number or address"
    assert Task.objects.count() == 0


def test_a_call_that_did_not_reach_the_borrower_is_not_a_contact(field_agent):
    # given
    party, case = client_with_case(field_agent)
    # when
    record(field_agent, party, case=case, outcome="not_reached")
    # then
    case.refresh_from_db()
    assert (case.status, case.first_contact_at) == (CaseStatus.OPEN, None)
    assert FollowUp.objects.filter(case=case).count() == 1


def test_a_second_contact_keeps_the_first_contact_time(field_agent):
    # given
    party, case = client_with_case(field_agent)
    first = timezone.now() - datetime.timedelta(hours=3)
    record(field_agent, party, case=case, occurred_at=first)
    # when
    record(field_agent, party, case=case, kind="visit", outcome="regularised")
    # then
    case.refresh_from_db()
    assert (case.status, case.first_contact_at) == (CaseStatus.CONTACTED, first)


def test_the_same_submission_sent_twice_is_stored_once(field_agent):
    # given
    party, case = client_with_case(field_agent)
    submission = uuid.uuid4()
    first = record(field_agent, party, case=case, client_uuid=submission)
    counts = _nothing_created()
    events = AuditEvent.objects.count()
    # when
    again, created = follow_up_record(
        actor=field_agent,
        client_uuid=submission,
        party=party,
        case=case,
        kind="call",
        outcome="will_regularise",
    )
    # then
    assert (again, created) == (first, False)
    assert _nothing_created() == counts == (1, 1, 0)
    assert AuditEvent.objects.count() == events


def test_a_submission_id_of_another_agent_is_refused(field_agent, praia):
    # given
    colleague = UserFactory(username="agent2", role=Role.FIELD_AGENT, branch=praia)
    submission = uuid.uuid4()
    record(field_agent, make_person(field_agent), client_uuid=submission)
    party = make_person(colleague)
    # when
    with pytest.raises(ValidationError) as error:
        record(colleague, party, client_uuid=submission)
    # then
    assert error.value.message_dict == {"client_uuid": ["This submission id is already used."]}
    assert FollowUp.objects.count() == 1


@pytest.mark.parametrize(
    ("location", "errors"),
    [
        (
            {"latitude": "14.9177"},
            {"latitude": ["Give both latitude and longitude, or neither."]},
        ),
        (
            {"longitude": "-23.5092", "accuracy_m": 12},
            {"latitude": ["Give both latitude and longitude, or neither."]},
        ),
        (
            {"latitude": "91", "longitude": "-23.5"},
            {"latitude": ["Must be between -90 and 90."]},
        ),
        (
            {"latitude": "14.9", "longitude": "-180.5"},
            {"longitude": ["Must be between -180 and 180."]},
        ),
        (
            {"latitude": "14.9", "longitude": "-23.5", "accuracy_m": -1},
            {"accuracy_m": ["The accuracy is a distance in metres, zero or more."]},
        ),
        ({"accuracy_m": 10}, {"accuracy_m": ["An accuracy needs a location."]}),
        ({"latitude": "north", "longitude": "-23.5"}, {"latitude": ["Enter a number."]}),
    ],
)
def test_a_location_is_both_coordinates_or_none_and_in_range(field_agent, location, errors):
    # given
    party = make_person(field_agent)
    # when
    with pytest.raises(ValidationError) as error:
        record(field_agent, party, **location)
    # then
    assert error.value.message_dict == errors
    assert _nothing_created() == (0, 0, 0)


def test_a_location_is_stored_to_six_decimals_and_whole_metres(field_agent):
    # when
    follow_up = record(
        field_agent,
        make_person(field_agent),
        latitude=14.917712345,
        longitude="-23.50921",
        accuracy_m="12.6",
    )
    # then
    follow_up.refresh_from_db()
    assert (follow_up.latitude, follow_up.longitude, follow_up.accuracy_m) == (
        Decimal("14.917712"),
        Decimal("-23.509210"),
        13,
    )


@pytest.mark.parametrize(
    ("content", "name"),
    [(PDF, "statement.jpg"), (b"MZ\x90\x00 not a picture at all", "photo.jpg")],
)
def test_a_photo_that_is_not_a_png_or_jpeg_picture_is_refused(field_agent, content, name):
    # given
    party = make_person(field_agent)
    # when
    with pytest.raises(ValidationError) as error:
        record(field_agent, party, photo=photo(content, name))
    # then
    assert error.value.message_dict == {"photo": ["The photo must be a PNG or JPEG picture."]}
    assert _nothing_created() == (0, 0, 0)


def test_a_png_photo_is_kept_under_a_random_name(field_agent):
    # when
    follow_up = record(field_agent, make_person(field_agent), photo=photo(PNG, "../../etc.jpg"))
    # then
    follow_up.refresh_from_db()
    folder, name = follow_up.photo.name.rsplit("/", 1)
    assert folder == f"compliance/follow-ups/{follow_up.client_uuid}"
    assert name.endswith(".png") and "etc" not in name
    with follow_up.photo.open("rb") as stored:
        assert stored.read() == PNG


def test_bad_input_is_refused_field_by_field_and_nothing_is_written(field_agent):
    # given
    party, case = client_with_case(field_agent)
    other_party, _other_case = client_with_case(field_agent)
    # when
    with pytest.raises(ValidationError) as error:
        follow_up_record(
            actor=field_agent,
            client_uuid=uuid.uuid4(),
            party=other_party,
            case=case,
            kind="sms",
            outcome="maybe",
            occurred_at=timezone.now() + datetime.timedelta(hours=1),
            next_action_date=timezone.localdate() - datetime.timedelta(days=5),
        )
    # then
    assert error.value.message_dict == {
        "kind": ["Choose a call or a visit."],
        "outcome": ["Choose what came out of it."],
        "case": ["This case is about another client."],
        "occurred_at": ["A call or visit cannot be in the future."],
        "next_action_date": ["The next action cannot be before the call or visit."],
    }
    assert _nothing_created() == (0, 0, 0)


def test_a_form_kept_offline_past_its_next_action_date_gives_a_task_due_today(field_agent):
    # given: a visit typed two days ago with a next action yesterday, arriving only now
    party, case = client_with_case(field_agent)
    today = timezone.localdate()
    visited = timezone.now() - datetime.timedelta(days=2)
    # when
    follow_up = record(
        field_agent,
        party,
        case=case,
        occurred_at=visited,
        next_action_date=today - datetime.timedelta(days=1),
    )
    # then
    assert follow_up.next_action_date == today - datetime.timedelta(days=1)
    assert Task.objects.get().due_date == today
    assert follow_up.interaction.next_action_date == today


def test_a_submission_without_a_valid_id_is_refused(field_agent):
    with pytest.raises(ValidationError) as error:
        record(field_agent, make_person(field_agent), client_uuid="not-a-uuid")
    assert error.value.message_dict == {"client_uuid": ["The form has no valid submission id."]}


def test_a_client_outside_the_agents_scope_is_refused(field_agent, outsider):
    # given
    party = make_person(outsider)
    # when / then
    with pytest.raises(PermissionDenied):
        record(field_agent, party)
    assert _nothing_created() == (0, 0, 0)


def test_an_auditor_may_not_log_follow_ups(auditor, field_agent):
    # given
    party = make_person(field_agent)
    # when / then
    with pytest.raises(PermissionDenied):
        record(auditor, party)
    assert _nothing_created() == (0, 0, 0)


# --- the day list --------------------------------------------------------------------------------

TODAY = datetime.date(2099, 3, 11)


def _day_keys(agent, **location) -> list[tuple[str, str]]:
    return [(item.kind, item.party.display_name) for item in field_day_list(user=agent, **location)]


@pytest.fixture
def agent_day(field_agent, loan_officer):
    """Three cases of the agent (deadlines 14, 18 and 20 March 2099), two client tasks (one
    overdue, one due today), and what is not theirs, not about a client or not due yet."""
    _, high = client_with_case(
        field_agent, first_name="Ana", last_name="High", severity=Severity.HIGH, today=TODAY
    )
    _, critical = client_with_case(
        field_agent, first_name="Rui", last_name="Critical", severity=Severity.CRITICAL, today=TODAY
    )
    _, medium = client_with_case(
        field_agent,
        first_name="Eva",
        last_name="Medium",
        severity=Severity.MEDIUM,
        today=TODAY - datetime.timedelta(days=5),
    )
    overdue = make_person(field_agent, first_name="Tó", last_name="Overdue")
    due_today = make_person(field_agent, first_name="Zé", last_name="Today")
    task_create(actor=field_agent, title="Bring receipt", due_date=TODAY - datetime.timedelta(1))
    task_create(
        actor=field_agent,
        title="Overdue visit",
        due_date=TODAY - datetime.timedelta(1),
        party=overdue,
    )
    task_create(actor=field_agent, title="Today call", due_date=TODAY, party=due_today)
    task_create(
        actor=field_agent, title="Tomorrow", due_date=TODAY + datetime.timedelta(1), party=due_today
    )
    officer_client = make_person(
        loan_officer, first_name="Not", last_name="Mine", assigned_to=loan_officer
    )
    case_open(party=officer_client, kind=RequirementKind.JOBS_KEPT, severity=Severity.LOW)
    return {"high": high, "critical": critical, "medium": medium}


def test_the_day_list_is_by_deadline_without_a_location(field_agent, agent_day):
    # when
    items = field_day_list(user=field_agent, today=TODAY)
    # then
    assert [(item.kind, item.party.display_name, item.due, item.is_overdue) for item in items] == [
        ("task", "Tó Overdue", datetime.date(2099, 3, 10), True),
        ("task", "Zé Today", TODAY, False),
        ("case", "Rui Critical", datetime.date(2099, 3, 14), False),
        ("case", "Ana High", datetime.date(2099, 3, 18), False),
        ("case", "Eva Medium", datetime.date(2099, 3, 20), False),
    ]
    assert all(item.distance_km is None for item in items)


def test_the_day_list_puts_located_clients_nearest_first_and_the_others_last(
    field_agent, agent_day
):
    # given: Eva was met near the agent, Tó a little further; the others never located
    record(field_agent, agent_day["medium"].party, latitude=2.0, longitude=2.0)
    record(
        field_agent,
        agent_day["medium"].party,
        kind="visit",
        latitude=ACHADA_SANTO_ANTONIO[0],
        longitude=ACHADA_SANTO_ANTONIO[1],
    )
    tó = Task.objects.get(title="Overdue visit").party
    record(field_agent, tó, latitude=SAO_FILIPE[0], longitude=SAO_FILIPE[1])
    # when
    items = field_day_list(user=field_agent, today=TODAY, latitude=PLATEAU[0], longitude=PLATEAU[1])
    # then
    assert [(item.kind, item.party.display_name) for item in items] == [
        ("case", "Eva Medium"),
        ("task", "Tó Overdue"),
        ("task", "Zé Today"),
        ("case", "Rui Critical"),
        ("case", "Ana High"),
    ]
    assert [round(item.distance_km, 1) for item in items[:2]] == [
        round(distance_km(*PLATEAU, *ACHADA_SANTO_ANTONIO), 1),
        round(distance_km(*PLATEAU, *SAO_FILIPE), 1),
    ]
    assert [item.distance_km for item in items[2:]] == [None, None, None]


def test_distance_is_the_great_circle_distance():
    # one degree of latitude is 111.2 km on the mean Earth radius
    assert round(distance_km(0, 0, 1, 0), 1) == 111.2
    assert distance_km(*PLATEAU, *PLATEAU) == 0.0


def test_a_closed_case_leaves_the_day_list(field_agent, compliance_officer, agent_day):
    # given
    from compliance.cases import case_close

    case_close(actor=compliance_officer, case=agent_day["critical"], outcome="false_alarm")
    # when / then
    assert ("case", "Rui Critical") not in _day_keys(field_agent, today=TODAY)
    assert len(field_day_list(user=field_agent, today=TODAY)) == 4


def test_the_day_list_of_someone_without_follow_up_rights_is_empty(auditor, agent_day):
    assert field_day_list(user=auditor, today=TODAY) == []
