"""A field agent on a phone logs a visit with no network: the form is kept on the phone and sent
once the phone is back online, exactly once, even when the same submission is sent again. A day
list visited once opens, with its forms, without network (service worker)."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from compliance.choices import CaseStatus
from compliance.models import FollowUp
from crm.models import Interaction
from tests.browser.support import PHONE, assert_no_horizontal_scroll, log_in
from tests.compliance.test_field_support import client_with_case
from tests.factories import TEST_PASSWORD, UserFactory
from users.roles import Role

FORM_URL = re.compile(r"^http://[^/]+/compliance/field/follow-up/new/\?case=\d+&kind=visit$")
PLATEAU = {"latitude": 14.9177, "longitude": -23.5092, "accuracy": 12}

RESEND_SAME = """async (submission) => {
  const form = document.querySelector("form[data-offline-form]");
  const body = new FormData(form);
  body.set("client_uuid", submission);
  body.set("kind", "visit");
  body.set("outcome", "will_regularise");
  const token = document.querySelector("[data-offline-status]").dataset.csrfToken;
  const response = await fetch(form.action, {
    method: "POST", body, headers: {Accept: "application/json", "X-CSRFToken": token},
  });
  return [response.status, await response.json()];
}"""


def _agent_with_case(praia):
    agent = UserFactory(
        username="fieldagent", role=Role.FIELD_AGENT, branch=praia, first_name="Zeca"
    )
    party, case = client_with_case(agent, first_name="Ana", last_name="Lopes", phone="9912345")
    return agent, party, case


def test_a_visit_saved_offline_is_sent_once_back_online(open_page, screenshot, praia):
    # given
    agent, party, case = _agent_with_case(praia)
    page = open_page(PHONE)
    context = page.context
    context.grant_permissions(["geolocation"])
    context.set_geolocation(PLATEAU)
    log_in(page, agent.username, TEST_PASSWORD)

    # when: the agent opens the day and taps "Log visit" on Ana's case
    page.goto("/compliance/field/")
    item = page.get_by_test_id("day-item")
    expect(item).to_have_count(1)
    expect(item.get_by_test_id("party-name")).to_have_text("Ana Lopes")
    assert_no_horizontal_scroll(page)
    screenshot(page, "field_agent-day", PHONE)
    item.get_by_test_id("log-visit").click()
    expect(page).to_have_url(FORM_URL)
    expect(page.get_by_test_id("follow-up-party")).to_have_text("Ana Lopes")
    submission = page.locator("[name=client_uuid]").input_value()
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", submission
    )
    assert_no_horizontal_scroll(page)

    # when: the network goes; the agent fills the form, adds the location and taps Save
    context.set_offline(True)
    page.get_by_test_id("outcome-will_regularise").check()
    page.locator("#id_notes").fill("Will bring the certificate on Friday.")
    page.get_by_test_id("add-location").click()
    expect(page.get_by_test_id("location-status")).to_have_text("Location added (± 12 m).")
    page.get_by_test_id("save-follow-up").click()

    # then: it is kept on the phone, nothing reached the server
    status = page.get_by_test_id("offline-status")
    expect(status).to_have_text(
        "Saved on this phone — it will be sent when you are back online (1 waiting)"
    )
    assert_no_horizontal_scroll(page)
    screenshot(page, "field_agent-saved-offline", PHONE)
    assert FollowUp.objects.count() == 0
    # a new form gets a new submission id
    assert page.locator("[name=client_uuid]").input_value() != submission

    # when: the network is back
    context.set_offline(False)

    # then: the saved form is sent, once
    expect(status).to_have_text("Sent 1 saved form(s).")
    follow_up = FollowUp.objects.get()
    assert (str(follow_up.client_uuid), follow_up.kind, follow_up.outcome, follow_up.case_id) == (
        submission,
        "visit",
        "will_regularise",
        case.pk,
    )
    assert (str(follow_up.latitude), str(follow_up.longitude), follow_up.accuracy_m) == (
        "14.917700",
        "-23.509200",
        12,
    )
    assert follow_up.notes == "Will bring the certificate on Friday."
    case.refresh_from_db()
    assert case.status == CaseStatus.CONTACTED

    # when: the phone sends the same submission again
    answer = page.evaluate(RESEND_SAME, submission)

    # then: the server says it already has it; still one follow-up
    assert answer == [
        409,
        {"detail": "This follow-up was already received; nothing was added.", "id": follow_up.pk},
    ]
    assert (FollowUp.objects.count(), Interaction.objects.count()) == (1, 1)


def _wait_until_kept(page, path: str) -> None:
    """Until the phone holds its copy of ``path`` (the page keeps its forms a moment after it
    opened). ``wait_for_function`` would not wait for the cache's promise: asked here."""
    kept = "(path) => caches.open('mfi-field-v1').then((cache) => cache.match(path)).then(Boolean)"
    for _ in range(100):
        if page.evaluate(kept, path):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{path} was not kept on the phone within 10 s")


def test_a_day_list_visited_once_opens_its_forms_without_network(open_page, praia):
    # given: the agent opened the day list once with network
    agent, party, case = _agent_with_case(praia)
    page = open_page(PHONE)
    log_in(page, agent.username, TEST_PASSWORD)
    page.goto("/compliance/field/")
    form_path = f"/compliance/field/follow-up/new/?case={case.pk}&kind=call"
    page.evaluate("() => navigator.serviceWorker.ready")
    _wait_until_kept(page, form_path)

    # when: without network, the agent opens the call form
    page.context.set_offline(True)
    response = page.goto(form_path)

    # then: the form comes from the phone, with a fresh submission id
    assert response is not None and response.from_service_worker
    expect(page.get_by_test_id("follow-up-party")).to_have_text("Ana Lopes")
    first = page.locator("[name=client_uuid]").input_value()
    page.goto(form_path)
    assert page.locator("[name=client_uuid]").input_value() not in ("", first)
    assert_no_horizontal_scroll(page)


def test_online_the_form_shows_what_to_correct_then_goes_back_to_the_day(open_page, praia):
    # given
    agent, party, case = _agent_with_case(praia)
    page = open_page(PHONE)
    log_in(page, agent.username, TEST_PASSWORD)
    page.goto(f"/compliance/field/follow-up/new/?case={case.pk}&kind=call")

    # when: Save without an outcome
    page.get_by_test_id("save-follow-up").click()

    # then: the outcome is marked, nothing is kept on the phone or stored
    expect(page.get_by_test_id("offline-status")).to_have_text(
        "Please correct the fields marked below."
    )
    expect(page.locator("[data-js-error=outcome]")).to_have_text("This field is required.")
    assert FollowUp.objects.count() == 0

    # when: the outcome is chosen and Save tapped again
    page.get_by_test_id("outcome-not_reached").check()
    page.get_by_test_id("save-follow-up").click()

    # then: back on the day list with the confirmation
    expect(page).to_have_url(re.compile(r"/compliance/field/$"))
    expect(page.get_by_role("alert")).to_contain_text("Call with Ana Lopes recorded.")
    assert FollowUp.objects.get().outcome == "not_reached"


def test_a_saved_form_the_server_refuses_is_kept_with_its_message(open_page, praia):
    # given: a call saved offline without its outcome
    agent, party, case = _agent_with_case(praia)
    page = open_page(PHONE)
    log_in(page, agent.username, TEST_PASSWORD)
    page.goto(f"/compliance/field/follow-up/new/?case={case.pk}&kind=call")
    page.context.set_offline(True)
    page.get_by_test_id("save-follow-up").click()
    status = page.get_by_test_id("offline-status")
    expect(status).to_contain_text("(1 waiting)")

    # when: the network is back
    page.context.set_offline(False)

    # then: the refusal is shown and the form stays on the phone, even after a reload
    expect(status).to_contain_text("A saved form was not accepted: This field is required.")
    page.reload()
    expect(status).to_contain_text("A saved form was not accepted: This field is required.")
    assert FollowUp.objects.count() == 0

    # when: the agent discards it
    page.get_by_test_id("discard-refused").click()

    # then
    expect(status).to_be_hidden()
    page.reload()
    expect(status).to_be_hidden()
