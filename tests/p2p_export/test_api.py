"""P2P API: scoped lists with filters and bounded queries, actions through the services
(select, validate, profile update, push with dry run, withdraw), read-only roles refused with
nothing changed, eligible loans, dashboard figures, news and reports, and the schema."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from rest_framework.test import APIClient

from p2p_export.journals import journal_create
from p2p_export.models import JournalDraft, OutboxMessage, Publication
from p2p_export.services import publication_select, publication_validate
from tests.crm.factories import make_person
from tests.factories import UserFactory
from tests.p2p_export.conftest import sandbox_log, sandbox_state
from tests.p2p_export.factories import (
    STORY,
    loan_repaid_last_month,
    previous_month,
    publish_and_poll,
    ready_publication,
    recent_loan,
)
from users.roles import Role

API = "/api/v1/p2p/"
# The entries SPECTACULAR_SETTINGS["ENUM_NAME_OVERRIDES"] needs for the P2P API.
P2P_ENUM_OVERRIDES = {
    "PublicationStateEnum": "p2p_export.choices.PublicationState",
    "P2PJournalStatusEnum": "p2p_export.choices.JournalStatus",
    "P2PJournalSourceEnum": "p2p_export.choices.JournalSource",
    "P2PReportStatusEnum": "p2p_export.choices.ReportStatus",
}


@pytest.fixture
def loan(loan_officer, branch_manager, rules):
    return recent_loan(loan_officer, branch_manager, rules)


@pytest.fixture
def publication(manager, kiva_platform, loan):
    return ready_publication(manager, kiva_platform, loan)


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def test_the_list_is_scoped_filtered_and_bounded(
    manager,
    loan_officer,
    branch_manager,
    rules,
    kiva_platform,
    mindelo,
    django_assert_max_num_queries,
):
    # given three publications of Praia loans, one with errors
    for _ in range(3):
        publication_select(
            actor=manager,
            platform=kiva_platform,
            loan=recent_loan(loan_officer, branch_manager, rules),
        )
    flagged = Publication.objects.order_by("pk").first()
    with pytest.raises(ValidationError):  # the refusal is what stores the errors
        publication_validate(actor=manager, publication=flagged)
    mindelo_manager = UserFactory(username="bm.mindelo", role=Role.BRANCH_MANAGER, branch=mindelo)

    # when
    with django_assert_max_num_queries(10):
        everything = api(manager).get(f"{API}publications/", {"platform": "kiva"})
    with_errors = api(manager).get(f"{API}publications/", {"has_error": "true"})
    elsewhere = api(mindelo_manager).get(f"{API}publications/")

    # then
    assert everything.status_code == 200
    assert everything.json()["count"] == 3
    assert [row["id"] for row in with_errors.json()["results"]] == [flagged.pk]
    assert with_errors.json()["results"][0]["state"] == "selected"
    assert elsewhere.json()["count"] == 0


def test_staff_without_p2p_access_get_403(loan_officer, publication):
    # when
    responses = [
        api(loan_officer).get(f"{API}publications/"),
        api(loan_officer).get(f"{API}dashboard/"),
        api(loan_officer).get(f"{API}eligible-loans/", {"platform": "kiva"}),
    ]

    # then
    assert [response.status_code for response in responses] == [403, 403, 403]


def test_a_read_only_auditor_changes_nothing(auditor, publication, kiva_server):
    # given
    client = api(auditor)

    # when
    detail = client.get(f"{API}publications/{publication.pk}/")
    refused = [
        client.post(f"{API}publications/{publication.pk}/validate/"),
        client.post(f"{API}publications/{publication.pk}/push/", {"dry_run": False}),
        client.post(f"{API}publications/{publication.pk}/withdraw/", {"reason": "x"}),
        client.patch(f"{API}publications/{publication.pk}/profile/", {"first_name": "Ana"}),
    ]

    # then
    assert detail.status_code == 200
    assert [response.status_code for response in refused] == [403, 403, 403, 403]
    publication.refresh_from_db()
    assert (publication.state, publication.profile.first_name) == ("prepared", "Maria")
    assert sandbox_log(kiva_server) == []


def test_out_of_scope_publications_are_404(mindelo, publication):
    # given
    mindelo_manager = UserFactory(username="bm.mindelo", role=Role.BRANCH_MANAGER, branch=mindelo)

    # when
    response = api(mindelo_manager).get(f"{API}publications/{publication.pk}/")

    # then
    assert response.status_code == 404


def test_select_answers_each_loan(
    manager, loan_officer, branch_manager, rules, kiva_platform, loan
):
    # given a loan without consent (not eligible)
    other = recent_loan(loan_officer, branch_manager, rules, borrower=make_person(loan_officer))

    # when
    response = api(manager).post(
        f"{API}publications/select/",
        {"platform": "kiva", "loans": [loan.pk, other.pk]},
        format="json",
    )

    # then
    assert response.status_code == 201
    publication = Publication.objects.get()
    assert response.json() == [
        {"loan": loan.pk, "publication": publication.pk, "errors": []},
        {
            "loan": other.pk,
            "publication": None,
            "errors": ["No consent to P2P publication is on file for every borrower."],
        },
    ]


def test_profile_update_validate_and_dry_run(manager, publication, kiva_server):
    # given
    client = api(manager)

    # when the story is made too short
    patched = client.patch(
        f"{API}publications/{publication.pk}/profile/",
        {"story": "Too short.", "activity": "25"},
        format="json",
    )
    refused = client.post(f"{API}publications/{publication.pk}/validate/")
    client.patch(f"{API}publications/{publication.pk}/profile/", {"story": STORY}, format="json")
    validated = client.post(f"{API}publications/{publication.pk}/validate/")
    dry = client.post(f"{API}publications/{publication.pk}/push/", {"dry_run": True}, format="json")

    # then
    assert patched.status_code == 200
    assert patched.json()["profile"]["activity"] == "25"
    assert refused.status_code == 400
    assert refused.json() == {
        "story": ["The story must be at least 150 characters long (it has 10)."]
    }
    assert validated.json()["state"] == "validated"
    assert dry.status_code == 200
    assert dry.json()["errors"] == {}
    assert dry.json()["payload"]["description"] == STORY
    assert dry.json()["payload"]["activity_id"] == 25
    assert sandbox_log(kiva_server) == []


def test_an_unknown_lookup_is_refused(manager, publication):
    # when
    response = api(manager).patch(
        f"{API}publications/{publication.pk}/profile/", {"activity": "9999"}, format="json"
    )

    # then
    assert response.status_code == 400
    assert response.json() == {"activity": ["Choose from this platform's list."]}


def test_push_is_queued_then_sent_to_the_sandbox(
    manager, publication, kiva_server, django_capture_on_commit_callbacks
):
    # given
    publication_validate(actor=manager, publication=publication)

    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = api(manager).post(
            f"{API}publications/{publication.pk}/push/", {"dry_run": False}, format="json"
        )

    # then
    assert response.status_code == 202
    publication.refresh_from_db()
    assert publication.state == "awaiting_confirmation"
    assert publication.platform_draft_id != ""
    assert OutboxMessage.objects.get().status == "sent"


def test_withdraw_needs_a_reason(manager, publication):
    # when
    refused = api(manager).post(
        f"{API}publications/{publication.pk}/withdraw/", {"reason": ""}, format="json"
    )
    done = api(manager).post(
        f"{API}publications/{publication.pk}/withdraw/",
        {"reason": "Borrower moved away", "anonymise": False},
        format="json",
    )

    # then
    assert refused.status_code == 400
    assert done.json()["state"] == "withdrawn"
    assert done.json()["history"][-1]["note"] == "Borrower moved away"


def test_eligible_loans_and_dashboard(
    manager, loan_officer, branch_manager, rules, kiva_platform, publication
):
    # given a second loan, not yet selected
    other = recent_loan(loan_officer, branch_manager, rules)

    # when
    eligible = api(manager).get(f"{API}eligible-loans/", {"platform": "kiva"})
    dashboard = api(manager).get(f"{API}dashboard/")

    # then
    assert eligible.status_code == 200
    assert [(row["number"], row["reasons"]) for row in eligible.json()] == [(other.number, [])]
    (kiva,) = dashboard.json()
    assert kiva["platform"] == "kiva"
    assert kiva["total"] == 1
    assert {row["state"]: row["count"] for row in kiva["states"] if row["count"]} == {"prepared": 1}
    assert kiva["consent_gaps"] == 0


def test_news_are_edited_approved_and_sent(manager, publication, kiva_server):
    # given a funded loan and a news item written by staff
    publish_and_poll(manager, publication, 2)
    journal = journal_create(
        actor=manager, publication=publication, subject="Maria", body="The shop is doing well."
    )
    client = api(manager)

    # when
    edited = client.patch(
        f"{API}journals/{journal.pk}/",
        {"subject": "Good news from Maria", "body": "The shop now sells bread."},
        format="json",
    )
    approved = client.post(f"{API}journals/{journal.pk}/approve/")
    sent = client.post(f"{API}journals/{journal.pk}/send/")

    # then
    assert edited.json()["subject"] == "Good news from Maria"
    assert approved.json()["status"] == "approved"
    assert sent.json()["status"] == "sent"
    assert JournalDraft.objects.get().platform_journal_id != ""
    (published,) = sandbox_state(kiva_server)["journals"]
    assert (published["subject"], published["body"]) == (
        "Good news from Maria",
        "The shop now sells bread.",
    )


def test_reports_are_built_for_a_month(manager, kiva_platform):
    # when
    response = api(manager).post(
        f"{API}reports/build/", {"platform": "kiva", "year": 2026, "month": 1}, format="json"
    )

    # then
    assert response.status_code == 200
    assert response.json() == []


def test_the_schema_documents_the_p2p_api_without_warnings(monkeypatch, capsys):
    # given the enum names the P2P API needs
    from drf_spectacular.generators import SchemaGenerator
    from drf_spectacular.plumbing import _load_enum_name_overrides
    from drf_spectacular.settings import spectacular_settings

    overrides = {**spectacular_settings.ENUM_NAME_OVERRIDES, **P2P_ENUM_OVERRIDES}
    monkeypatch.setattr(spectacular_settings, "ENUM_NAME_OVERRIDES", overrides)
    _load_enum_name_overrides.cache_clear()

    # when
    schema = SchemaGenerator().get_schema(request=None, public=True)
    _load_enum_name_overrides.cache_clear()

    # then
    paths = set(schema["paths"])
    assert {
        "/api/v1/p2p/publications/",
        "/api/v1/p2p/publications/{id}/",
        "/api/v1/p2p/publications/select/",
        "/api/v1/p2p/publications/{id}/validate/",
        "/api/v1/p2p/publications/{id}/push/",
        "/api/v1/p2p/publications/{id}/withdraw/",
        "/api/v1/p2p/publications/{id}/profile/",
        "/api/v1/p2p/eligible-loans/",
        "/api/v1/p2p/dashboard/",
        "/api/v1/p2p/journals/",
        "/api/v1/p2p/journals/{id}/approve/",
        "/api/v1/p2p/reports/",
        "/api/v1/p2p/reports/build/",
    } <= paths
    names = set(schema["components"]["schemas"])
    assert {"PublicationStateEnum", "P2PJournalStatusEnum", "P2PReportStatusEnum"} <= names
    assert not {"StateEnum", "ToStateEnum", "FromStateEnum"} & names
    warnings = capsys.readouterr().err
    assert "ToStateEnum" not in warnings
    assert "StatusC6bEnum" not in warnings


def test_a_month_is_built_finalised_and_sent_through_the_api(
    manager, auditor, loan_officer, branch_manager, rules, kiva_platform, kiva_server
):
    # given a loan paying back on Kiva, repaid 8,947.15 last month
    loan = loan_repaid_last_month(loan_officer, branch_manager, rules)
    publish_and_poll(manager, ready_publication(manager, kiva_platform, loan), 3)
    year, month = previous_month()
    client = api(manager)

    # when
    (built,) = client.post(
        f"{API}reports/build/", {"platform": "kiva", "year": year, "month": month}, format="json"
    ).json()
    refused = api(auditor).post(f"{API}reports/{built['id']}/finalise/")
    finalised = client.post(f"{API}reports/{built['id']}/finalise/")
    sent = client.post(f"{API}reports/{built['id']}/send/")

    # then
    assert (built["status"], built["total"]) == ("open", "8947.1500")
    assert refused.status_code == 403
    assert finalised.json()["status"] == "finalised"
    assert [line["amount"] for line in finalised.json()["lines"]] == ["8947.1500"]
    assert sent.json()["status"] == "sent"
    assert [batch["count"] for batch in sandbox_state(kiva_server)["repayment_batches"]] == [1]
