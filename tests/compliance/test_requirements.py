"""Requirements of offers: the threshold's meaning per kind and its validation, the screens
(compliance readers list, compliance managers add, edit and deactivate) and their audit trail."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from audit.models import AuditEvent
from compliance.cases import requirement_create, requirement_deactivate, requirement_update
from compliance.choices import RequirementKind, Severity
from compliance.models import OfferRequirement
from tests.compliance.factories import make_requirement
from tests.loans.factories import make_offer

LIST_URL = "/compliance/requirements/"


@pytest.fixture
def offer(db):
    return make_offer(name="Microcredit")


def _create(actor, offer, kind, threshold=None, **fields):
    return requirement_create(
        actor=actor, offer=offer, kind=kind, severity=Severity.HIGH, threshold=threshold, **fields
    )


def _audit_actions() -> list[str]:
    return list(
        AuditEvent.objects.filter(action__startswith="compliance_requirement.")
        .order_by("pk")
        .values_list("action", flat=True)
    )


# --- the services --------------------------------------------------------------------------------


def test_bank_arrears_allow_thirty_days_unless_told(offer, compliance_officer):
    # when
    default = _create(compliance_officer, offer, RequirementKind.NO_BANK_ARREARS)
    # then
    assert (default.threshold, default.check_every_days) == (Decimal("30"), 30)
    assert _audit_actions() == ["compliance_requirement.created"]


@pytest.mark.parametrize(
    ("kind", "threshold", "message"),
    [
        (
            RequirementKind.NO_BANK_ARREARS,
            "2.5",
            "Give the most days past due allowed, a whole number of 0 or more.",
        ),
        (
            RequirementKind.NO_BANK_ARREARS,
            "-1",
            "Give the most days past due allowed, a whole number of 0 or more.",
        ),
        (RequirementKind.JOBS_KEPT, None, "Give the minimum number of employees to keep."),
        (
            RequirementKind.JOBS_KEPT,
            "0",
            "Give the minimum number of employees, a whole number of 1 or more.",
        ),
        (RequirementKind.TAX_REGULAR, "5", "This requirement takes no threshold."),
        (RequirementKind.REPORT_SUBMITTED, "1", "This requirement takes no threshold."),
    ],
)
def test_a_threshold_that_does_not_fit_the_kind_is_refused(
    offer, compliance_officer, kind, threshold, message
):
    # when
    with pytest.raises(ValidationError) as refused:
        _create(compliance_officer, offer, kind, threshold)
    # then
    assert refused.value.message_dict == {"threshold": [message]}
    assert OfferRequirement.objects.count() == 0


def test_check_every_zero_days_is_refused(offer, compliance_officer):
    # when
    with pytest.raises(ValidationError) as refused:
        _create(compliance_officer, offer, RequirementKind.TAX_REGULAR, check_every_days=0)
    # then
    assert refused.value.message_dict == {"check_every_days": ["Check every 1 to 3660 days."]}


def test_one_requirement_per_kind_and_offer(offer, compliance_officer):
    # given
    _create(compliance_officer, offer, RequirementKind.TAX_REGULAR)
    # when
    with pytest.raises(ValidationError) as refused:
        _create(compliance_officer, offer, RequirementKind.TAX_REGULAR)
    # then
    assert refused.value.message_dict == {
        "kind": ["This offer already has this requirement: edit it instead."]
    }


def test_update_and_deactivate_are_audited(offer, compliance_officer):
    # given
    requirement = _create(compliance_officer, offer, RequirementKind.JOBS_KEPT, "5")
    # when
    requirement_update(
        actor=compliance_officer,
        requirement=requirement,
        severity=Severity.CRITICAL,
        check_every_days=90,
        threshold="8",
    )
    requirement_deactivate(actor=compliance_officer, requirement=requirement)
    # then
    requirement.refresh_from_db()
    assert (
        requirement.severity,
        requirement.check_every_days,
        requirement.threshold,
        requirement.is_active,
    ) == (Severity.CRITICAL, 90, Decimal("8"), False)
    event = AuditEvent.objects.get(action="compliance_requirement.updated")
    assert (event.before["threshold"], event.after["threshold"]) == ("5.0000", "8")
    assert _audit_actions() == [
        "compliance_requirement.created",
        "compliance_requirement.updated",
        "compliance_requirement.deactivated",
    ]


@pytest.mark.parametrize("persona", ["loan_officer", "auditor"])
def test_only_compliance_managers_change_requirements(offer, persona, request):
    # given
    actor = request.getfixturevalue(persona)
    requirement = make_requirement(offer, RequirementKind.TAX_REGULAR)
    # when / then
    with pytest.raises(PermissionDenied):
        _create(actor, offer, RequirementKind.SOCIAL_SECURITY_PAID)
    with pytest.raises(PermissionDenied):
        requirement_deactivate(actor=actor, requirement=requirement)
    requirement.refresh_from_db()
    assert (OfferRequirement.objects.count(), requirement.is_active, _audit_actions()) == (
        1,
        True,
        [],
    )


# --- the screens ---------------------------------------------------------------------------------


def test_the_list_shows_each_offer_with_its_requirements(client, offer, loan_officer):
    # given
    make_requirement(offer, RequirementKind.NO_BANK_ARREARS, threshold="30")
    make_requirement(offer, RequirementKind.JOBS_KEPT, threshold="4")
    client.force_login(loan_officer)
    # when
    response = client.get(LIST_URL)
    # then
    html = response.content.decode()
    assert response.status_code == 200
    assert offer.name in html
    assert "at most 30 days past due" in html
    assert "at least 4 employees" in html
    assert 'data-testid="add-requirement"' not in html


def test_a_compliance_officer_adds_edits_and_deactivates(client, offer, compliance_officer):
    # given
    client.force_login(compliance_officer)
    # when
    form = client.get(f"/compliance/requirements/offers/{offer.pk}/new/")
    added = client.post(
        f"/compliance/requirements/offers/{offer.pk}/new/",
        {"kind": "jobs_kept", "severity": "medium", "check_every_days": "60", "threshold": "3"},
    )
    requirement = OfferRequirement.objects.get()
    edited = client.post(
        f"/compliance/requirements/{requirement.pk}/edit/",
        {"severity": "high", "check_every_days": "30", "threshold": "4", "is_active": "on"},
    )
    deactivated = client.post(f"/compliance/requirements/{requirement.pk}/deactivate/")
    # then
    requirement.refresh_from_db()
    assert form.status_code == 200
    assert [added.status_code, edited.status_code, deactivated.status_code] == [302, 302, 302]
    assert (requirement.severity, requirement.threshold, requirement.is_active) == (
        Severity.HIGH,
        Decimal("4"),
        False,
    )


def test_a_bad_threshold_stays_on_the_form(client, offer, compliance_officer):
    # given
    client.force_login(compliance_officer)
    # when
    response = client.post(
        f"/compliance/requirements/offers/{offer.pk}/new/",
        {"kind": "tax_regular", "severity": "high", "check_every_days": "30", "threshold": "2"},
    )
    # then
    assert response.status_code == 200
    assert response.context["form"].errors == {
        "threshold": ["This requirement takes no threshold."]
    }
    assert OfferRequirement.objects.count() == 0


@pytest.mark.parametrize("persona", ["loan_officer", "auditor", "field_agent"])
def test_screens_that_change_requirements_are_forbidden_without_the_capability(
    client, offer, persona, request
):
    # given
    requirement = make_requirement(offer, RequirementKind.TAX_REGULAR)
    client.force_login(request.getfixturevalue(persona))
    # when
    responses = [
        client.get(f"/compliance/requirements/offers/{offer.pk}/new/"),
        client.post(
            f"/compliance/requirements/{requirement.pk}/edit/",
            {"severity": "low", "check_every_days": "5"},
        ),
        client.post(f"/compliance/requirements/{requirement.pk}/deactivate/"),
    ]
    # then
    requirement.refresh_from_db()
    assert [response.status_code for response in responses] == [403, 403, 403]
    assert (requirement.severity, requirement.is_active) == (Severity.HIGH, True)
