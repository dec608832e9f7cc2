"""Roles and what each may do.

One role per staff user. The capability map is the single place that says which role may use which
part of the platform; menus, views and API permissions all read it, so they cannot disagree.
"""

from __future__ import annotations

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    LOAN_OFFICER = "loan_officer", _("Loan officer")
    BRANCH_MANAGER = "branch_manager", _("Branch manager")
    CREDIT_COMMITTEE = "credit_committee", _("Credit committee member")
    ACCOUNTANT = "accountant", _("Accountant")
    COACH = "coach", _("Coach")
    FIELD_AGENT = "field_agent", _("Field agent")
    SERVICE_DESK = "service_desk", _("Service-desk agent")
    COMPLIANCE_OFFICER = "compliance_officer", _("Compliance officer")
    MANAGER = "manager", _("Manager (head office)")
    AUDITOR = "auditor", _("Auditor")
    ADMINISTRATOR = "administrator", _("Administrator")


class Capability(models.TextChoices):
    PARTY_VIEW = "party.view", _("See parties")
    PARTY_EDIT = "party.edit", _("Create and edit parties, links and consents")
    AUDIT_SEARCH = "audit.search", _("Search the whole audit trail")
    USER_ADMIN = "user.admin", _("Manage users and branches")
    API_DOCS = "api.docs", _("Read the API documentation")
    LEDGER_VIEW = "ledger.view", _("Read the ledger and financial statements")
    LEDGER_DRAFT = "ledger.draft", _("Draft manual journal entries")
    LEDGER_APPROVE = "ledger.approve", _("Approve, reject and reverse journal entries")
    LEDGER_CLOSE = "ledger.close", _("Close accounting periods and years")
    LEDGER_REOPEN = "ledger.reopen", _("Reopen a closed accounting period")
    LOAN_VIEW = "loan.view", _("See loans")
    LOAN_APPLY = "loan.apply", _("Submit loan applications")
    LOAN_APPROVE = "loan.approve", _("Approve or reject loan applications")
    LOAN_DISBURSE = "loan.disburse", _("Disburse loans")
    LOAN_REPAY = "loan.repay", _("Record repayments")
    LOAN_WRITE_OFF = "loan.write_off", _("Write off loans and reverse transactions")
    LOAN_PRODUCT_ADMIN = "loan.product_admin", _("Manage offers and loan product terms")
    COACHING_VIEW = "coaching.view", _("See coaching engagements, coaches and products")
    COACHING_MANAGE = "coaching.manage", _("Manage coaching products, coaches and engagements")
    COACHING_SESSION_LOG = "coaching.session_log", _("Log coaching sessions")
    LEARNING_VIEW = "learning.view", _("See courses and learners' progress")
    LEARNING_MANAGE = "learning.manage", _("Manage courses, enrol learners, record progress")
    COMPLIANCE_VIEW = "compliance.view", _("See compliance worklist, cases, sources and dashboards")
    COMPLIANCE_MANAGE = (
        "compliance.manage",
        _("Work compliance cases, requirements, sources, file uploads and reconciliation"),
    )
    COMPLIANCE_FOLLOW_UP = "compliance.follow_up", _("Log field calls and visits on cases")
    DESK = "desk.operate", _("Check in and serve walk-ins at the service desk")
    P2P_VIEW = "p2p.view", _("See P2P publications and their dashboard")
    P2P_MANAGE = "p2p.manage", _("Select, edit, approve, push and withdraw P2P profiles")
    P2P_RECONCILE = "p2p.reconcile", _("Record P2P funding and repayments to platforms")
    PRIVACY_ERASURE_APPROVE = "privacy.erasure_approve", _("Approve or reject erasure requests")


_ALL_STAFF = frozenset(Role)
_EDITORS = frozenset(
    {
        Role.LOAN_OFFICER,
        Role.BRANCH_MANAGER,
        Role.FIELD_AGENT,
        Role.SERVICE_DESK,
        Role.COACH,
        Role.MANAGER,
        Role.ADMINISTRATOR,
    }
)

CAPABILITIES: dict[Capability, frozenset[Role]] = {
    Capability.PARTY_VIEW: _ALL_STAFF,
    Capability.PARTY_EDIT: _EDITORS,
    Capability.AUDIT_SEARCH: frozenset({Role.AUDITOR, Role.MANAGER, Role.ADMINISTRATOR}),
    Capability.USER_ADMIN: frozenset({Role.ADMINISTRATOR}),
    Capability.API_DOCS: _ALL_STAFF,
    Capability.LEDGER_VIEW: frozenset(
        {Role.ACCOUNTANT, Role.MANAGER, Role.AUDITOR, Role.ADMINISTRATOR, Role.BRANCH_MANAGER}
    ),
    Capability.LEDGER_DRAFT: frozenset({Role.ACCOUNTANT}),
    Capability.LEDGER_APPROVE: frozenset({Role.ACCOUNTANT, Role.MANAGER}),
    Capability.LEDGER_CLOSE: frozenset({Role.ACCOUNTANT, Role.MANAGER}),
    Capability.LEDGER_REOPEN: frozenset({Role.ADMINISTRATOR}),
    Capability.LOAN_VIEW: _ALL_STAFF - {Role.COACH, Role.SERVICE_DESK},
    Capability.LOAN_APPLY: frozenset({Role.LOAN_OFFICER, Role.BRANCH_MANAGER}),
    Capability.LOAN_APPROVE: frozenset({Role.BRANCH_MANAGER, Role.CREDIT_COMMITTEE, Role.MANAGER}),
    Capability.LOAN_DISBURSE: frozenset({Role.LOAN_OFFICER, Role.BRANCH_MANAGER}),
    Capability.LOAN_REPAY: frozenset({Role.LOAN_OFFICER, Role.BRANCH_MANAGER, Role.FIELD_AGENT}),
    Capability.LOAN_WRITE_OFF: frozenset({Role.BRANCH_MANAGER, Role.MANAGER}),
    Capability.LOAN_PRODUCT_ADMIN: frozenset({Role.MANAGER, Role.ADMINISTRATOR}),
    Capability.COACHING_VIEW: frozenset(
        {
            Role.COACH,
            Role.MANAGER,
            Role.BRANCH_MANAGER,
            Role.ADMINISTRATOR,
            Role.AUDITOR,
            Role.LOAN_OFFICER,
        }
    ),
    Capability.COACHING_MANAGE: frozenset({Role.MANAGER, Role.BRANCH_MANAGER, Role.ADMINISTRATOR}),
    Capability.COACHING_SESSION_LOG: frozenset(
        {Role.COACH, Role.MANAGER, Role.BRANCH_MANAGER, Role.ADMINISTRATOR}
    ),
    Capability.LEARNING_VIEW: _ALL_STAFF,
    Capability.LEARNING_MANAGE: frozenset(
        {Role.COACH, Role.LOAN_OFFICER, Role.MANAGER, Role.BRANCH_MANAGER, Role.ADMINISTRATOR}
    ),
    Capability.COMPLIANCE_VIEW: frozenset(
        {
            Role.COMPLIANCE_OFFICER,
            Role.MANAGER,
            Role.BRANCH_MANAGER,
            Role.LOAN_OFFICER,
            Role.AUDITOR,
            Role.ADMINISTRATOR,
        }
    ),
    Capability.COMPLIANCE_MANAGE: frozenset(
        {Role.COMPLIANCE_OFFICER, Role.MANAGER, Role.BRANCH_MANAGER, Role.ADMINISTRATOR}
    ),
    Capability.COMPLIANCE_FOLLOW_UP: frozenset(
        {Role.FIELD_AGENT, Role.LOAN_OFFICER, Role.COMPLIANCE_OFFICER, Role.BRANCH_MANAGER}
    ),
    Capability.DESK: frozenset(
        {Role.SERVICE_DESK, Role.BRANCH_MANAGER, Role.MANAGER, Role.ADMINISTRATOR}
    ),
    Capability.P2P_VIEW: frozenset(
        {
            Role.MANAGER,
            Role.BRANCH_MANAGER,
            Role.ACCOUNTANT,
            Role.AUDITOR,
            Role.ADMINISTRATOR,
        }
    ),
    Capability.P2P_MANAGE: frozenset({Role.MANAGER, Role.ADMINISTRATOR}),
    Capability.P2P_RECONCILE: frozenset({Role.ACCOUNTANT, Role.MANAGER}),
    Capability.PRIVACY_ERASURE_APPROVE: frozenset({Role.MANAGER, Role.ADMINISTRATOR}),
}

# Roles whose scope is every branch, whatever branch their account sits in.
ALL_BRANCH_ROLES = frozenset({Role.MANAGER, Role.AUDITOR, Role.ADMINISTRATOR})
# Roles that see only what is assigned to them (their day list, their coachees).
ASSIGNED_ONLY_ROLES = frozenset({Role.FIELD_AGENT, Role.COACH})
# Roles that may read but never change anything.
READ_ONLY_ROLES = frozenset({Role.AUDITOR})


def role_has(role: str | None, capability: Capability) -> bool:
    return role is not None and role in CAPABILITIES[capability]
