"""P2P screens: permissions (403/404 with nothing changed), the manager's flow select → edit →
validate → push → status back against the Kiva sandbox, the consent gate shown and enforced,
the preview in the platform's language, the dry run and the list's query count."""

from __future__ import annotations

import json
from html import escape

import pytest
from django.urls import reverse

from p2p_export.models import OutboxMessage, Publication
from p2p_export.services import publication_select, publication_validate
from tests.crm.factories import make_person
from tests.factories import UserFactory
from tests.p2p_export.conftest import sandbox_log
from tests.p2p_export.factories import (
    STORY,
    days_ago,
    jpeg_bytes,
    ready_publication,
    recent_loan,
    upload,
    waiver_scan,
)
from users.roles import Role


@pytest.fixture
def loan(loan_officer, branch_manager, rules):
    return recent_loan(loan_officer, branch_manager, rules)


@pytest.fixture
def publication(manager, kiva_platform, loan):
    return ready_publication(manager, kiva_platform, loan)


def logged_in(client, user):
    client.force_login(user)
    return client


def url(name: str, *args) -> str:
    return reverse(f"p2p_export:{name}", args=args)


def messages_of(response) -> list[str]:
    return [str(message) for message in response.context["messages"]]


# --- permissions -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["dashboard", "publication_list", "eligible", "journal_list", "report_list"]
)
def test_staff_without_p2p_access_get_403(client, loan_officer, kiva_platform, name):
    # when
    response = logged_in(client, loan_officer).get(url(name))

    # then
    assert response.status_code == 403


def test_a_read_only_auditor_sees_but_changes_nothing(client, auditor, publication, kiva_server):
    # given
    client = logged_in(client, auditor)

    # when
    page = client.get(url("publication_detail", publication.pk))
    validate = client.post(url("publication_validate", publication.pk))
    push = client.post(url("publication_push", publication.pk))
    withdraw = client.post(url("publication_withdraw", publication.pk), {"reason": "test"})
    edit = client.post(url("profile_edit", publication.pk), {"first_name": "Ana"})

    # then
    assert page.status_code == 200
    assert 'data-testid="validate"' not in page.content.decode()
    assert (validate.status_code, push.status_code, withdraw.status_code, edit.status_code) == (
        403,
        403,
        403,
        403,
    )
    publication.refresh_from_db()
    assert (publication.state, publication.profile.first_name) == ("prepared", "Maria")
    assert sandbox_log(kiva_server) == []


def test_a_branch_manager_of_another_branch_gets_404(client, mindelo, publication):
    # given a P2P reader whose scope is Mindelo; the loan is Praia's
    mindelo_manager = UserFactory(username="bm.mindelo", role=Role.BRANCH_MANAGER, branch=mindelo)
    client = logged_in(client, mindelo_manager)

    # when
    responses = [
        client.get(url("publication_detail", publication.pk)),
        client.get(url("profile_preview", publication.pk)),
        client.get(url("photo", publication.photos.get().pk)),
    ]

    # then
    assert [response.status_code for response in responses] == [404, 404, 404]
    listing = client.get(url("publication_list"))
    assert listing.context["page"].paginator.count == 0


def test_a_branch_manager_may_read_but_not_manage(client, branch_manager, publication):
    # when
    client = logged_in(client, branch_manager)
    page = client.get(url("publication_detail", publication.pk))
    validate = client.post(url("publication_validate", publication.pk))

    # then
    assert page.status_code == 200
    assert validate.status_code == 403
    assert Publication.objects.get(pk=publication.pk).state == "prepared"


# --- eligible loans and selection --------------------------------------------------------------


def test_eligible_loans_show_why_some_cannot_be_published(
    client, manager, loan_officer, branch_manager, rules, kiva_platform
):
    # given
    eligible = recent_loan(loan_officer, branch_manager, rules)
    no_consent = recent_loan(
        loan_officer, branch_manager, rules, borrower=make_person(loan_officer)
    )

    # when
    response = logged_in(client, manager).get(url("eligible"), {"platform": kiva_platform.pk})

    # then
    loans = {loan.number: loan.p2p_reasons for loan in response.context["page"].object_list}
    assert loans == {
        eligible.number: [],
        no_consent.number: ["No consent to P2P publication is on file for every borrower."],
    }
    html = response.content.decode()
    assert f'name="loans" value="{eligible.pk}"' in html
    assert f'name="loans" value="{no_consent.pk}"' not in html


def test_the_eligibility_reasons_match_the_selection_service(
    manager, loan_officer, branch_manager, rules, kiva_platform
):
    # given
    from p2p_export.selectors import EligibilityCriteria, eligible_candidates, ineligibility_reasons
    from p2p_export.services import eligibility_problems

    recent_loan(loan_officer, branch_manager, rules)
    recent_loan(loan_officer, branch_manager, rules, borrower=make_person(loan_officer))
    recent_loan(loan_officer, branch_manager, rules, disbursed_days_ago=75)
    loans = list(eligible_candidates(user=manager, criteria=EligibilityCriteria(kiva_platform)))

    # when
    reasons = ineligibility_reasons(kiva_platform, loans)

    # then
    assert len(loans) == 3
    assert reasons == {loan.pk: eligibility_problems(kiva_platform, loan) for loan in loans}


def test_criteria_narrow_the_list(
    client, manager, loan_officer, branch_manager, rules, kiva_platform
):
    # given
    small = recent_loan(loan_officer, branch_manager, rules, principal="50000")
    recent_loan(loan_officer, branch_manager, rules)

    # when
    response = logged_in(client, manager).get(
        url("eligible"), {"platform": kiva_platform.pk, "amount_max": "60000"}
    )

    # then
    assert [loan.number for loan in response.context["page"].object_list] == [small.number]


def test_a_manager_selects_ticked_loans(client, manager, kiva_platform, loan):
    # when
    response = logged_in(client, manager).post(
        url("eligible") + f"?platform={kiva_platform.pk}",
        {"platform": kiva_platform.pk, "loans": [loan.pk]},
        follow=True,
    )

    # then
    publication = Publication.objects.get()
    assert (publication.loan_id, publication.platform_id, publication.state) == (
        loan.pk,
        kiva_platform.pk,
        "selected",
    )
    assert publication.profile.first_name == "Maria"
    assert messages_of(response) == ["1 loan selected for Kiva."]


def test_an_auditor_cannot_select(client, auditor, kiva_platform, loan):
    # when
    response = logged_in(client, auditor).post(
        url("eligible"), {"platform": kiva_platform.pk, "loans": [loan.pk]}
    )

    # then
    assert response.status_code == 403
    assert not Publication.objects.exists()


def test_a_loan_outside_the_list_is_not_selected(
    client, manager, loan_officer, branch_manager, rules, kiva_platform
):
    # given a loan whose borrower gave no consent (not a candidate one may tick)
    loan = recent_loan(loan_officer, branch_manager, rules, borrower=make_person(loan_officer))

    # when
    response = logged_in(client, manager).post(
        url("eligible"), {"platform": kiva_platform.pk, "loans": [loan.pk]}, follow=True
    )

    # then
    assert not Publication.objects.exists()
    assert any("No consent" in text for text in messages_of(response))


# --- the manager's flow ------------------------------------------------------------------------


def test_select_edit_validate_push_and_see_the_status_come_back(
    client, manager, kiva_platform, kiva_server, loan, django_capture_on_commit_callbacks
):
    # given a selected loan
    client = logged_in(client, manager)
    client.post(url("eligible"), {"platform": kiva_platform.pk, "loans": [loan.pk]})
    publication = Publication.objects.get()

    # when the story is too short and there is no photo or waiver yet
    client.post(
        url("profile_edit", publication.pk),
        {
            "first_name": "Maria",
            "story": "Maria sells bread.",
            "loan_use": "to buy flour",
            "location": kiva_platform.lookups.get(kind="location", external_id="238").pk,
            "description_language": "en",
        },
    )
    refused = client.post(url("publication_validate", publication.pk), follow=True)

    # then every problem is listed on the publication, by field
    html = refused.content.decode()
    assert "The story must be at least 150 characters long (it has 18)." in html
    assert "Add a photo, or mark the profile as not pictured." in html
    assert "No signed waiver of Maria is on file for this loan." in html
    errors = {field: messages for field, _label, messages in refused.context["errors"]}
    assert set(errors) == {"story", "activity", "photo", "waiver"}

    # when the manager fixes them
    activity = kiva_platform.lookups.get(kind="activity", external_id="25")
    location = kiva_platform.lookups.get(kind="location", external_id="238")
    saved = client.post(
        url("profile_edit", publication.pk),
        {
            "first_name": "Maria",
            "story": STORY,
            "loan_use": "to buy stock in bulk",
            "activity": activity.pk,
            "location": location.pk,
            "description_language": "en",
        },
        follow=True,
    )
    photo = client.post(
        url("photo_upload", publication.pk), {"photo": upload(jpeg_bytes())}, follow=True
    )
    waiver = client.post(
        url("waiver_add", publication.pk),
        {"person": loan.borrower_id, "signed_on": days_ago(2).isoformat(), "scan": waiver_scan()},
        follow=True,
    )
    validated = client.post(url("publication_validate", publication.pk), follow=True)
    with django_capture_on_commit_callbacks(execute=True):
        pushed = client.post(url("publication_push", publication.pk), follow=True)
    after_push = Publication.objects.get(pk=publication.pk).state
    synced = client.post(url("sync_now", "kiva"), follow=True)

    # then
    assert messages_of(saved) == ["Profile saved. Validate it again before pushing it."]
    assert messages_of(photo) == ["Photo added (location data and camera details removed)."]
    assert messages_of(waiver) == ["The signed waiver is on file."]
    assert messages_of(validated) == ["The profile meets the platform's rules: it is validated."]
    assert messages_of(pushed) == ["The profile is on its way to Kiva."]
    assert after_push == "awaiting_confirmation"
    publication.refresh_from_db()
    assert publication.state == "fundraising"
    assert publication.platform_status == "fundraising"
    assert publication.platform_draft_id != ""
    detail = client.get(url("publication_detail", publication.pk)).content.decode()
    assert f'data-field="draft-id">{publication.platform_draft_id}<' in detail
    assert 'data-state="fundraising"' in detail
    history = [event.action for event in publication.events.order_by("pk")]
    assert history[:4] == ["selected", "prepared", "validated", "pushed"]
    trail = client.get(url("publication_detail", publication.pk)).context["audit_trail"]
    assert {"p2p_publication.selected", "p2p_profile.updated", "p2p_waiver.added"} <= {
        event.action for event in trail
    }
    assert synced.status_code == 200


def test_the_editor_shows_stored_errors_next_to_their_field(client, manager, publication):
    # given
    from p2p_export.services import profile_update

    profile_update(actor=manager, publication=publication, data={"story": "Too short."})
    with pytest.raises(Exception):  # noqa: B017 - the refusal itself is tested in the services
        publication_validate(actor=manager, publication=publication)

    # when
    response = logged_in(client, manager).get(url("profile_edit", publication.pk))

    # then
    rows = {field.name: stored for field, stored in response.context["field_rows"]}
    assert rows["story"] == ["The story must be at least 150 characters long (it has 10)."]
    assert rows["first_name"] == []
    assert 'data-stored-error="story"' in response.content.decode()


def test_a_rejected_photo_is_reported_and_nothing_is_stored(client, manager, publication):
    # when
    response = logged_in(client, manager).post(
        url("photo_upload", publication.pk),
        {"photo": upload(b"not an image at all", "x.jpg")},
        follow=True,
    )

    # then
    assert messages_of(response) == [
        "This file is not a photo we can use; upload a JPEG or PNG image."
    ]
    assert publication.photos.count() == 1


# --- consent gate ---------------------------------------------------------------------------


def test_the_consent_gate_is_shown_and_enforced(client, manager, kiva_platform, kiva_server, loan):
    # given a profile complete but for the waiver
    publication = ready_publication(manager, kiva_platform, loan, waiver=False)
    client = logged_in(client, manager)

    # when
    page = client.get(url("publication_detail", publication.pk))
    validate = client.post(url("publication_validate", publication.pk), follow=True)
    push = client.post(url("publication_push", publication.pk), follow=True)

    # then
    gate = page.context["consent"]
    assert [
        (line.first_name, line.has_p2p_consent, line.has_photo_consent, line.waiver)
        for line in gate
    ] == [("Maria", True, True, None)]
    assert 'data-testid="push"' not in page.content.decode()
    assert messages_of(validate) == ["No signed waiver of Maria is on file for this loan."]
    assert messages_of(push) == ["Validate the profile before pushing it."]
    assert Publication.objects.get(pk=publication.pk).state == "prepared"
    assert sandbox_log(kiva_server) == []


def test_a_withdrawn_waiver_takes_the_profile_down_and_shows_the_takedown(
    client, manager, publication, kiva_server, django_capture_on_commit_callbacks
):
    # given a profile on the platform
    publication_validate(actor=manager, publication=publication)
    client = logged_in(client, manager)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("publication_push", publication.pk), follow=True)
    waiver = publication.loan.p2p_waivers.get()

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            url("waiver_withdraw", publication.pk, waiver.pk),
            {"withdrawn_on": days_ago(0).isoformat()},
            follow=True,
        )

    # then
    publication.refresh_from_db()
    assert (publication.state, publication.is_anonymised) == ("withdrawn", True)
    assert messages_of(response) == ["The waiver is withdrawn; the profile is taken down."]
    html = response.content.decode()
    assert 'data-testid="takedown-status"' in html
    kinds = dict(OutboxMessage.objects.exclude(kind="draft").values_list("kind", "status"))
    assert kinds == {"takedown": "sent", "anonymise": "sent"}
    assert 'data-kind="takedown"' in html


# --- dry run and preview ------------------------------------------------------------------------


def test_the_dry_run_shows_the_exact_payload_and_sends_nothing(
    client, manager, publication, kiva_server
):
    # given
    client = logged_in(client, manager)

    # when
    page = client.get(url("publication_dry_run", publication.pk))
    download = client.get(url("publication_dry_run", publication.pk), {"format": "json"})

    # then
    payload = json.loads(download.content)
    assert payload["internal_loan_id"] == publication.loan.number
    assert payload["description"] == STORY
    assert payload["borrowers"][0]["amount"] == "120000.00"
    assert len(payload["schedule"]) == 12
    assert download["Content-Disposition"] == (
        f'attachment; filename="kiva-{publication.loan.number}-dry-run.json"'
    )
    assert page.context["errors"] == []
    shown = f'"internal_loan_id": "{publication.loan.number}"'
    assert escape(shown) in page.content.decode()
    assert sandbox_log(kiva_server) == []
    assert not OutboxMessage.objects.exists()


def test_the_preview_is_in_the_platform_language(client, manager, publication):
    # given a platform showing profiles in French
    publication.platform.language = "fr"
    publication.platform.save()

    # when
    response = logged_in(client, manager).get(url("profile_preview", publication.pk))

    # then
    html = response.content.decode()
    assert 'data-language="fr"' in html
    assert '<th class="text-end">Capital</th>' in html
    assert 'data-testid="preview-name">Maria<' in html
    assert STORY[:60] in html
    schedule = response.context["schedule"]
    assert len(schedule) == 12
    assert (schedule[0]["principal"], schedule[0]["interest"]) == ("8947.15", "2400.00")
    photo = publication.photos.get()
    assert url("photo", photo.pk) in html


def test_the_photo_served_is_the_processed_copy(client, auditor, publication):
    # when
    response = logged_in(client, auditor).get(url("photo", publication.photos.get().pk))

    # then
    body = b"".join(response.streaming_content)
    assert response["Content-Type"] == "image/jpeg"
    photo = publication.photos.get()
    with photo.processed.open("rb") as handle:
        assert body == handle.read()


# --- lists and dashboard ------------------------------------------------------------------------


def test_the_publication_list_runs_a_fixed_number_of_queries(
    client,
    manager,
    loan_officer,
    branch_manager,
    rules,
    kiva_platform,
    django_assert_max_num_queries,
):
    # given
    for _ in range(4):
        publication_select(
            actor=manager,
            platform=kiva_platform,
            loan=recent_loan(loan_officer, branch_manager, rules),
        )
    client = logged_in(client, manager)

    # when
    with django_assert_max_num_queries(12):
        response = client.get(url("publication_list"), {"platform": "kiva"})

    # then
    assert response.context["page"].paginator.count == 4


def test_the_dashboard_counts_link_to_the_filtered_list(
    client,
    manager,
    kiva_platform,
    loan,
    loan_officer,
    branch_manager,
    rules,
    django_assert_max_num_queries,
):
    # given one prepared profile and one selected, both without a signed waiver
    publication = ready_publication(manager, kiva_platform, loan, waiver=False)
    other = recent_loan(loan_officer, branch_manager, rules)
    publication_select(actor=manager, platform=kiva_platform, loan=other)
    client = logged_in(client, manager)

    # when
    with django_assert_max_num_queries(20):
        response = client.get(url("dashboard"))

    # then
    (box,) = response.context["figures"]
    counts = {row.state: row.count for row in box.states if row.count}
    assert counts == {"selected": 1, "prepared": 1}
    assert (box.total, box.consent_gaps, box.errors) == (2, 2, 0)
    prepared = next(row for row in box.states if row.state == "prepared")
    listing = client.get(prepared.url)
    assert [p.pk for p in listing.context["page"].object_list] == [publication.pk]
    gaps = client.get(box.links["consent"])
    assert gaps.context["page"].paginator.count == 2


# --- platform lists -------------------------------------------------------------------------


def test_a_manager_maps_an_activity_to_a_sector(client, manager, auditor, kiva_platform):
    # given
    farming = kiva_platform.lookups.get(kind="activity", external_id="61")

    # when
    refused = logged_in(client, auditor).post(
        url("lookup_map", "kiva", farming.pk), {f"l{farming.pk}-sector": "agriculture"}
    )
    unchanged = type(farming).objects.get(pk=farming.pk).sector
    page = logged_in(client, manager).get(url("lookup_list", "kiva"))
    mapped = client.post(
        url("lookup_map", "kiva", farming.pk),
        {f"l{farming.pk}-sector": "agriculture"},
        follow=True,
    )

    # then
    assert (refused.status_code, unchanged) == (403, "")
    assert [kind for kind, _label, _mapped, _rows in page.context["groups"]] == [
        "activity",
        "theme",
        "location",
        "locale",
    ]
    assert messages_of(mapped) == ["“Agriculture” mapped."]
    farming.refresh_from_db()
    assert (farming.sector, farming.island) == ("agriculture", "")


def test_family_and_living_are_proposed_from_the_borrowers_record(
    client, manager, loan_officer, kiva_platform, loan
):
    # given the borrower owns a registered shop with two employees and lives with two people
    from crm.choices import LinkKind
    from crm.services import party_link_create
    from tests.crm.factories import make_enterprise

    person = loan.borrower.person
    shop = make_enterprise(loan_officer, employees=2)
    party_link_create(actor=loan_officer, from_party=person, to_party=shop, kind=LinkKind.OWNER)
    for first_name in ("Rui", "Inês"):
        relative = make_person(loan_officer, first_name=first_name)
        party_link_create(
            actor=loan_officer, from_party=relative, to_party=person, kind=LinkKind.HOUSEHOLD_MEMBER
        )
    publication = publication_select(actor=manager, platform=kiva_platform, loan=loan)

    # when
    response = logged_in(client, manager).get(url("profile_edit", publication.pk))

    # then
    form = response.context["form"]
    assert form["family_situation"].value() == "Lives in a household of 3 people."
    assert form["standard_of_living"].value() == (
        "Runs a registered business in retail trade and employs 2 people."
    )
    assert response.context["suggested"] == ["family_situation", "standard_of_living"]
    publication.profile.refresh_from_db()
    assert publication.profile.family_situation == ""


def test_the_eligible_list_runs_a_fixed_number_of_queries(
    client,
    manager,
    loan_officer,
    branch_manager,
    rules,
    kiva_platform,
    django_assert_max_num_queries,
):
    # given
    for _ in range(4):
        recent_loan(loan_officer, branch_manager, rules)
    client = logged_in(client, manager)

    # when
    with django_assert_max_num_queries(15):
        response = client.get(url("eligible"), {"platform": kiva_platform.pk})

    # then
    assert len(response.context["page"].object_list) == 4
