"""Field screens and API: the day list, the quick form (HTML, JSON for the phone's outbox,
409 for a submission already received), scoping (outsider 404, auditor 403) and the service
worker."""

from __future__ import annotations

import datetime
import uuid

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from compliance.choices import CaseStatus
from compliance.models import FollowUp
from crm.models import Interaction, Task
from tests.compliance.test_field_support import PDF, client_with_case, photo, record
from tests.crm.factories import make_person

NEW = reverse("compliance:follow_up_new")
DAY = reverse("compliance:field_day")
API_FOLLOW_UPS = reverse("compliance-follow-up-list")
API_DAY = reverse("compliance-field-day")
JSON = {"HTTP_ACCEPT": "application/json"}


@pytest.fixture
def api():
    return APIClient()


@pytest.fixture
def agent_case(field_agent):
    return client_with_case(field_agent, first_name="Ana", last_name="Lopes")


def _form(**overrides) -> dict:
    data = {
        "client_uuid": str(uuid.uuid4()),
        "kind": "visit",
        "outcome": "regularised",
        "notes": "Saw the new tax certificate.",
        "next_action_date": "",
        "latitude": "14.917712",
        "longitude": "-23.509210",
        "accuracy_m": "8",
    }
    data.update(overrides)
    return data


def _counts() -> tuple[int, int, int]:
    return FollowUp.objects.count(), Interaction.objects.count(), Task.objects.count()


def test_the_day_list_shows_my_cases_as_cards_with_a_fixed_query_count(
    client, field_agent, django_assert_max_num_queries
):
    # given
    for number in range(6):
        client_with_case(field_agent, first_name="Client", last_name=f"N{number}")
    client.force_login(field_agent)
    # when
    with django_assert_max_num_queries(12):
        response = client.get(DAY, {"lat": "14.9", "lon": "-23.5"})
    # then
    assert response.status_code == 200
    assert len(response.context["items"]) == 6
    assert response.context["by_distance"] is True
    assert response.content.decode().count('data-testid="day-item"') == 6


def test_the_form_opens_for_my_case_with_a_fresh_submission_id(client, field_agent, agent_case):
    # given
    party, case = agent_case
    client.force_login(field_agent)
    # when
    first = client.get(NEW, {"case": case.pk, "kind": "call"})
    second = client.get(NEW, {"case": case.pk, "kind": "call"})
    # then
    assert first.status_code == 200
    html = first.content.decode()
    assert "data-offline-form" in html and 'capture="environment"' in html
    assert 'accept="image/*"' in html
    assert first.context["party"].pk == party.pk and first.context["form"]["kind"].value() == "call"
    uuids = [page.context["form"]["client_uuid"].value() for page in (first, second)]
    assert uuids[0] != uuids[1]


def test_posting_the_form_records_the_visit_and_goes_back_to_the_day(
    client, field_agent, agent_case
):
    # given
    party, case = agent_case
    client.force_login(field_agent)
    data = _form()
    # when
    response = client.post(f"{NEW}?case={case.pk}", data)
    # then
    assert response.status_code == 302 and response.url == DAY
    follow_up = FollowUp.objects.get()
    assert (str(follow_up.client_uuid), follow_up.case, follow_up.kind, follow_up.accuracy_m) == (
        data["client_uuid"],
        case,
        "visit",
        8,
    )
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED


def test_the_phone_gets_201_then_409_already_received_for_the_same_submission(
    client, field_agent, agent_case
):
    # given
    party, case = agent_case
    client.force_login(field_agent)
    data = _form(occurred_at=(timezone.now() - datetime.timedelta(hours=2)).isoformat())
    # when
    first = client.post(f"{NEW}?case={case.pk}", data, **JSON)
    again = client.post(f"{NEW}?case={case.pk}", data, **JSON)
    html_again = client.post(f"{NEW}?case={case.pk}", data)
    # then
    follow_up = FollowUp.objects.get()
    assert first.status_code == 201
    assert first.json() == {
        "id": follow_up.pk,
        "detail": "Visit with Ana Lopes recorded.",
        "redirect": DAY,
    }
    assert again.status_code == 409
    assert again.json() == {
        "detail": "This follow-up was already received; nothing was added.",
        "id": follow_up.pk,
    }
    assert html_again.status_code == 409
    assert "already received" in html_again.content.decode()
    assert _counts() == (1, 1, 0)


def test_the_phone_gets_400_with_field_errors_and_nothing_is_written(
    client, field_agent, agent_case
):
    # given
    party, case = agent_case
    client.force_login(field_agent)
    data = _form(latitude="", accuracy_m="5", outcome="")
    # when
    response = client.post(f"{NEW}?case={case.pk}", {**data, "photo": photo(PDF)}, **JSON)
    # then
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert [error["message"] for error in errors["outcome"]] == ["This field is required."]
    assert _counts() == (0, 0, 0)


def test_the_service_errors_come_back_on_the_form(client, field_agent, agent_case):
    # given
    party, case = agent_case
    client.force_login(field_agent)
    # when
    response = client.post(f"{NEW}?case={case.pk}", _form(latitude="", photo=photo(PDF)))
    # then
    assert response.status_code == 200
    form = response.context["form"]
    assert form.errors == {
        "latitude": ["Give both latitude and longitude, or neither."],
        "photo": ["The photo must be a PNG or JPEG picture."],
    }
    assert _counts() == (0, 0, 0)


def test_an_outsider_gets_404_and_changes_nothing(client, outsider, agent_case):
    # given
    party, case = agent_case
    client.force_login(outsider)
    # when
    opened = client.get(NEW, {"case": case.pk})
    posted = client.post(f"{NEW}?party={party.pk}", _form())
    # then
    assert (opened.status_code, posted.status_code) == (404, 404)
    assert _counts() == (0, 0, 0)


def test_an_auditor_gets_403_and_changes_nothing(client, auditor, agent_case):
    # given
    party, case = agent_case
    client.force_login(auditor)
    # when
    responses = [
        client.get(DAY),
        client.get(NEW, {"case": case.pk}),
        client.post(f"{NEW}?case={case.pk}", _form()),
    ]
    # then
    assert [response.status_code for response in responses] == [403, 403, 403]
    assert _counts() == (0, 0, 0)


def test_a_form_about_nobody_is_a_404(client, field_agent):
    client.force_login(field_agent)
    assert client.get(NEW).status_code == 404
    assert client.get(NEW, {"case": "x"}).status_code == 404


def test_the_service_worker_is_served_under_the_field_screens(client):
    # when
    response = client.get(reverse("compliance:field_service_worker"))
    # then
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert response["Service-Worker-Allowed"] == DAY
    assert b"networkFirst" in response.content


def test_the_photo_is_served_to_who_may_see_the_follow_up(
    client, field_agent, outsider, agent_case
):
    # given
    party, case = agent_case
    follow_up = record(field_agent, party, case=case, photo=photo())
    url = reverse("compliance:follow_up_photo", args=[follow_up.pk])
    # when
    client.force_login(field_agent)
    mine = client.get(url)
    client.force_login(outsider)
    theirs = client.get(url)
    # then
    assert (mine.status_code, mine["Content-Type"], theirs.status_code) == (200, "image/jpeg", 404)


# --- API -----------------------------------------------------------------------------------------


def test_the_api_records_a_follow_up_then_answers_409_for_the_same_submission(
    api, field_agent, agent_case
):
    # given
    party, case = agent_case
    api.force_authenticate(field_agent)
    data = _form(case=case.pk, photo=photo())
    del data["next_action_date"]
    # when
    first = api.post(API_FOLLOW_UPS, data, format="multipart")
    data["photo"] = photo()
    again = api.post(API_FOLLOW_UPS, data, format="multipart")
    # then
    follow_up = FollowUp.objects.get()
    assert first.status_code == 201
    assert (first.data["id"], first.data["party"], first.data["case_number"]) == (
        follow_up.pk,
        party.pk,
        case.number,
    )
    assert (first.data["has_photo"], first.data["latitude"]) == (True, "14.917712")
    assert again.status_code == 409
    assert again.data == {"detail": "This follow-up was already received.", "id": follow_up.pk}
    assert _counts() == (1, 1, 0)


def test_the_api_refuses_bad_input_with_field_errors(api, field_agent, agent_case):
    # given
    party, case = agent_case
    api.force_authenticate(field_agent)
    # when
    response = api.post(
        API_FOLLOW_UPS,
        {
            "client_uuid": str(uuid.uuid4()),
            "party": party.pk,
            "kind": "call",
            "outcome": "refused",
            "latitude": 14.9,
        },
        format="json",
    )
    # then
    assert response.status_code == 400
    assert response.json() == {"latitude": ["Give both latitude and longitude, or neither."]}
    assert _counts() == (0, 0, 0)


def test_the_api_hides_other_branches_and_refuses_auditors(
    api, field_agent, outsider, auditor, agent_case
):
    # given
    party, case = agent_case
    record(field_agent, party, case=case)
    body = {"client_uuid": str(uuid.uuid4()), "case": case.pk, "kind": "call", "outcome": "refused"}
    # when
    api.force_authenticate(outsider)
    outsider_post = api.post(API_FOLLOW_UPS, body, format="json")
    outsider_list = api.get(API_FOLLOW_UPS)
    api.force_authenticate(auditor)
    auditor_post = api.post(API_FOLLOW_UPS, body, format="json")
    auditor_list = api.get(API_FOLLOW_UPS)
    # then
    assert (outsider_post.status_code, outsider_list.data["count"]) == (404, 0)
    assert (auditor_post.status_code, auditor_list.data["count"]) == (403, 1)
    assert FollowUp.objects.count() == 1


def test_the_api_lists_follow_ups_of_a_case_with_a_fixed_query_count(
    api, field_agent, agent_case, django_assert_max_num_queries
):
    # given
    party, case = agent_case
    for _ in range(5):
        record(field_agent, party, case=case)
    record(field_agent, make_person(field_agent))
    api.force_authenticate(field_agent)
    # when
    with django_assert_max_num_queries(6):
        response = api.get(API_FOLLOW_UPS, {"case": case.pk})
    # then
    assert response.status_code == 200
    assert response.data["count"] == 5


def test_the_api_day_list_is_mine_nearest_first(api, field_agent, agent_case):
    # given
    party, case = agent_case
    near, _near_case = client_with_case(field_agent, first_name="Near", last_name="By")
    record(field_agent, near, latitude="14.9177", longitude="-23.5092")
    api.force_authenticate(field_agent)
    # when
    response = api.get(API_DAY, {"lat": "14.9177", "lon": "-23.5092"})
    # then
    assert response.status_code == 200
    assert [(row["party"]["display_name"], row["distance_km"]) for row in response.data] == [
        ("Near By", 0.0),
        ("Ana Lopes", None),
    ]
    assert response.data[1]["case"]["number"] == case.number
