"""Retention: what is past its time is anonymised or deleted, counted exactly, dry run first."""

from __future__ import annotations

import datetime
import io

import pytest
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from audit.models import AuditEvent
from compliance.desk import desk_check_in
from compliance.models import DeskVisit
from crm import privacy
from crm.choices import LeadSource, Relationship
from crm.leads import lead_create
from crm.models import Party, Person
from crm.tasks import apply_retention
from loans.choices import LoanStatus
from loans.services import repayment_record
from tests.crm.factories import make_person
from tests.p2p_export import conftest as p2p_fixtures
from tests.p2p_export.factories import recent_loan

rules = p2p_fixtures.rules

# The append-only trigger before audit/migrations/0004 (no purge allowed): a database that
# refuses the purge must not stop the rest of the retention run.
STRICT_TRIGGER = """
CREATE OR REPLACE FUNCTION audit_event_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""
LATER = datetime.timedelta(days=365 * 11 + 3)  # past every default retention period


@pytest.fixture
def purge_forbidden(db):
    """The strict trigger; DDL is transactional, the test rolls it back."""
    with connection.cursor() as cursor:
        cursor.execute(STRICT_TRIGGER)


def _closed_loan(officer, approver, rules, borrower):
    loan = recent_loan(officer, approver, rules, borrower=borrower)
    while loan.status == LoanStatus.ACTIVE:
        repayment_record(
            actor=officer, loan=loan, amount=loan.total_outstanding, value_date=timezone.localdate()
        )
        loan.refresh_from_db()
    return loan


@pytest.fixture
def history(loan_officer, branch_manager, service_desk, rules, praia):
    """One borrower whose loan is closed, one still repaying, one stale lead, one walk-in, two
    reads of a record."""
    closed = make_person(loan_officer, first_name="Fechada", nif="234567890")
    _closed_loan(loan_officer, branch_manager, rules, closed)
    running = make_person(loan_officer, first_name="Corrente")
    recent_loan(loan_officer, branch_manager, rules, borrower=running)
    prospect = make_person(loan_officer, first_name="Rosa", relationship=Relationship.PROSPECT)
    lead_create(actor=loan_officer, party=prospect, source=LeadSource.WALK_IN)
    desk_check_in(
        actor=service_desk,
        branch=praia,
        reason="new_loan",
        visitor_name="Walk In",
        visitor_phone="9912345",
    )
    for _ in range(2):
        privacy.party_access_record(actor=loan_officer, party=running, view="party_detail")
    return {"closed": closed, "running": running, "prospect": prospect}


def test_a_dry_run_counts_and_changes_nothing(history):
    # given
    events = AuditEvent.objects.count()

    # when
    result = privacy.retention_apply(dry_run=True, now=timezone.now() + LATER)

    # then
    assert result == {
        "borrowers_anonymised": 1,
        "leads_erased": 1,
        "desk_visits_anonymised": 1,
        "audit_events_deleted": events - 2,
        "access_events_deleted": 2,
    }
    assert AuditEvent.objects.count() == events
    assert Person.objects.get(pk=history["closed"].pk).first_name == "Fechada"


def test_past_retention_everything_goes_and_a_second_run_finds_nothing(history):
    # given
    later = timezone.now() + LATER
    expected = privacy.retention_apply(dry_run=True, now=later)

    # when
    result = privacy.retention_apply(now=later)
    again = privacy.retention_apply(now=later)

    # then
    assert result == expected
    assert again == {
        "borrowers_anonymised": 0,
        "leads_erased": 0,
        "desk_visits_anonymised": 0,
        "audit_events_deleted": 2,  # the two erasure events of the first run, "old" by then
        "access_events_deleted": 0,
    }
    closed = Person.objects.get(pk=history["closed"].pk)
    assert (closed.display_name, closed.nif) == (f"Erased person #{closed.pk}", "")
    assert Person.objects.get(pk=history["running"].pk).first_name == "Corrente"
    assert not Party.objects.filter(pk=history["prospect"].pk).exists()
    assert list(DeskVisit.objects.values_list("visitor_name", "visitor_phone", "reason")) == [
        ("(erased)", "", "new_loan")
    ]


def test_within_retention_nothing_is_touched(history):
    # when
    result = privacy.retention_apply(now=timezone.now())

    # then
    assert result == {
        "borrowers_anonymised": 0,
        "leads_erased": 0,
        "desk_visits_anonymised": 0,
        "audit_events_deleted": 0,
        "access_events_deleted": 0,
    }


def test_the_command_reports_exact_counts_and_dry_run_first(history, settings):
    # given
    settings.RETENTION_ACCESS_LOG_MONTHS = 0  # every read event is past retention
    dry, real, again = io.StringIO(), io.StringIO(), io.StringIO()

    # when
    call_command("apply_retention", "--dry-run", stdout=dry)
    call_command("apply_retention", stdout=real)
    call_command("apply_retention", stdout=again)

    # then
    assert dry.getvalue().splitlines() == [
        "borrowers_anonymised: would be 0",
        "leads_erased: would be 0",
        "desk_visits_anonymised: would be 0",
        "audit_events_deleted: would be 0",
        "access_events_deleted: would be 2",
    ]
    assert real.getvalue().splitlines()[-1] == "access_events_deleted: 2"
    assert again.getvalue().splitlines()[-1] == "access_events_deleted: 0"
    assert AuditEvent.objects.filter(action__in=privacy.ACCESS_ACTIONS).count() == 0


def test_a_database_refusing_the_audit_purge_still_gets_the_rest_done(
    history, purge_forbidden, settings
):
    # given
    settings.RETENTION_ACCESS_LOG_MONTHS = 0
    settings.RETENTION_LEADS_MONTHS = 0

    # when
    result = privacy.retention_apply()

    # then
    assert result == {
        "borrowers_anonymised": 0,
        "leads_erased": 1,
        "desk_visits_anonymised": 0,
        "audit_events_deleted": 0,
        "access_events_deleted": 0,
        "refused": ["access_events_deleted"],
    }
    assert AuditEvent.objects.filter(action__in=privacy.ACCESS_ACTIONS).count() == 2


def test_the_celery_task_applies_retention(history, settings):
    # given
    settings.RETENTION_ACCESS_LOG_MONTHS = 0

    # when
    result = apply_retention.apply().get()

    # then
    assert result["access_events_deleted"] == 2
