"""The authorization matrix (``mfi/authz/matrix.py``) against the running views.

Every URL pattern of the root resolver must have a matrix entry. For every entry, every role and
anonymous, and (for URLs naming a branch object) the Praia object ("own") and the Mindelo object
("other"), the request gets the expected status class; a denied write changes no row anywhere.

The world (one object of each kind in Praia and one in Mindelo, built with the real services) is
built once for the module inside a transaction rolled back at the end; each request runs in a
savepoint rolled back after it, so an allowed write never leaks into the next cell.
"""

from __future__ import annotations

import datetime
import json
import uuid
from decimal import Decimal
from http.cookies import SimpleCookie
from types import SimpleNamespace
from urllib.parse import urlencode

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client, override_settings
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from mfi.authz.matrix import ANONYMOUS, MATRIX, ROUTES, Column, Outcome, Route, route_for
from tests.factories import BranchFactory, UserFactory
from tests.users.two_factor_support import mark_session_verified
from users.roles import Role
from users.two_factor import two_factor_required_for

pytestmark = pytest.mark.django_db

PERSONA_BRANCH = {
    Role.LOAN_OFFICER: "praia",
    Role.BRANCH_MANAGER: "praia",
    Role.CREDIT_COMMITTEE: "praia",
    Role.ACCOUNTANT: "hq",
    Role.COACH: "praia",
    Role.FIELD_AGENT: "praia",
    Role.SERVICE_DESK: "praia",
    Role.COMPLIANCE_OFFICER: "hq",
    Role.MANAGER: "hq",
    Role.AUDITOR: "hq",
    Role.ADMINISTRATOR: "hq",
}


# --- URL patterns ---------------------------------------------------------------------------------


def _walk(resolver, prefix="", namespace=None):
    for pattern in resolver.url_patterns:
        if isinstance(pattern, URLResolver):
            inner = namespace
            if pattern.namespace:
                inner = f"{namespace}:{pattern.namespace}" if namespace else pattern.namespace
            yield from _walk(pattern, prefix + str(pattern.pattern), inner)
        elif isinstance(pattern, URLPattern):
            name = pattern.name
            full = f"{namespace}:{name}" if namespace and name else name
            yield full, prefix + str(pattern.pattern), pattern.callback


def all_patterns() -> list[tuple[str | None, str, object]]:
    return list(_walk(get_resolver()))


def _drf_methods(callback) -> set[str] | None:
    """The HTTP methods a DRF route serves (None for a plain Django view)."""
    actions = getattr(callback, "actions", None)
    if actions:
        return {method.upper() for method in actions} - {"HEAD", "OPTIONS"}
    view_class = getattr(callback, "cls", None)
    if view_class is None or not hasattr(view_class, "http_method_names"):
        return None
    initkwargs = getattr(callback, "initkwargs", {}) or {}
    if initkwargs.get("suffix") == "Api Root" or view_class.__name__ == "APIRootView":
        return {"GET"}
    methods = {
        method.upper()
        for method in view_class.http_method_names
        if hasattr(view_class, method) and method not in {"options", "head"}
    }
    return methods or None


def test_every_url_pattern_has_a_matrix_entry():
    # given every pattern of the root resolver (includes and DRF routers recursed)
    missing = sorted(
        {
            name or pattern
            for name, pattern, _cb in all_patterns()
            if route_for(name, pattern) is None
        }
    )
    # then
    assert not missing, (
        "URL patterns without an entry in mfi/authz/matrix.py (add one, then run "
        f"`manage.py authz_matrix`): {', '.join(missing)}"
    )


def test_every_matrix_entry_names_a_live_route():
    names = {name for name, _pattern, _cb in all_patterns() if name}
    stale = sorted(
        route.name for route in ROUTES if route.name != "admin:*" and route.name not in names
    )
    assert not stale, f"Matrix entries for routes that no longer exist: {', '.join(stale)}"


def test_api_entries_list_exactly_the_methods_each_route_serves():
    # given the methods DRF serves per route name
    served: dict[str, set[str]] = {}
    for name, _pattern, callback in all_patterns():
        methods = _drf_methods(callback)
        if name and methods is not None and route_for(name) is not None:
            served.setdefault(name, set()).update(methods)
    # then
    mismatched = {
        name: (sorted(methods), sorted(MATRIX[name].methods))
        for name, methods in served.items()
        if MATRIX[name].api and set(MATRIX[name].methods) != methods
    }
    assert not mismatched, f"route: (served, in matrix) {mismatched}"


def test_the_committed_doc_is_up_to_date(tmp_path):
    # given the table rendered from the code
    out = tmp_path / "authorization.md"
    call_command("authz_matrix", output=str(out))
    # then
    from django.conf import settings

    committed = (settings.BASE_DIR / "docs" / "authorization.md").read_text(encoding="utf-8")
    assert out.read_text(encoding="utf-8") == committed, (
        "docs/authorization.md is stale: run `python manage.py authz_matrix`"
    )


# --- the world -----------------------------------------------------------------------------------


def _pdf(name="evidence.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, b"%PDF-1.4\n%test\n1 0 obj<<>>endobj\n%%EOF\n", "application/pdf"
    )


def _jpeg(name="photo.jpg") -> SimpleUploadedFile:
    from tests.p2p_export.factories import jpeg_bytes

    return SimpleUploadedFile(name, jpeg_bytes(), "image/jpeg")


def _build_world() -> dict:
    from accounting.chart import chart_install
    from coaching import services as coaching
    from coaching.confirmation import confirmation_token
    from compliance.cases import case_open
    from compliance.choices import (
        DeskReason,
        FollowUpKind,
        FollowUpOutcome,
        ReconciliationReason,
        RequirementKind,
        Severity,
    )
    from compliance.desk import desk_check_in
    from compliance.evaluation import evaluate_loans
    from compliance.field import follow_up_record
    from compliance.models import ComplianceCheck, ReconciliationItem
    from crm import interactions, leads
    from crm import services as crm
    from crm.choices import ConsentPurpose, InteractionKind, LeadSource, LinkKind, Relationship
    from elearning import services as learning
    from loans.models import LoanDocument
    from loans.services import repayment_record
    from p2p_export import journals
    from p2p_export.choices import LookupKind, PlatformKind
    from p2p_export.models import PlatformLookup
    from tests.accounting.factories import HEAD_OFFICE_CASH, draft_manual
    from tests.coaching.factories import accepted_engagement, log_session, make_coach
    from tests.coaching.factories import make_product as make_coaching_product
    from tests.compliance.factories import make_requirement
    from tests.compliance.records import inps_record, inps_source
    from tests.crm.factories import make_enterprise
    from tests.elearning.factories import make_course, make_lesson, make_quiz
    from tests.loans.factories import cash_product
    from tests.p2p_export.factories import (
        consenting_person,
        make_platform,
        ready_publication,
        recent_loan,
    )

    head_office = BranchFactory(code="hq", name="Head office")
    praia = BranchFactory(code="praia", name="Praia", parent=head_office)
    mindelo = BranchFactory(
        code="mindelo", name="Mindelo", parent=head_office, island="sao_vicente"
    )
    offices = {"hq": head_office, "praia": praia}
    users = {
        role: UserFactory(
            username=f"authz.{role}",
            role=role,
            branch=offices[PERSONA_BRANCH[role]],
            is_staff=role == Role.ADMINISTRATOR,
            is_superuser=role == Role.ADMINISTRATOR,
        )
        for role in Role
    }
    manager = users[Role.MANAGER]
    officers = {Column.OWN: users[Role.LOAN_OFFICER]}
    officers[Column.OTHER] = UserFactory(
        username="authz.mindelo", role=Role.LOAN_OFFICER, branch=mindelo
    )
    # Four eyes: the entries are drafted by another accountant, so the persona may check them.
    maker = UserFactory(username="authz.maker", role=Role.ACCOUNTANT, branch=head_office)
    other_coach_user = UserFactory(username="authz.coach.mindelo", role=Role.COACH, branch=mindelo)
    branches = {Column.OWN: praia, Column.OTHER: mindelo}
    rules = chart_install()
    product = cash_product(manager, rules)
    offer = product.offer
    requirement = make_requirement(
        offer, RequirementKind.SOCIAL_SECURITY_PAID, severity=Severity.HIGH
    )
    coaching_product = make_coaching_product(manager)
    coaches = {
        Column.OWN: make_coach(manager, users[Role.COACH]),
        Column.OTHER: make_coach(manager, other_coach_user),
    }
    platform = make_platform(PlatformKind.KIVA)
    lookup = PlatformLookup.objects.create(
        platform=platform,
        kind=LookupKind.ACTIVITY,
        external_id="25",
        name="Retail",
        sector="retail",
    )
    source = inps_source()
    course = make_course(manager)
    lesson = make_lesson(manager, course, file=_pdf("lesson.pdf"))
    quiz_lesson = make_lesson(manager, course, title="Margins")
    make_quiz(manager, quiz_lesson, questions=1)
    today = timezone.localdate()

    world: dict = {
        "users": users,
        "loan_product": product,
        "offer": offer,
        "requirement": requirement,
        "coaching_product": coaching_product,
        "coach": coaches[Column.OWN],
        "platform": platform,
        "lookup": lookup,
        "source": source,
        "course": course,
        "lesson": lesson,
        "quiz_lesson": quiz_lesson,
        "segment": leads.segment_create(
            actor=officers[Column.OWN], name="Clients", query="relationship=client", is_shared=True
        ),
        "account": None,
    }
    from accounting.models import Account

    world["account"] = Account.objects.get(code=HEAD_OFFICE_CASH)

    per_branch: dict[str, dict[Column, object]] = {}

    def put(kind, column, obj):
        per_branch.setdefault(kind, {})[column] = obj

    for column, branch in branches.items():
        officer = officers[column]
        assignee = users[Role.FIELD_AGENT] if column is Column.OWN else None
        person = consenting_person(
            officer,
            branch=branch,
            assigned_to=assignee,
            nif=f"10000000{1 if column is Column.OWN else 2}",
            social_security_number=f"2000000{1 if column is Column.OWN else 2}",
        )
        enterprise = make_enterprise(officer, branch=branch, relationship=Relationship.PROSPECT)
        put("branch", column, branch)
        put("party", column, person)
        put("person", column, person)
        put("enterprise", column, enterprise)
        put(
            "link",
            column,
            crm.party_link_create(
                actor=officer, from_party=person, to_party=enterprise, kind=LinkKind.OWNER
            ),
        )
        put(
            "consent",
            column,
            crm.consent_record(
                actor=officer,
                party=person,
                purpose=ConsentPurpose.DATA_PROCESSING,
                given_on=today - datetime.timedelta(days=40),
                evidence=_pdf(),
            ),
        )
        put(
            "interaction",
            column,
            interactions.interaction_record(
                actor=officer, party=person, kind=InteractionKind.CALL, summary="Called"
            ),
        )
        put(
            "task",
            column,
            interactions.task_create(
                actor=officer, title="Call back", due_date=today, party=person, assigned_to=assignee
            ),
        )
        put(
            "lead",
            column,
            leads.lead_create(actor=officer, party=enterprise, source=LeadSource.WALK_IN),
        )
        # loans: a recently disbursed loan of the person, with a repayment
        loan = recent_loan(officer, manager, rules, borrower=person, product=product)
        put("loan", column, loan)
        put(
            "loan_txn",
            column,
            repayment_record(actor=officer, loan=loan, amount=Decimal("5000.00")),
        )
        from loans.services import loan_document_add

        loan_document_add(actor=officer, loan=loan, kind="id_card", file=_pdf("id.pdf"))
        put("loan_document", column, LoanDocument.objects.filter(loan=loan).order_by("-pk").first())
        # ledger: a manual entry waiting for its checker
        from accounting.choices import AccountRole
        from accounting.services import account_for_role

        cash = account_for_role(AccountRole.CASH, branch).code
        put(
            "entry",
            column,
            draft_manual(
                maker,
                branch,
                today,
                [(cash, "100.00", "0"), ("3100", "0", "100.00")],
            ),
        )
        # coaching
        engagement = accepted_engagement(
            manager, party=person, product=coaching_product, coach=coaches[column]
        )
        put("engagement", column, engagement)
        put(
            "goal",
            column,
            coaching.goal_add(actor=manager, engagement=engagement, description="Keep a cash book"),
        )
        put(
            "milestone",
            column,
            coaching.milestone_add(actor=manager, engagement=engagement, title="First month"),
        )
        session = log_session(manager, engagement)
        put("session", column, session)
        if column is Column.OWN:
            world["session_token"] = SimpleNamespace(
                pk=session.pk, confirmation_token=confirmation_token(session.pk)
            )
        put(
            "invoice",
            column,
            coaching.invoice_for_engagement(actor=manager, engagement=engagement, issue_date=today),
        )
        # e-learning: the person completes the one-lesson course... and gets a certificate
        enrolment = learning.enrolment_create(actor=manager, course=course, party=person)
        put("enrolment", column, enrolment)
        put("certificate", column, _certificate(manager, enrolment, course))
        # compliance
        case, _created = case_open(
            party=person,
            kind=RequirementKind.SOCIAL_SECURITY_PAID,
            severity=Severity.HIGH,
            loan=loan,
        )
        put("case", column, case)
        evaluate_loans(loan_ids=[loan.pk], today=today)
        put("check", column, ComplianceCheck.objects.filter(loan=loan).order_by("-pk").first())
        put(
            "follow_up",
            column,
            follow_up_record(
                actor=users[Role.FIELD_AGENT] if column is Column.OWN else officer,
                client_uuid=uuid.uuid4(),
                party=person,
                kind=FollowUpKind.CALL,
                outcome=FollowUpOutcome.WILL_REGULARISE,
                case=case,
                photo=_jpeg("doc.jpg"),
            )[0],
        )
        put(
            "desk_visit",
            column,
            desk_check_in(actor=manager, branch=branch, reason=DeskReason.REPAYMENT, party=person),
        )
        put("registry_record", column, inps_record(source, person, as_of=today))
        # p2p
        publication = ready_publication(manager, platform, loan)
        put("publication", column, publication)
        put(
            "waiver",
            column,
            publication.loan.p2p_waivers.order_by("-pk").first()
            if hasattr(publication.loan, "p2p_waivers")
            else None,
        )
        put("photo", column, publication.photos.order_by("-pk").first())
        put("borrower", column, publication.borrowers.order_by("pk").first())
        put(
            "journal",
            column,
            journals.journal_create(
                actor=manager, publication=publication, subject="News", body="The shop grows."
            ),
        )

    world["package"], world["p2p_report"] = _file_platform_objects(
        manager, users[Role.LOAN_OFFICER], rules, product
    )
    from crm.privacy import party_erasure_request_create

    for column, officer in officers.items():
        put(
            "erasure_request",
            column,
            party_erasure_request_create(
                actor=officer,
                party=per_branch["enterprise"][column],
                reason="The person asked to be forgotten.",
            ),
        )
    world["source_run"] = per_branch["registry_record"][Column.OWN].run
    world["reconciliation_item"] = ReconciliationItem.objects.create(
        record=inps_record(source, per_branch["enterprise"][Column.OWN], as_of=today),
        reason=ReconciliationReason.NO_MATCH,
    )
    world["branch_objects"] = per_branch
    return world


def _file_platform_objects(manager, officer, rules, product):
    """A package built for a file platform, and the repayment report of a loan it funded."""
    from loans.services import repayment_record
    from p2p_export import reconciliation, services
    from p2p_export.choices import PlatformKind
    from p2p_export.packages import package_build
    from tests.p2p_export.factories import make_platform, ready_publication, recent_loan

    platform = make_platform(PlatformKind.FILES)
    loan = recent_loan(officer, manager, rules, product=product)
    publication = ready_publication(manager, platform, loan)
    services.publication_validate(actor=manager, publication=publication)
    services.publication_push(actor=manager, publication=publication)
    package = package_build(actor=manager, platform=platform)
    today = timezone.localdate()
    content = (
        "internal_loan_id,platform_loan_id,status,funded_amount,changed_on\n"
        f"{loan.number},BL-7,funded,120000.00,{today.isoformat()}\n"
    ).encode()
    services.return_file_import(actor=manager, platform=platform, content=content)
    repayment_record(actor=officer, loan=loan, amount=Decimal("5000.00"))
    reports = reconciliation.repayment_report_build(
        actor=manager, platform=platform, year=today.year, month=today.month
    )
    return package, (reports[0] if reports else None)


def _certificate(actor, enrolment, course):
    from elearning import services as learning
    from elearning.models import Lesson

    for lesson in Lesson.objects.filter(course=course).order_by("position"):
        learning.lesson_complete(actor=actor, enrolment=enrolment, lesson=lesson)
        quiz = getattr(lesson, "quiz", None)
        if quiz is not None:
            from tests.elearning.factories import answers

            learning.quiz_attempt_record(
                actor=actor, enrolment=enrolment, quiz=quiz, answers=answers(quiz, right=1)
            )
    enrolment.refresh_from_db()
    return learning.certificate_issue(actor=actor, enrolment=enrolment)


@pytest.fixture(scope="module")
def world(django_db_setup, django_db_blocker, tmp_path_factory):
    media = tmp_path_factory.mktemp("authz-media")
    with (
        django_db_blocker.unblock(),
        override_settings(MEDIA_ROOT=media, KIVA_API_BASE_URL="", P2P_FILES_DELIVERY_URL=""),
        transaction.atomic(),
    ):
        built = _build_world()
        built["clients"] = _clients(built["users"])
        yield built
        transaction.set_rollback(True)


def _clients(users) -> dict:
    clients = {ANONYMOUS: Client()}
    for role, user in users.items():
        client = Client()
        client.force_login(user)
        if two_factor_required_for(user):
            # These roles must pass a second factor: sign the session in completely, as the
            # persona fixtures of tests/conftest.py do.
            mark_session_verified(client, user)
        clients[role] = client
    return clients


# --- requests ------------------------------------------------------------------------------------


def _resolve_reference(world, reference: str, column: Column):
    if reference.startswith("="):
        return reference[1:]
    kind, _dot, attribute = reference.partition(".")
    if kind in world["branch_objects"]:
        obj = world["branch_objects"][kind][column]
    else:
        obj = world.get(kind)
    if obj is None:
        pytest.skip(f"the test world has no {kind}")
    for part in (attribute or "pk").split("."):
        obj = getattr(obj, part)
    return obj


def _target(world, route: Route, column: Column):
    if route.obj is None:
        return None
    if route.obj in world["branch_objects"]:
        return world["branch_objects"][route.obj][column]
    return world.get(route.obj)


TWO_FACTOR_PREFIX = "/accounts/2fa/"

_CHANGES_SQL = """
    SELECT relname, n_tup_ins + n_tup_upd + n_tup_del
    FROM pg_stat_xact_user_tables WHERE relname <> 'django_session'
"""


def _row_changes() -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute(_CHANGES_SQL)
        return dict(cursor.fetchall())


def _audit_count() -> int:
    from audit.models import AuditEvent

    return AuditEvent.objects.count()


def _send(client: Client, method: str, url: str, api: bool, body: dict):
    if method == "GET":
        return client.get(url)
    if api:
        return client.generic(
            method, url, data=json.dumps(body).encode(), content_type="application/json"
        )
    return client.generic(
        method, url, data=urlencode(body).encode(), content_type="application/x-www-form-urlencoded"
    )


def _classify(response, login_url: str, route: Route) -> str:
    status = response.status_code
    if status in (301, 302, 303) and response["Location"].split("?")[0] == login_url:
        return Outcome.LOGIN
    if (
        status in (301, 302, 303)
        and response["Location"].startswith(TWO_FACTOR_PREFIX)
        and not route.name.startswith("two_factor_")
    ):
        return f"sent to the two-factor page ({response['Location']})"
    if status == 403:
        return Outcome.FORBIDDEN
    if status == 404:
        return Outcome.NOT_FOUND
    if status in (200, 503) and route.public_outcome == Outcome.ANSWERED:
        return Outcome.ANSWERED
    if status >= 500 or status == 405:
        return f"error {status}"
    return Outcome.ALLOWED


def _check_cell(world, route: Route, url_name: str, kwargs_for, role, column, method, expected):
    client = world["clients"][role]
    cookies = SimpleCookie()
    cookies.load(client.cookies.output(header="", sep=";"))
    url = route.url or reverse(url_name, kwargs=kwargs_for(column))
    refs_column = column if route.is_branch_scoped else Column.OWN
    if route.query:
        url += "?" + urlencode(
            {key: _resolve_reference(world, ref, refs_column) for key, ref in route.query.items()}
        )
    body = {key: _resolve_reference(world, ref, refs_column) for key, ref in route.body.items()}
    login_url = reverse("admin:login") if route.name == "admin:*" else reverse("login")
    target = _target(world, route, column)
    problem = None
    sid = transaction.savepoint()
    try:
        audit_before, rows_before = _audit_count(), _row_changes()
        snapshot = _snapshot(target)
        try:
            response = _send(client, method, url, route.api, body)
            outcome = _classify(response, login_url, route)
        except Exception as exc:  # noqa: BLE001 - a crash is a failed cell, reported with the rest
            outcome = f"exception {type(exc).__name__}: {exc}"
        if expected == Outcome.REFUSED and outcome == Outcome.ALLOWED:
            outcome = Outcome.REFUSED
        if outcome != expected:
            problem = f"{method} {url} as {role} ({column}): expected {expected}, got {outcome}"
        elif method != "GET" and expected != Outcome.ALLOWED:
            changed = {
                table: count
                for table, count in _row_changes().items()
                if count != rows_before.get(table, 0)
            }
            if changed or _audit_count() != audit_before or _snapshot(target) != snapshot:
                problem = f"{method} {url} as {role} ({column}): denied but changed {changed}"
    finally:
        transaction.savepoint_rollback(sid)
        client.cookies = cookies
    return problem


def _snapshot(obj):
    if obj is None or not hasattr(obj, "_meta"):
        return None
    row = type(obj)._default_manager.filter(pk=obj.pk).values().first()
    return row


def _route_params():
    for route in ROUTES:
        yield pytest.param(route.name, id=route.name)


def _admin_url_names() -> list[tuple[str, dict]]:
    """The admin index, each application's index and each model's list (every other admin page
    goes through the same ``admin_view`` guard)."""
    names = [("admin:index", {})]
    for name, _pattern, _callback in all_patterns():
        if name and name.startswith("admin:") and name.endswith("_changelist"):
            names.append((name, {}))
        elif name == "admin:app_list":
            names.append((name, {"app_label": "users"}))
    return names


@pytest.mark.parametrize("route_name", list(_route_params()))
def test_matrix_cells(world, route_name):
    route = MATRIX[route_name]
    problems = []
    targets = _admin_url_names() if route.name == "admin:*" else [(route.name, None)]
    for url_name, fixed_kwargs in targets:

        def kwargs_for(column, fixed=fixed_kwargs):
            if fixed is not None:
                return fixed
            return {
                key: _resolve_reference(world, reference, column)
                for key, reference in route.url_kwargs.items()
            }

        for role, column, method, expected in route.cells():
            problem = _check_cell(
                world, route, url_name, kwargs_for, role, column, method, expected
            )
            if problem:
                problems.append(problem)
    assert not problems, "\n".join(problems)
