"""Schemathesis against ``/api/v1/schema/``: every operation, with generated data, as every role.

The promise (issue 9): no request a client can send makes the API answer 5xx, and every 4xx
carries a JSON error body. Each persona calls every operation of the schema, with positive and
negative (schema-violating) data, in a small world of both branches (Praia and Mindelo) whose ids
resolve. Requests go in-process through Django's WSGI handler, authenticated with an API token as
the field app and integrations do.

``FUZZ_EXAMPLES`` bounds the fuzzing examples per operation and persona (small by default so the
run is part of ``make test``; ``make fuzz`` sets it large), ``FUZZ_PHASES`` chooses schemathesis'
phases (``make fuzz`` adds ``coverage``). The bounded run is deterministic; a long run is random,
and ``FUZZ_SEED`` replays one.
"""

from __future__ import annotations

import json
import os
import traceback

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import got_request_exception, request_finished, request_started
from django.db import close_old_connections, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token

from p2p_export.services import publication_select
from tests.accounting.factories import BANK, SHARE_CAPITAL, chart, draft_manual
from tests.coaching.factories import accepted_engagement, coach_user, log_session, make_coach
from tests.coaching.factories import make_product as make_coaching_product
from tests.compliance.factories import make_requirement, make_source
from tests.crm.factories import make_enterprise, make_person
from tests.factories import ROLE_PERSONAS, UserFactory
from tests.loans.factories import active_loan, cash_product, submitted_loan
from tests.p2p_export.factories import consenting_person, make_platform, recent_loan
from users.roles import Role

FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
# The coverage phase (boundary and wrong-type values of every parameter, ~80 requests per
# operation and persona) is for ``make fuzz``; ``make test`` runs the schema examples and fuzzing.
FUZZ_PHASES = os.environ.get("FUZZ_PHASES", "examples,fuzzing").split(",")
# The long run (``make fuzz``) explores; the bounded one in ``make test`` is reproducible.
IS_LONG_RUN = FUZZ_EXAMPLES > 25
FUZZ_SEED = os.environ.get("FUZZ_SEED")

PERSONAS = [*ROLE_PERSONAS, "outsider"]  # outsider: a loan officer of the other branch


def _build_world(*, praia, mindelo, manager) -> None:
    """A few real objects of every kind, in both branches, so generated ids hit something."""
    rules = chart()
    product = cash_product(manager, rules)
    bookkeeper = UserFactory(
        username="world.accountant", role=Role.ACCOUNTANT, branch=manager.branch
    )
    today = timezone.localdate()
    make_requirement(product.offer)
    make_source()
    platform = make_platform()
    for branch in (praia, mindelo):
        officer = UserFactory(
            username=f"world.officer.{branch.code}", role=Role.LOAN_OFFICER, branch=branch
        )
        make_enterprise(officer)
        submitted_loan(officer, product)
        active_loan(officer, manager, product)
        draft_manual(
            bookkeeper, branch, today, [(BANK, "100.00", "0"), (SHARE_CAPITAL, "0", "100.00")]
        )
        person = make_person(officer)
        coach = make_coach(manager, coach_user(f"world.coach.{branch.code}", "Ana", branch=branch))
        engagement = accepted_engagement(
            manager, party=person, product=make_coaching_product(manager), coach=coach
        )
        log_session(manager, engagement)
        loan = recent_loan(officer, manager, rules, borrower=consenting_person(officer))
        publication_select(actor=manager, platform=platform, loan=loan)


@pytest.fixture
def server_errors() -> list[str]:
    """Tracebacks of the exceptions the API let through (a 500), newest last."""
    return []


@pytest.fixture(params=PERSONAS)
def api_schema(request, db, praia, mindelo, manager, server_errors):
    """The served schema, set up to call the API in-process as the persona under test."""
    # schemathesis 4.32 renames ``node._nodeid`` per operation; pytest 9 keeps the id elsewhere.
    request.node._nodeid = request.node.nodeid
    _build_world(praia=praia, mindelo=mindelo, manager=manager)
    user = request.getfixturevalue(request.param)
    token = Token.objects.create(user=user)

    # Django's test client does the same: the test's transaction must survive every request.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)

    def record_exception(sender, request=None, **kwargs):
        server_errors.append(traceback.format_exc())

    got_request_exception.connect(record_exception, weak=False)
    try:
        # Every staff role may read the schema: each persona fetches it as a client would.
        authorization = {"Authorization": f"Token {token.key}"}
        schema = schemathesis.openapi.from_wsgi(
            "/api/v1/schema/", WSGIHandler(), headers=authorization
        )
        schema.config.update(headers=authorization)
        schema.config.generation.update(
            max_examples=FUZZ_EXAMPLES, deterministic=not IS_LONG_RUN, database="none"
        )
        schema.config.phases.update(phases=FUZZ_PHASES)
        if FUZZ_SEED:
            schema.config.seed = int(FUZZ_SEED)
        yield schema
    finally:
        got_request_exception.disconnect(record_exception)
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


schema = schemathesis.pytest.from_fixture("api_schema")


def _failure(case, response, server_errors: list[str]) -> str | None:
    status = response.status_code
    if status >= 500:
        detail = server_errors[-1] if server_errors else response.text[:500]
        return f"{status} server error\n{detail}"
    if 400 <= status < 500:
        content_type = ", ".join(response.headers.get("content-type", []))
        if not content_type.startswith("application/json"):
            return f"{status} with Content-Type {content_type!r}: {response.text[:300]!r}"
        try:
            json.loads(response.text)
        except ValueError:
            return f"{status} with a body that is not JSON: {response.text[:300]!r}"
    return None


@schema.parametrize()
@settings(
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_never_fails_with_5xx_and_4xx_are_json(case, server_errors):
    # given: a request made of generated data (valid and schema-violating)
    server_errors.clear()
    savepoint = transaction.savepoint()

    # when
    try:
        response = case.call()
    finally:
        # Every example starts from the same world, and a request that broke the transaction
        # (a database error) cannot poison the next one.
        transaction.savepoint_rollback(savepoint)

    # then
    problem = _failure(case, response, server_errors)
    assert problem is None, (
        f"{case.method} {case.formatted_path}: {problem}\n{case.as_curl_command()}"
    )
