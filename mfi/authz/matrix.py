"""The authorization matrix: every URL pattern × every role × own branch / other branch.

One entry per URL pattern name says which capability of ``users.roles.CAPABILITIES`` a request
needs (reads and writes separately) and whether the URL points at an object of a branch. The
expansion turns an entry into its cells:

- anonymous: the login page (HTML) or 403 (API), unless the route is public;
- a role without the capability: 403 (before any object is looked up, so the same in both columns);
- a branch object outside the role's scope: 404 (out-of-scope objects look missing);
- otherwise: allowed (2xx or 3xx, or a 4xx that is not 403/404 for a write with an empty body);
- "refused" where a view lets a role in and its service turns the role away with a message:
  the page answers, and the test checks that nothing changed.

"Own" is the object of Praia, "other" the object of Mindelo. The personas of the branch roles sit
in Praia; the accountant, compliance officer, manager, auditor and administrator sit at head office
and see every branch. Field agents and coaches see what is assigned to them: the Praia objects of
the test world are assigned to them (the Praia client is the field agent's, and the coach coaches
her), the Mindelo ones are not.

An entry's ``overrides`` name the cells where a view deliberately differs from that rule, each
with the reason in ``note``. ``tests/security/test_authz_matrix.py`` checks every cell against the
running views; ``manage.py authz_matrix`` renders the table to ``docs/authorization.md``.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field

from users.roles import ALL_BRANCH_ROLES, ASSIGNED_ONLY_ROLES, CAPABILITIES, Capability, Role

C = Capability


class Outcome(enum.StrEnum):
    ALLOWED = "ok"
    FORBIDDEN = "403"
    NOT_FOUND = "404"
    LOGIN = "login"
    # The view answers (2xx/3xx/400) but its service refuses the role: nothing may change.
    REFUSED = "refused"
    # A public probe answers everyone with its own status: 200, or 503 while a dependency
    # (database, broker, worker) is down. Nothing to authorise, nothing to reveal.
    ANSWERED = "answered"


class Column(enum.StrEnum):
    OWN = "own"
    OTHER = "other"


ANONYMOUS = "anonymous"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

# Where each persona of the matrix world works (mirrors tests/conftest.py).
HEAD_OFFICE_ROLES = frozenset(
    {Role.ACCOUNTANT, Role.COMPLIANCE_OFFICER, Role.MANAGER, Role.AUDITOR, Role.ADMINISTRATOR}
)

# Kinds of objects that belong to a branch (Praia's and Mindelo's exist in the test world);
# every other kind is shared by the whole institution (one object).
BRANCH_KINDS = frozenset(
    {
        "branch",
        "party",
        "erasure_request",
        "person",
        "enterprise",
        "link",
        "consent",
        "interaction",
        "task",
        "lead",
        "entry",
        "loan",
        "loan_txn",
        "loan_document",
        "engagement",
        "goal",
        "milestone",
        "session",
        "invoice",
        "certificate",
        "case",
        "check",
        "follow_up",
        "desk_visit",
        "registry_record",
        "publication",
        "waiver",
        "photo",
        "borrower",
        "journal",
    }
)


def sees_all_branches(role: Role) -> bool:
    return role in ALL_BRANCH_ROLES or (
        role in HEAD_OFFICE_ROLES and role not in ASSIGNED_ONLY_ROLES
    )


OverrideKey = Role | tuple[Role, Column] | tuple[Role, Column, str] | tuple[Role, str]


@dataclass(frozen=True)
class Route:
    """What one URL pattern (by its name) expects.

    ``read``: capability for GET (None: any signed-in user); ``write``: for the other methods
    (defaults to ``read``). ``obj``: the kind of object the URL names (None: no object);
    ``kwargs``: URL keyword → world reference (``kind`` for its pk, ``kind.attr`` for an
    attribute, ``=text`` for a literal); by default ``{"pk": obj}``. ``query`` and ``body``: the
    query string and form fields a request needs to reach the permission check, as references.
    ``url``: a fixed path, for a name that several patterns share (the API root).
    """

    name: str
    read: Capability | None
    methods: tuple[str, ...] = ("GET",)
    write: Capability | None = None
    obj: str | None = None
    kwargs: Mapping[str, str] | None = None
    query: Mapping[str, str] = field(default_factory=dict)
    body: Mapping[str, str] = field(default_factory=dict)
    url: str = ""
    public: bool = False
    public_outcome: Outcome = Outcome.ALLOWED
    api: bool = False
    overrides: Mapping[OverrideKey, Outcome] = field(default_factory=dict)
    note: str = ""

    @property
    def write_capability(self) -> Capability | None:
        return self.write if self.write is not None else self.read

    @property
    def url_kwargs(self) -> Mapping[str, str]:
        if self.kwargs is not None:
            return self.kwargs
        return {"pk": self.obj} if self.obj else {}

    @property
    def is_branch_scoped(self) -> bool:
        return self.obj in BRANCH_KINDS

    def capability_for(self, method: str) -> Capability | None:
        return self.read if method in SAFE_METHODS else self.write_capability

    def expected(self, role: Role | str, column: Column, method: str) -> Outcome:
        if role == ANONYMOUS:
            if self.public:
                return self.public_outcome
            return Outcome.FORBIDDEN if self.api else Outcome.LOGIN
        role = Role(role)
        for key in ((role, column, method), (role, column), (role, method), role):
            if key in self.overrides:
                return self.overrides[key]
        if self.public:
            return self.public_outcome
        capability = self.capability_for(method)
        if capability is not None and role not in CAPABILITIES[capability]:
            return Outcome.FORBIDDEN
        if self.is_branch_scoped and column is Column.OTHER and not sees_all_branches(role):
            return Outcome.NOT_FOUND
        return Outcome.ALLOWED

    def cells(self) -> Iterator[tuple[Role | str, Column, str, Outcome]]:
        """Every (role, column, method, outcome); one column when the URL names no branch object."""
        columns = (Column.OWN, Column.OTHER) if self.is_branch_scoped else (Column.OWN,)
        for role in (ANONYMOUS, *Role):
            for column in columns:
                for method in self.methods:
                    yield role, column, method, self.expected(role, column, method)


def _only(*roles: Role) -> dict[OverrideKey, Outcome]:
    """Overrides for a view that admits exactly ``roles`` (a rule that is not a capability)."""
    return {role: Outcome.FORBIDDEN for role in Role if role not in roles}


def _also(capability: Capability) -> dict[OverrideKey, Outcome]:
    """Overrides admitting the roles of a second capability as well."""
    return dict.fromkeys(CAPABILITIES[capability], Outcome.ALLOWED)


def _visible(capability: Capability) -> dict[OverrideKey, Outcome]:
    """The usual scope outcome for the roles of ``capability`` (to restore it after a blanket
    override): own allowed, other 404 unless the role sees every branch."""
    cells: dict[OverrideKey, Outcome] = {}
    for role in CAPABILITIES[capability]:
        cells[(role, Column.OWN)] = Outcome.ALLOWED
        cells[(role, Column.OTHER)] = (
            Outcome.ALLOWED if sees_all_branches(role) else Outcome.NOT_FOUND
        )
    return cells


def _refused_unless(capability: Capability, admitted: Capability) -> dict[OverrideKey, Outcome]:
    """A view that admits ``admitted`` and leaves the rest to a service that needs ``capability``:
    the other admitted roles are refused (in scope) or get 404 (out of scope)."""
    cells: dict[OverrideKey, Outcome] = {}
    for role in CAPABILITIES[admitted] - CAPABILITIES[capability]:
        cells[(role, Column.OWN)] = Outcome.REFUSED
        cells[(role, Column.OTHER)] = (
            Outcome.REFUSED if sees_all_branches(role) else Outcome.NOT_FOUND
        )
    return cells


def _not_assigned(*roles: Role) -> dict[OverrideKey, Outcome]:
    """The Praia object is not assigned to these assigned-only roles, so they do not see it."""
    return {(role, Column.OWN): Outcome.NOT_FOUND for role in roles}


GET = ("GET",)
POST = ("POST",)
FORM = ("GET", "POST")
API_LIST = ("GET", "POST")
API_DETAIL_RW = ("GET", "PUT", "PATCH")


def _r(name, read, methods=GET, **options) -> Route:
    return Route(name, read, methods, **options)


def _each(names, read, methods=GET, **options) -> list[Route]:
    """Several URL names that expect exactly the same (actions on one kind of object)."""
    return [Route(name, read, methods, **options) for name in names]


def _api(name, read, methods=GET, **options) -> Route:
    return Route(name, read, methods, api=True, **options)


def _public(name, methods=GET, **options) -> Route:
    return Route(name, None, methods, public=True, **options)


SHELL = [
    _r("home", None),
    _r("search", None),
    _public(
        "healthz",
        public_outcome=Outcome.ANSWERED,
        note="Health check for the load balancer: no login, no data; 200 or 503.",
    ),
    _r("system_status", C.USER_ADMIN, FORM),
    _public("login", FORM),
    _public(
        "logout",
        POST,
        public_outcome=Outcome.LOGIN,
        note="Signs out whoever calls it, then shows the login page.",
    ),
    _r("two_factor_setup", None, FORM, note="Enrol an authenticator (verified users move on)."),
    _r("two_factor_verify", None, FORM, note="Type the code of the session's second factor."),
    _r("password_change", None, FORM),
    _r("password_change_done", None),
    _public("password_reset", FORM),
    _public("password_reset_done"),
    _public("password_reset_confirm", kwargs={"uidb64": "=MQ", "token": "=set-password"}),
    _public("password_reset_complete"),
    _public("tasks", note="Redirect to the task list, which asks for the login."),
    _public("set_language", POST),
    _r("audit:search", C.AUDIT_SEARCH),
]

_TASK_NOTE = "Coaches see the tasks assigned to them; the Praia task is the field agent's."
# Who reviews personal-data erasure requests (crm.privacy.ERASURE_APPROVER_ROLES).
ERASURE_APPROVERS = (Role.MANAGER, Role.ADMINISTRATOR)

CRM = [
    _r("crm:party_list", C.PARTY_VIEW),
    _r("crm:party_create", C.PARTY_EDIT, FORM, kwargs={"kind": "=person"}),
    _r("crm:party_detail", C.PARTY_VIEW, obj="party"),
    _r("crm:party_history", C.PARTY_VIEW, obj="party"),
    _r("crm:party_edit", C.PARTY_EDIT, FORM, obj="party"),
    _r("crm:party_link_add", C.PARTY_EDIT, POST, obj="party"),
    _r(
        "crm:party_link_delete",
        C.PARTY_EDIT,
        POST,
        obj="link",
        kwargs={"pk": "link.from_party_id", "link_id": "link"},
    ),
    _r("crm:consent_add", C.PARTY_EDIT, FORM, obj="party"),
    _r(
        "crm:consent_withdraw",
        C.PARTY_EDIT,
        POST,
        obj="consent",
        kwargs={"pk": "consent.party_id", "consent_id": "consent"},
    ),
    _r(
        "crm:consent_evidence",
        C.PARTY_VIEW,
        obj="consent",
        kwargs={"pk": "consent.party_id", "consent_id": "consent"},
    ),
    _r("crm:party_timeline", C.PARTY_VIEW, obj="party"),
    _r("crm:interaction_add", C.PARTY_EDIT, POST, obj="party"),
    _r("crm:task_list", C.PARTY_VIEW),
    _r("crm:task_card", C.PARTY_VIEW),
    *_each(
        ("crm:task_complete", "crm:task_cancel", "crm:task_reassign"),
        C.PARTY_EDIT,
        POST,
        obj="task",
        kwargs={"task_id": "task"},
        overrides=_not_assigned(Role.COACH),
        note=_TASK_NOTE,
    ),
    _r("crm:lead_pipeline", C.PARTY_EDIT),
    _r("crm:lead_create", C.PARTY_EDIT, FORM, obj="party", kwargs={"party_id": "party"}),
    _r(
        "crm:lead_move",
        C.PARTY_EDIT,
        POST,
        obj="lead",
        kwargs={"lead_id": "lead"},
        overrides=_not_assigned(Role.COACH, Role.FIELD_AGENT),
        note="Field agents and coaches see the leads they own; the Praia lead is the officer's.",
    ),
    _r("crm:segment_list", C.PARTY_VIEW),
    _r(
        "crm:segment_open",
        C.PARTY_VIEW,
        obj="segment",
        kwargs={"segment_id": "segment"},
        note="A shared segment: it re-runs its filter on the viewer's own scope.",
    ),
    _r("crm:duplicate_review", C.PARTY_EDIT),
    _r("crm:party_merge", C.PARTY_EDIT, POST),
    _r("crm:party_privacy", C.PARTY_VIEW, obj="party"),
    _r("crm:party_export_json", C.PARTY_EDIT, obj="party"),
    _r("crm:party_export_pdf", C.PARTY_EDIT, obj="party"),
    _r("crm:erasure_request_add", C.PARTY_EDIT, POST, obj="party"),
    _r(
        "crm:erasure_request_list",
        None,
        overrides=_only(*ERASURE_APPROVERS),
        note="Erasure requests are reviewed by the manager and the administrator.",
    ),
    *_each(
        ("crm:erasure_request_approve", "crm:erasure_request_reject"),
        None,
        POST,
        obj="erasure_request",
        kwargs={"request_id": "erasure_request"},
        overrides=_only(*ERASURE_APPROVERS),
    ),
]

ACCOUNTING = [
    _r("accounting:overview", C.LEDGER_VIEW),
    _r("accounting:chart", C.LEDGER_VIEW),
    _r("accounting:entry_list", C.LEDGER_VIEW),
    _r("accounting:entry_create", C.LEDGER_DRAFT, FORM),
    _r("accounting:entry_detail", C.LEDGER_VIEW, obj="entry"),
    _r("accounting:entry_approve", C.LEDGER_APPROVE, POST, obj="entry"),
    _r("accounting:entry_reject", C.LEDGER_APPROVE, POST, obj="entry"),
    _r("accounting:entry_reverse", C.LEDGER_APPROVE, POST, obj="entry"),
    _r("accounting:periods", C.LEDGER_VIEW),
    _r("accounting:report", C.LEDGER_VIEW, kwargs={"name": "=trial-balance"}),
]

_LOAN_TXN = {"pk": "loan_txn.loan_id", "transaction_id": "loan_txn"}

LOANS = [
    _r("loans:portfolio", C.LOAN_VIEW),
    _r("loans:portfolio_report_pdf", C.LOAN_VIEW),
    _r("loans:par_dashboard", C.LOAN_VIEW),
    _r("loans:loan_create", C.LOAN_APPLY, FORM),
    _r("loans:preview", C.LOAN_APPLY, POST),
    _r("loans:approvals", C.LOAN_APPROVE),
    _r("loans:catalogue", C.LOAN_VIEW),
    _r(
        "loans:product_version_create",
        C.LOAN_PRODUCT_ADMIN,
        FORM,
        obj="loan_product",
        kwargs={"product_id": "loan_product"},
    ),
    _r("loans:loan_detail", C.LOAN_VIEW, obj="loan"),
    _r("loans:loan_transactions", C.LOAN_VIEW, obj="loan"),
    _r("loans:loan_history", C.LOAN_VIEW, obj="loan"),
    _r("loans:loan_approve", C.LOAN_APPROVE, POST, obj="loan"),
    _r("loans:loan_reject", C.LOAN_APPROVE, POST, obj="loan"),
    _r("loans:loan_undo_approval", C.LOAN_APPROVE, POST, obj="loan"),
    _r("loans:loan_withdraw", C.LOAN_APPLY, POST, obj="loan"),
    _r("loans:loan_disburse", C.LOAN_DISBURSE, FORM, obj="loan"),
    _r("loans:repayment_create", C.LOAN_REPAY, FORM, obj="loan"),
    _r("loans:loan_write_off", C.LOAN_WRITE_OFF, FORM, obj="loan"),
    _r("loans:repayment_reverse", C.LOAN_WRITE_OFF, POST, obj="loan_txn", kwargs=_LOAN_TXN),
    _r("loans:receipt_pdf", C.LOAN_VIEW, obj="loan_txn", kwargs=_LOAN_TXN),
    _r("loans:contract_pdf", C.LOAN_VIEW, obj="loan"),
    _r("loans:statement_pdf", C.LOAN_VIEW, obj="loan"),
    _r("loans:document_add", C.LOAN_APPLY, POST, obj="loan"),
    _r("loans:guarantor_add", C.LOAN_APPLY, POST, obj="loan"),
    _r("loans:collateral_add", C.LOAN_APPLY, POST, obj="loan"),
    _r(
        "loans:document_download",
        C.LOAN_VIEW,
        obj="loan_document",
        kwargs={"pk": "loan_document.loan_id", "document_id": "loan_document"},
    ),
]

_GOAL = {"pk": "goal.engagement_id", "goal_id": "goal"}
_MILESTONE = {"pk": "milestone.engagement_id", "milestone_id": "milestone"}
_SESSION = {"pk": "session.engagement_id", "session_id": "session"}


def _move_of(kind: str) -> dict:
    return {
        "obj": kind,
        "overrides": _refused_unless(C.COACHING_SESSION_LOG, C.COACHING_VIEW),
        "note": "Coaching readers reach the engagement; the service lets only its coach or a "
        "coaching manager act (others see the refusal, nothing changes).",
    }


_MOVE = _move_of("engagement")

COACHING = [
    _r("coaching:dashboard", C.COACHING_VIEW),
    _r("coaching:product_list", C.COACHING_VIEW),
    _r("coaching:product_create", C.COACHING_MANAGE, FORM),
    _r("coaching:product_edit", C.COACHING_MANAGE, FORM, obj="coaching_product"),
    _r("coaching:coach_list", C.COACHING_VIEW),
    _r("coaching:coach_create", C.COACHING_MANAGE, FORM),
    _r("coaching:coach_edit", C.COACHING_MANAGE, FORM, obj="coach"),
    _r("coaching:engagement_request", C.COACHING_MANAGE, FORM),
    _r("coaching:engagement_detail", C.COACHING_VIEW, obj="engagement"),
    _r("coaching:engagement_transition", C.COACHING_SESSION_LOG, POST, **_MOVE),
    _r("coaching:goal_add", C.COACHING_SESSION_LOG, POST, **_MOVE),
    _r("coaching:goal_achieved", C.COACHING_SESSION_LOG, POST, kwargs=_GOAL, **_move_of("goal")),
    _r("coaching:milestone_add", C.COACHING_SESSION_LOG, POST, **_MOVE),
    _r(
        "coaching:milestone_reached",
        C.COACHING_SESSION_LOG,
        POST,
        kwargs=_MILESTONE,
        **_move_of("milestone"),
    ),
    _r("coaching:feedback_add", C.COACHING_MANAGE, POST, obj="engagement"),
    _r("coaching:session_create", C.COACHING_SESSION_LOG, FORM, obj="engagement"),
    _r("coaching:session_outcome", C.COACHING_SESSION_LOG, POST, obj="session", kwargs=_SESSION),
    _r("coaching:session_confirm_staff", C.COACHING_MANAGE, POST, obj="session", kwargs=_SESSION),
    _r("coaching:client_report", C.COACHING_VIEW, obj="party", kwargs={"party_id": "party"}),
    _r("coaching:invoice_list", C.COACHING_MANAGE),
    _r("coaching:invoice_detail", C.COACHING_MANAGE, obj="invoice"),
    _r("coaching:invoice_pdf", C.COACHING_MANAGE, obj="invoice"),
    _r("coaching:invoice_payment", C.COACHING_MANAGE, POST, obj="invoice"),
    _r("coaching:invoice_cancel", C.COACHING_MANAGE, POST, obj="invoice"),
    _r("coaching:invoice_issue", C.COACHING_MANAGE, POST, obj="engagement"),
    _r("coaching:referral_rules", C.COACHING_MANAGE, FORM),
    _r("coaching:volunteer_hours", C.COACHING_MANAGE),
    _r("coaching:report", C.COACHING_MANAGE, kwargs={"name": "=activity"}),
    _public(
        "coaching:session_confirm_public",
        FORM,
        obj="session_token",
        kwargs={"token": "session_token.confirmation_token"},
        note="The client confirms a session from the link sent to them; the token is the key.",
    ),
]

_LESSON = {"pk": "lesson.course_id", "lesson_id": "lesson"}

ELEARNING = [
    _r("elearning:course_list", C.LEARNING_VIEW),
    _r("elearning:course_create", C.LEARNING_MANAGE, FORM),
    _r("elearning:course_detail", C.LEARNING_VIEW, obj="course"),
    _r("elearning:lesson_create", C.LEARNING_MANAGE, FORM, obj="course"),
    _r("elearning:enrolment_create", C.LEARNING_MANAGE, FORM, obj="course"),
    _r("elearning:lesson_detail", C.LEARNING_VIEW, obj="lesson", kwargs=_LESSON),
    _r(
        "elearning:quiz_create",
        C.LEARNING_MANAGE,
        FORM,
        obj="quiz_lesson",
        kwargs={"pk": "quiz_lesson.course_id", "lesson_id": "quiz_lesson"},
    ),
    _r(
        "elearning:lesson_complete",
        C.LEARNING_MANAGE,
        POST,
        obj="lesson",
        kwargs=_LESSON,
        body={"enrolment": "enrolment"},
    ),
    _r("elearning:lesson_file", C.LEARNING_VIEW, obj="lesson", kwargs=_LESSON),
    _r(
        "elearning:certificate_pdf",
        C.LEARNING_VIEW,
        obj="certificate",
        kwargs={"code": "certificate.code"},
    ),
    _public(
        "elearning:verify",
        obj="certificate",
        kwargs={"code": "certificate.code"},
        note="Public check of a certificate: learner's name, course and date only.",
    ),
]

# Head-office desk staff choose the branch whose desk they work.
_DESK_BRANCH = {"branch": "branch"}
_UNMATCHED_NOTE = (
    "A registry record that matched no party belongs to no branch: head office resolves it."
)
_CASE_READ = {
    Role.FIELD_AGENT: Outcome.ALLOWED,
    (Role.FIELD_AGENT, Column.OTHER): Outcome.NOT_FOUND,
}

COMPLIANCE = [
    _r("compliance:worklist", C.COMPLIANCE_VIEW),
    _r(
        "compliance:case_detail",
        C.COMPLIANCE_VIEW,
        obj="case",
        overrides=_CASE_READ,
        note="Field agents (follow-up) read the cases they work.",
    ),
    _r("compliance:case_assign", C.COMPLIANCE_MANAGE, POST, obj="case"),
    _r(
        "compliance:case_propose_solution",
        C.COMPLIANCE_MANAGE,
        POST,
        obj="case",
        overrides={**_CASE_READ, (Role.LOAN_OFFICER, Column.OTHER): Outcome.NOT_FOUND},
        note="Case readers reach the case (404 outside their scope); then only its owner (the field "
        "agent follows the Praia case) or a compliance manager may propose (else 403).",
    ),
    _r("compliance:case_close", C.COMPLIANCE_MANAGE, POST, obj="case"),
    _r("compliance:requirement_list", C.COMPLIANCE_VIEW),
    _r(
        "compliance:requirement_create",
        C.COMPLIANCE_MANAGE,
        FORM,
        obj="offer",
        kwargs={"offer_id": "offer"},
    ),
    _r("compliance:requirement_update", C.COMPLIANCE_MANAGE, FORM, obj="requirement"),
    _r("compliance:requirement_deactivate", C.COMPLIANCE_MANAGE, POST, obj="requirement"),
    _r("compliance:source_list", C.COMPLIANCE_VIEW),
    _r("compliance:source_detail", C.COMPLIANCE_VIEW, obj="source"),
    _r("compliance:source_pull", C.COMPLIANCE_MANAGE, POST, obj="source"),
    _r("compliance:source_upload", C.COMPLIANCE_MANAGE, POST, obj="source"),
    _r("compliance:run_detail", C.COMPLIANCE_VIEW, obj="source_run"),
    _r("compliance:reconciliation_list", C.COMPLIANCE_VIEW),
    _r(
        "compliance:reconciliation_resolve",
        C.COMPLIANCE_MANAGE,
        FORM,
        obj="reconciliation_item",
        overrides={Role.BRANCH_MANAGER: Outcome.NOT_FOUND},
        note=_UNMATCHED_NOTE,
    ),
    _r(
        "compliance:party_registries",
        C.COMPLIANCE_VIEW,
        obj="party",
        kwargs={"party_pk": "party"},
    ),
    _r(
        "compliance:party_refresh",
        C.COMPLIANCE_MANAGE,
        POST,
        obj="party",
        kwargs={"party_pk": "party"},
    ),
    _r("compliance:field_day", C.COMPLIANCE_FOLLOW_UP),
    _public(
        "compliance:field_service_worker",
        note="The offline field app's service worker script: static code, no data.",
    ),
    _r("compliance:follow_up_new", C.COMPLIANCE_FOLLOW_UP, FORM, query={"party": "party"}),
    _r(
        "compliance:follow_up_photo",
        C.COMPLIANCE_VIEW,
        obj="follow_up",
        overrides={
            **dict.fromkeys(Role, Outcome.NOT_FOUND),
            **_visible(C.COMPLIANCE_VIEW),
            **_CASE_READ,
        },
        note="Sign-in only, then the follow-up scope: a role that sees no follow-up gets 404.",
    ),
    _r("compliance:desk", C.DESK),
    _r("compliance:desk_queue", C.DESK, query=_DESK_BRANCH),
    _r("compliance:desk_lookup", C.DESK, query=_DESK_BRANCH),
    _r("compliance:desk_check_in", C.DESK, POST, query=_DESK_BRANCH, body=_DESK_BRANCH),
    _r("compliance:desk_call_next", C.DESK, POST, query=_DESK_BRANCH, body=_DESK_BRANCH),
    _r("compliance:desk_start", C.DESK, POST, obj="desk_visit"),
    _r("compliance:desk_finish", C.DESK, POST, obj="desk_visit"),
    _r("compliance:desk_left", C.DESK, POST, obj="desk_visit"),
    _r(
        "compliance:desk_figures",
        C.DESK,
        query=_DESK_BRANCH,
        overrides=_also(C.COMPLIANCE_VIEW),
        note="Desk staff and compliance readers read the desk figures.",
    ),
    _r("compliance:compliance_dashboard", C.COMPLIANCE_VIEW),
    _r("compliance:compliance_drilldown", C.COMPLIANCE_VIEW, kwargs={"metric": "=active-loans"}),
    _r("compliance:position_refresh", C.COMPLIANCE_VIEW, POST),
]

_PLATFORM = {"code": "platform.code"}
_WAIVER = {"pk": "publication", "waiver_id": "waiver"}

P2P = [
    _r("p2p_export:dashboard", C.P2P_VIEW),
    _r("p2p_export:sync_now", C.P2P_MANAGE, POST, obj="platform", kwargs=_PLATFORM),
    _r("p2p_export:lookup_list", C.P2P_VIEW, obj="platform", kwargs=_PLATFORM),
    _r("p2p_export:lookups_refresh", C.P2P_MANAGE, POST, obj="platform", kwargs=_PLATFORM),
    _r(
        "p2p_export:lookup_map",
        C.P2P_MANAGE,
        POST,
        obj="lookup",
        kwargs={"code": "lookup.platform.code", "pk": "lookup"},
    ),
    _r("p2p_export:eligible", C.P2P_VIEW),
    _r("p2p_export:publication_list", C.P2P_VIEW),
    _r("p2p_export:publication_detail", C.P2P_VIEW, obj="publication"),
    _r("p2p_export:publication_validate", C.P2P_MANAGE, POST, obj="publication"),
    _r("p2p_export:publication_push", C.P2P_MANAGE, POST, obj="publication"),
    _r("p2p_export:publication_dry_run", C.P2P_MANAGE, obj="publication"),
    _r("p2p_export:publication_withdraw", C.P2P_MANAGE, POST, obj="publication"),
    _r("p2p_export:publication_anonymise", C.P2P_MANAGE, POST, obj="publication"),
    _r("p2p_export:waiver_add", C.P2P_MANAGE, POST, obj="publication"),
    _r("p2p_export:waiver_withdraw", C.P2P_MANAGE, POST, obj="waiver", kwargs=_WAIVER),
    _r("p2p_export:waiver_scan", C.P2P_VIEW, obj="waiver", kwargs=_WAIVER),
    _r("p2p_export:photo", C.P2P_VIEW, obj="photo"),
    _r("p2p_export:profile_edit", C.P2P_MANAGE, FORM, obj="publication"),
    _r("p2p_export:photo_upload", C.P2P_MANAGE, POST, obj="publication"),
    _r(
        "p2p_export:borrower_update",
        C.P2P_MANAGE,
        POST,
        obj="borrower",
        kwargs={"pk": "borrower.publication_id", "borrower_id": "borrower"},
    ),
    _r("p2p_export:profile_preview", C.P2P_VIEW, obj="publication"),
    _r("p2p_export:journal_list", C.P2P_VIEW),
    _r("p2p_export:journal_generate", C.P2P_MANAGE, POST, obj="platform", kwargs=_PLATFORM),
    _r(
        "p2p_export:journal_edit",
        C.P2P_VIEW,
        FORM,
        write=C.P2P_MANAGE,
        obj="journal",
        overrides={(Role.BRANCH_MANAGER, Column.OTHER, "POST"): Outcome.NOT_FOUND},
        note="The news item is looked up in scope before the edit right is checked.",
    ),
    _r("p2p_export:journal_approve", C.P2P_MANAGE, POST, obj="journal"),
    _r("p2p_export:journal_discard", C.P2P_MANAGE, POST, obj="journal"),
    _r("p2p_export:journal_send", C.P2P_MANAGE, POST, obj="journal"),
    _r("p2p_export:report_list", C.P2P_VIEW),
    _r("p2p_export:report_build", C.P2P_MANAGE, POST),
    _r("p2p_export:report_detail", C.P2P_VIEW, obj="p2p_report"),
    _r("p2p_export:report_finalise", C.P2P_MANAGE, POST, obj="p2p_report"),
    _r("p2p_export:report_send", C.P2P_MANAGE, POST, obj="p2p_report"),
    _r("p2p_export:package_list", C.P2P_VIEW, obj="platform", kwargs=_PLATFORM),
    _r("p2p_export:package_build", C.P2P_MANAGE, POST, obj="platform", kwargs=_PLATFORM),
    _r("p2p_export:return_file_import", C.P2P_MANAGE, POST, obj="platform", kwargs=_PLATFORM),
    _r(
        "p2p_export:package_download",
        C.P2P_VIEW,
        obj="package",
        overrides={Role.BRANCH_MANAGER: Outcome.NOT_FOUND},
        note="A package holds every branch's borrowers: head-office scope only.",
    ),
    _r("p2p_export:package_deliver", C.P2P_MANAGE, POST, obj="package"),
    _r("p2p_export:reconciliation", C.P2P_VIEW),
    _r("p2p_export:funding_record", C.P2P_RECONCILE, POST),
    _r("p2p_export:platform_repayment_record", C.P2P_RECONCILE, POST, obj="p2p_report"),
    _r("p2p_export:statement", C.P2P_VIEW),
]

API = [
    _api("api-root", None, url="/api/v1/", note="The routers' roots; /api/v1/ is the one served."),
    _api("schema", C.API_DOCS),
    _api("swagger-ui", C.API_DOCS),
    # crm
    _api("party-list", C.PARTY_VIEW),
    _api("party-detail", C.PARTY_VIEW, obj="party"),
    _api("person-list", C.PARTY_VIEW, API_LIST, write=C.PARTY_EDIT),
    _api("person-detail", C.PARTY_VIEW, API_DETAIL_RW, write=C.PARTY_EDIT, obj="person"),
    _api("enterprise-list", C.PARTY_VIEW, API_LIST, write=C.PARTY_EDIT),
    _api(
        "enterprise-detail",
        C.PARTY_VIEW,
        API_DETAIL_RW,
        write=C.PARTY_EDIT,
        obj="enterprise",
        overrides=_not_assigned(Role.COACH, Role.FIELD_AGENT),
        note="The Praia enterprise is assigned to nobody: field agents and coaches do not see it.",
    ),
    _api("interaction-list", C.PARTY_VIEW, API_LIST, write=C.PARTY_EDIT),
    _api("interaction-detail", C.PARTY_VIEW, obj="interaction"),
    _api("task-list", C.PARTY_VIEW, API_LIST, write=C.PARTY_EDIT),
    _api("task-detail", C.PARTY_VIEW, obj="task", overrides=_not_assigned(Role.COACH)),
    _api(
        "task-complete",
        C.PARTY_VIEW,
        POST,
        write=C.PARTY_EDIT,
        obj="task",
        overrides=_not_assigned(Role.COACH),
        note=_TASK_NOTE,
    ),
    _api("party-data-export", C.PARTY_EDIT, obj="party"),
    _api("party-data-export-pdf", C.PARTY_EDIT, obj="party"),
    # accounting
    _api("loan-reconciliation", C.LEDGER_VIEW),
    _api("trial-balance", C.LEDGER_VIEW),
    _api("balance-sheet", C.LEDGER_VIEW),
    _api("account-list", C.LEDGER_VIEW),
    _api("account-detail", C.LEDGER_VIEW, obj="account"),
    _api("journal-entry-list", C.LEDGER_VIEW, API_LIST, write=C.LEDGER_DRAFT),
    _api("journal-entry-detail", C.LEDGER_VIEW, obj="entry"),
    _api("journal-entry-approve", C.LEDGER_VIEW, POST, write=C.LEDGER_APPROVE, obj="entry"),
    _api("journal-entry-reject", C.LEDGER_VIEW, POST, write=C.LEDGER_APPROVE, obj="entry"),
    _api("journal-entry-reverse", C.LEDGER_VIEW, POST, write=C.LEDGER_APPROVE, obj="entry"),
    # loans
    _api("loan-schedule-preview", C.LOAN_APPLY, POST),
    _api("loan-portfolio-quality", C.LOAN_VIEW),
    _api("loan-list", C.LOAN_VIEW, API_LIST, write=C.LOAN_APPLY),
    _api("loan-detail", C.LOAN_VIEW, obj="loan"),
    _api("loan-approve", C.LOAN_VIEW, POST, write=C.LOAN_APPROVE, obj="loan"),
    _api("loan-reject", C.LOAN_VIEW, POST, write=C.LOAN_APPROVE, obj="loan"),
    _api("loan-disburse", C.LOAN_VIEW, POST, write=C.LOAN_DISBURSE, obj="loan"),
    _api("loan-repayments", C.LOAN_VIEW, POST, write=C.LOAN_REPAY, obj="loan"),
    # coaching
    _api("coaching-engagement-list", C.COACHING_VIEW, API_LIST, write=C.COACHING_MANAGE),
    _api("coaching-engagement-detail", C.COACHING_VIEW, obj="engagement"),
    _api(
        "coaching-engagement-transition",
        C.COACHING_VIEW,
        POST,
        write=C.COACHING_SESSION_LOG,
        obj="engagement",
    ),
    _api("coaching-session-list", C.COACHING_VIEW, API_LIST, write=C.COACHING_SESSION_LOG),
    _api("coaching-session-detail", C.COACHING_VIEW, obj="session"),
    _api("coaching-invoice-list", C.COACHING_MANAGE),
    _api("coaching-invoice-issue", C.COACHING_MANAGE, POST),
    _api("coaching-invoice-detail", C.COACHING_MANAGE, obj="invoice"),
    _api("coaching-invoice-payments", C.COACHING_MANAGE, POST, obj="invoice"),
    # compliance
    _api("compliance-case-list", C.COMPLIANCE_VIEW),
    _api("compliance-case-detail", C.COMPLIANCE_VIEW, obj="case"),
    _api("compliance-case-assign", C.COMPLIANCE_VIEW, POST, write=C.COMPLIANCE_MANAGE, obj="case"),
    _api("compliance-case-close", C.COMPLIANCE_VIEW, POST, write=C.COMPLIANCE_MANAGE, obj="case"),
    _api(
        "compliance-case-propose",
        C.COMPLIANCE_FOLLOW_UP,
        POST,
        obj="case",
        overrides={Role.MANAGER: Outcome.ALLOWED, Role.ADMINISTRATOR: Outcome.ALLOWED},
        note="Case workers (follow-up staff and compliance managers, never read-only roles); "
        "the service then lets only the case's owner or a manager propose.",
    ),
    _api("compliance-check-list", C.COMPLIANCE_VIEW),
    _api("compliance-check-detail", C.COMPLIANCE_VIEW, obj="check"),
    _api("compliance-requirement-list", C.COMPLIANCE_VIEW, API_LIST, write=C.COMPLIANCE_MANAGE),
    _api(
        "compliance-requirement-detail",
        C.COMPLIANCE_VIEW,
        API_DETAIL_RW,
        write=C.COMPLIANCE_MANAGE,
        obj="requirement",
    ),
    _api("compliance-source-list", C.COMPLIANCE_VIEW),
    _api("compliance-source-detail", C.COMPLIANCE_VIEW, obj="source"),
    _api(
        "compliance-source-pull", C.COMPLIANCE_VIEW, POST, write=C.COMPLIANCE_MANAGE, obj="source"
    ),
    _api(
        "compliance-source-upload",
        C.COMPLIANCE_VIEW,
        POST,
        write=C.COMPLIANCE_MANAGE,
        obj="source",
    ),
    _api("compliance-source-run-list", C.COMPLIANCE_VIEW),
    _api("compliance-source-run-detail", C.COMPLIANCE_VIEW, obj="source_run"),
    _api("compliance-registry-record-list", C.COMPLIANCE_VIEW),
    _api("compliance-registry-record-detail", C.COMPLIANCE_VIEW, obj="registry_record"),
    _api("compliance-reconciliation-item-list", C.COMPLIANCE_VIEW),
    _api(
        "compliance-reconciliation-item-resolve",
        C.COMPLIANCE_VIEW,
        POST,
        write=C.COMPLIANCE_MANAGE,
        obj="reconciliation_item",
        overrides={Role.BRANCH_MANAGER: Outcome.NOT_FOUND},
        note=_UNMATCHED_NOTE,
    ),
    _api("compliance-field-day", C.COMPLIANCE_FOLLOW_UP),
    _api(
        "compliance-follow-up-list",
        C.COMPLIANCE_VIEW,
        API_LIST,
        write=C.COMPLIANCE_FOLLOW_UP,
        overrides={(Role.FIELD_AGENT, "GET"): Outcome.ALLOWED},
        note="Field agents list their own follow-ups.",
    ),
    _api(
        "compliance-follow-up-detail",
        C.COMPLIANCE_VIEW,
        obj="follow_up",
        overrides=_CASE_READ,
        note="Field agents read their own follow-ups.",
    ),
    _api(
        "compliance-desk-figures",
        C.DESK,
        query=_DESK_BRANCH,
        overrides=_also(C.COMPLIANCE_VIEW),
        note="Desk staff and compliance readers read the desk figures.",
    ),
    _api("compliance-desk-visit-list", C.DESK, API_LIST),
    _api("compliance-desk-visit-detail", C.DESK, obj="desk_visit"),
    _api("compliance-desk-visit-start", C.DESK, POST, obj="desk_visit"),
    _api("compliance-desk-visit-finish", C.DESK, POST, obj="desk_visit"),
    _api("compliance-desk-visit-left", C.DESK, POST, obj="desk_visit"),
    _api("compliance-dashboard", C.COMPLIANCE_VIEW),
    # p2p
    _api("p2p-eligible-loans", C.P2P_VIEW),
    _api("p2p-dashboard", C.P2P_VIEW),
    _api("p2p-publication-list", C.P2P_VIEW),
    _api("p2p-publication-select", C.P2P_VIEW, POST, write=C.P2P_MANAGE),
    _api("p2p-publication-detail", C.P2P_VIEW, obj="publication"),
    _api("p2p-publication-profile", C.P2P_VIEW, ("PATCH",), write=C.P2P_MANAGE, obj="publication"),
    _api("p2p-publication-push", C.P2P_VIEW, POST, write=C.P2P_MANAGE, obj="publication"),
    _api("p2p-publication-validate", C.P2P_VIEW, POST, write=C.P2P_MANAGE, obj="publication"),
    _api("p2p-publication-withdraw", C.P2P_VIEW, POST, write=C.P2P_MANAGE, obj="publication"),
    _api("p2p-journal-list", C.P2P_VIEW),
    _api("p2p-journal-detail", C.P2P_VIEW, ("GET", "PATCH"), write=C.P2P_MANAGE, obj="journal"),
    _api("p2p-journal-approve", C.P2P_VIEW, POST, write=C.P2P_MANAGE, obj="journal"),
    _api("p2p-journal-discard", C.P2P_VIEW, POST, write=C.P2P_MANAGE, obj="journal"),
    _api("p2p-journal-send", C.P2P_VIEW, POST, write=C.P2P_MANAGE, obj="journal"),
    _api("p2p-report-list", C.P2P_VIEW),
    _api("p2p-report-build", C.P2P_VIEW, POST, write=C.P2P_MANAGE),
    _api("p2p-report-detail", C.P2P_VIEW, obj="p2p_report"),
    _api("p2p-report-finalise", C.P2P_VIEW, POST, write=C.P2P_MANAGE, obj="p2p_report"),
    _api("p2p-report-send", C.P2P_VIEW, POST, write=C.P2P_MANAGE, obj="p2p_report"),
]

# The Django admin: every page goes through ``admin.site.admin_view``, which lets in active
# staff users only (the administrators, who are staff in production) and sends everyone else
# to the admin login page. One entry stands for every route under the ``admin`` namespace.
ADMIN_NAMESPACE = "admin"
_ADMIN_OVERRIDES = {role: Outcome.LOGIN for role in Role if role != Role.ADMINISTRATOR}
ADMIN = [
    Route(
        "admin:*",
        C.USER_ADMIN,
        GET,
        overrides=_ADMIN_OVERRIDES,
        note="Django admin (every admin route): staff only; others get the admin login page.",
    ),
]

ROUTES: tuple[Route, ...] = (
    *SHELL,
    *CRM,
    *ACCOUNTING,
    *LOANS,
    *COACHING,
    *ELEARNING,
    *COMPLIANCE,
    *P2P,
    *API,
    *ADMIN,
)
MATRIX: dict[str, Route] = {route.name: route for route in ROUTES}
if len(MATRIX) != len(ROUTES):  # pragma: no cover - a typo in the table above
    raise RuntimeError("The authorization matrix names a route twice.")


def route_for(name: str | None, pattern: str = "") -> Route | None:
    """The matrix entry of a URL pattern (admin routes share one entry, named or not)."""
    if (name or "").startswith(f"{ADMIN_NAMESPACE}:") or pattern.startswith("admin/"):
        return MATRIX["admin:*"]
    return MATRIX.get(name or "")
