"""Pushing profiles: idempotent (same task twice, a worker dying after the HTTP call), dry runs,
transient failures retried, the platform's refusals shown on the profile, state machine rules."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from p2p_export import services
from p2p_export.choices import PublicationState
from p2p_export.http import TransientError
from p2p_export.models import OutboxMessage, Publication
from p2p_export.payload import payload_hash
from p2p_export.tasks import push_publication
from tests.p2p_export.conftest import inject, sandbox_log, sandbox_state
from tests.p2p_export.factories import ready_publication, recent_loan


@pytest.fixture
def validated(manager, loan_officer, branch_manager, rules, kiva_platform):
    loan = recent_loan(loan_officer, branch_manager, rules)
    publication = ready_publication(manager, kiva_platform, loan)
    return services.publication_validate(actor=manager, publication=publication)


def draft_posts(server) -> int:
    return sum(
        1 for row in sandbox_log(server) if row["method"] == "POST" and "loan_draft" in row["path"]
    )


def test_the_same_push_task_twice_creates_one_draft(validated, manager, kiva_server):
    # when
    first = push_publication.apply(args=[validated.pk, manager.pk]).get()
    second = push_publication.apply(args=[validated.pk, manager.pk]).get()

    # then
    assert first == {
        "publication": validated.pk,
        "result": "pushed",
        "state": "awaiting_confirmation",
        "found_existing": False,
    }
    assert second["state"] == "awaiting_confirmation"
    assert len(sandbox_state(kiva_server)["drafts"]) == 1
    assert draft_posts(kiva_server) == 1
    outbox = OutboxMessage.objects.get()
    assert (outbox.idempotency_key, outbox.status, outbox.attempts) == (
        f"draft:kiva:{validated.loan_id}:v1",
        "sent",
        1,
    )


def test_a_worker_dying_after_the_call_never_creates_a_second_draft(
    validated, manager, kiva_server
):
    # given a push that reached the platform, but whose recording was lost
    push_publication.apply(args=[validated.pk, manager.pk]).get()
    draft_id = Publication.objects.get(pk=validated.pk).platform_draft_id
    Publication.objects.filter(pk=validated.pk).update(
        state=PublicationState.VALIDATED, platform_draft_id="", platform_status=""
    )
    OutboxMessage.objects.all().delete()

    # when the task runs again
    result = push_publication.apply(args=[validated.pk, manager.pk]).get()

    # then the platform's draft is found, not created again
    assert result["found_existing"] is True
    assert len(sandbox_state(kiva_server)["drafts"]) == 1
    assert draft_posts(kiva_server) == 1
    publication = Publication.objects.get(pk=validated.pk)
    assert publication.platform_draft_id == draft_id
    assert publication.events.filter(action="pushed").last().note == (
        "Found already on the platform."
    )


def test_a_dry_run_returns_the_exact_payload_and_sends_nothing(validated, manager, kiva_server):
    # when
    dry = services.publication_push(actor=manager, publication=validated, dry_run=True)

    # then nothing went out and nothing changed
    assert sandbox_log(kiva_server) == []
    assert Publication.objects.get(pk=validated.pk).state == "validated"
    assert not OutboxMessage.objects.exists()
    assert dry.errors == {}
    assert dry.payload["internal_loan_id"] == validated.loan.number
    assert dry.payload["borrowers"][0]["amount"] == "120000.00"
    assert len(dry.payload["schedule"]) == 12

    # and the real push sends exactly that payload
    real = services.publication_push(actor=manager, publication=validated)
    assert real.payload == dry.payload
    assert Publication.objects.get(pk=validated.pk).last_pushed_hash == payload_hash(dry.payload)


def test_a_platform_failure_is_retried_then_succeeds(validated, manager, kiva_server):
    # given the platform fails more often than the client retries
    inject(kiva_server, fail_next=3, fail_status=503)

    # when
    with pytest.raises(TransientError):
        services.publication_push(actor=manager, publication=validated)
    failed = Publication.objects.get(pk=validated.pk)
    outcome = services.publication_push(actor=manager, publication=validated)

    # then
    assert failed.state == "validated"
    assert failed.last_error == (
        'Kiva could not be reached (HTTP 503: {"error": "injected fault"}).'
    )
    assert outcome.sent is True
    assert outcome.publication.state == "awaiting_confirmation"
    assert outcome.publication.last_error == ""
    outbox = OutboxMessage.objects.get()
    assert (outbox.status, outbox.attempts) == ("sent", 2)
    assert len(sandbox_state(kiva_server)["drafts"]) == 1


def test_a_refusal_by_the_platform_is_shown_on_the_profile(
    manager, loan_officer, branch_manager, rules, kiva_platform, kiva_server
):
    # given our rule is laxer than the platform's (the platform wants 150 characters)
    kiva_platform.story_min_length = 50
    kiva_platform.save()
    loan = recent_loan(loan_officer, branch_manager, rules)
    publication = ready_publication(manager, kiva_platform, loan)
    services.profile_update(
        actor=manager,
        publication=publication,
        data={"story": "Maria sells bread and vegetables at the market of Plateau every day."},
    )
    services.publication_validate(actor=manager, publication=publication)

    # when
    with pytest.raises(ValidationError) as caught:
        services.publication_push(actor=manager, publication=publication)

    # then
    publication.refresh_from_db()
    assert caught.value.message_dict == {
        "story": ["The description must be at least 150 characters."]
    }
    assert publication.state == "prepared"
    assert publication.field_errors == {
        "story": ["The description must be at least 150 characters."]
    }
    assert publication.last_error == "story: The description must be at least 150 characters."
    assert OutboxMessage.objects.get().status == "failed"
    assert sandbox_state(kiva_server)["drafts"] == []


def test_after_a_refusal_the_corrected_profile_is_pushed_with_a_new_version(
    manager, loan_officer, branch_manager, rules, kiva_platform, kiva_server
):
    # given a refused push
    kiva_platform.story_min_length = 50
    kiva_platform.save()
    publication = ready_publication(
        manager, kiva_platform, recent_loan(loan_officer, branch_manager, rules)
    )
    services.profile_update(
        actor=manager, publication=publication, data={"story": "Maria sells bread. " * 4}
    )
    services.publication_validate(actor=manager, publication=publication)
    with pytest.raises(ValidationError):
        services.publication_push(actor=manager, publication=publication)

    # when
    services.profile_update(
        actor=manager, publication=publication, data={"story": "Maria sells bread. " * 10}
    )
    services.publication_validate(actor=manager, publication=publication)
    outcome = services.publication_push(actor=manager, publication=publication)

    # then
    assert outcome.publication.payload_version == 2
    assert sorted(OutboxMessage.objects.values_list("idempotency_key", "status")) == [
        (f"draft:kiva:{publication.loan_id}:v1", "failed"),
        (f"draft:kiva:{publication.loan_id}:v2", "sent"),
    ]


def test_state_machine_refusals(manager, validated):
    # when / then: pushing before validation
    services.profile_update(actor=manager, publication=validated, data={"loan_use": "stock"})
    with pytest.raises(ValidationError) as not_validated:
        services.publication_push(actor=manager, publication=validated)
    assert not_validated.value.messages == ["Validate the profile before pushing it."]

    # a withdrawn publication is final
    withdrawn = services.publication_withdraw(
        actor=manager, publication=validated, reason="Borrower moved away"
    )
    with pytest.raises(ValidationError) as final:
        services.publication_transition(
            withdrawn, PublicationState.VALIDATED, actor=manager, action="validated"
        )
    assert final.value.messages == ["A publication that is Withdrawn cannot become Validated."]
    with pytest.raises(ValidationError) as edit:
        services.profile_update(actor=manager, publication=withdrawn, data={"story": "x"})
    assert edit.value.messages == ["The profile can no longer be changed: it is Withdrawn."]
    assert list(withdrawn.events.values_list("action", flat=True))[-1] == "withdrawn"


def test_a_refused_push_task_is_recorded_not_retried(
    manager, loan_officer, branch_manager, rules, kiva_platform, kiva_server
):
    # given a profile never validated
    publication = ready_publication(
        manager, kiva_platform, recent_loan(loan_officer, branch_manager, rules)
    )

    # when
    result = push_publication.apply(args=[publication.pk, manager.pk]).get()

    # then
    assert result == {
        "publication": publication.pk,
        "result": "refused",
        "errors": ["Validate the profile before pushing it."],
    }
    assert sandbox_log(kiva_server) == []
