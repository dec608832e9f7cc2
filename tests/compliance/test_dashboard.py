"""The compliance manager's dashboard figures on a small world built through the real services.

The world (``world`` fixture), on the day the tests run (``today``); registry data is as of ten
days ago, fresh for 35 days:

- Offer A (social security paid, high; tax regular, medium) and offer B (social security paid,
  critical). Loans, all 12-month reference loans disbursed on 15 January 2026, no repayment:
  L1 (P1, A, 100,000, 33 days late), L2 (P2, A, 200,000, 5 days late), L5 (P5, A, 150,000),
  L3 (P3, B, 300,000) in Praia; L4 (P4, B, 120,000) in Mindelo.
- P1 owns a fishing enterprise; P2 lives on Sal, P4 on São Vicente, the others on Santiago.
  P1 and P5 are assigned to the field agent, P2 to the Praia loan officer, P4 to the Mindelo one.
- INPS: P1, P4, P5 irregular, P2 regular, P3 unknown. DNRE: P1, P5 regular (valid certificate),
  P2 irregular then regular (a second file), P3 only 100 days old (stale), P4 unknown.
  Bank BCA: P1 current; the others absent from its (exhaustive) monthly file: no facility.
- Cases: P1 social security (contacted after 2 h, called, solution agreed), P2 tax (contacted
  after 4 h, cured by the second DNRE file), P4 social security (contacted after 18 h, closed as
  escalated), P5 social security (called, not reached: open, not contacted).
- Service desk, Praia: two days ago 3 walk-ins (waits 10 and 30 min, services 15 and 10 min, one
  left), yesterday 1 (wait 4, service 16); Mindelo yesterday 1 (wait 20, service 11).
- A bank source whose token is not configured failed its pull today: unavailable since then.
"""

from __future__ import annotations

import dataclasses
import datetime
import uuid
from decimal import Decimal
from urllib.parse import parse_qs, urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import resolve
from django.utils import timezone

from accounting.chart import chart_install
from compliance.cases import (
    case_close,
    case_open,
    case_propose_solution,
    case_record_contact,
    requirement_create,
)
from compliance.choices import (
    CaseOutcome,
    CaseStatus,
    DeskReason,
    FollowUpKind,
    FollowUpOutcome,
    RequirementKind,
    RunTrigger,
    Severity,
    Solution,
    SourceKind,
    Transport,
)
from compliance.dashboards import (
    METRICS,
    DashboardFilters,
    Figure,
    dashboard_build,
    metric_rows,
)
from compliance.desk import desk_check_in, desk_finish, desk_mark_left, desk_start_service
from compliance.evaluation import evaluate_loans
from compliance.field import follow_up_record
from compliance.ingest import file_ingest, source_pull
from compliance.models import Case
from crm.choices import Island, LinkKind, Sector
from crm.services import party_link_create
from loans.services import refresh_loan_balances
from sandbox import data
from tests.compliance.factories import make_source
from tests.crm.factories import make_enterprise, make_person
from tests.loans.factories import active_loan, cash_product

D = Decimal


@dataclasses.dataclass
class World:
    today: datetime.date
    offer_a: object
    offer_b: object
    loans: dict
    parties: dict
    cases: dict
    failing_source: object


def _ingest(source, actor, rows: list[dict], fields) -> None:
    upload = SimpleUploadedFile(
        f"{source.code}-{uuid.uuid4().hex[:6]}.csv",
        data.csv_text(rows, fields).encode(),
        content_type="text/csv",
    )
    file_ingest(source=source, path_or_file=upload, actor=actor, trigger=RunTrigger.UPLOAD)


def _inps(party, as_of, *, irregular: bool) -> dict:
    return {
        "ssn": party.social_security_number,
        "nif": party.nif,
        "name": party.display_name,
        "as_of": as_of.isoformat(),
        "status": "irregular" if irregular else "regular",
        "months_in_arrears": 2 if irregular else 0,
        "amount_due": "9200.00" if irregular else "0.00",
        "currency": "CVE",
        "declared_employees": 3,
    }


def _dnre(party, as_of, *, irregular: bool, valid_until=None) -> dict:
    valid_until = valid_until or as_of + datetime.timedelta(days=80)
    return {
        "nif": party.nif,
        "name": party.display_name,
        "as_of": as_of.isoformat(),
        "status": "irregular" if irregular else "regular",
        "certificate_number": None if irregular else f"CRT-2026-{party.pk:06d}",
        "issued_on": None if irregular else (valid_until - datetime.timedelta(days=90)).isoformat(),
        "valid_until": None if irregular else valid_until.isoformat(),
        "tax_debt": "50000.00" if irregular else "0.00",
        "currency": "CVE",
    }


def _at(day: datetime.date, hour: int, minute: int) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def _desk_visit(actor, branch, *, checked_in, wait: int | None, service: int | None):
    visit = desk_check_in(
        actor=actor,
        branch=branch,
        reason=DeskReason.REPAYMENT,
        visitor_name="Walk-in visitor",
        now=checked_in,
    )
    if wait is None:
        return desk_mark_left(actor=actor, visit=visit)
    started = checked_in + datetime.timedelta(minutes=wait)
    visit = desk_start_service(actor=actor, visit=visit, now=started)
    return desk_finish(actor=actor, visit=visit, now=started + datetime.timedelta(minutes=service))


@pytest.fixture
def rules(praia, mindelo):
    return chart_install()


@pytest.fixture
def world(
    rules,
    praia,
    mindelo,
    loan_officer,
    branch_manager,
    outsider,
    field_agent,
    service_desk,
    compliance_officer,
    manager,
    monkeypatch,
    settings,
) -> World:
    settings.COMPLIANCE_HTTP_RETRIES = 0
    monkeypatch.delenv("DASHBOARD_TEST_TOKEN", raising=False)
    today = timezone.localdate()
    as_of = today - datetime.timedelta(days=10)
    officer = compliance_officer
    # offers and their requirements
    product_a = cash_product(loan_officer, rules)
    product_b = cash_product(loan_officer, rules)
    offer_a, offer_b = product_a.offer, product_b.offer
    for offer, kind, severity in (
        (offer_a, RequirementKind.SOCIAL_SECURITY_PAID, Severity.HIGH),
        (offer_a, RequirementKind.TAX_REGULAR, Severity.MEDIUM),
        (offer_b, RequirementKind.SOCIAL_SECURITY_PAID, Severity.CRITICAL),
    ):
        requirement_create(actor=officer, offer=offer, kind=kind, severity=severity)
    # borrowers and their loans
    people = {
        "P1": make_person(
            loan_officer, nif="100000001", social_security_number="700001", assigned_to=field_agent
        ),
        "P2": make_person(
            loan_officer,
            nif="100000002",
            social_security_number="700002",
            assigned_to=loan_officer,
            island="sal",
        ),
        "P3": make_person(loan_officer, nif="100000003", social_security_number="700003"),
        "P4": make_person(
            outsider,
            nif="100000004",
            social_security_number="700004",
            assigned_to=outsider,
            island="sao_vicente",
            municipality="São Vicente",
        ),
        "P5": make_person(
            loan_officer, nif="100000005", social_security_number="700005", assigned_to=field_agent
        ),
    }
    fishing = make_enterprise(loan_officer, nif="200000001", sector=Sector.FISHING)
    party_link_create(
        actor=loan_officer, from_party=people["P1"], to_party=fishing, kind=LinkKind.OWNER
    )
    loans = {
        "L1": active_loan(
            loan_officer, branch_manager, product_a, borrower=people["P1"], principal="100000"
        ),
        "L2": active_loan(
            loan_officer, branch_manager, product_a, borrower=people["P2"], principal="200000"
        ),
        "L3": active_loan(
            loan_officer, branch_manager, product_b, borrower=people["P3"], principal="300000"
        ),
        "L4": active_loan(outsider, manager, product_b, borrower=people["P4"], principal="120000"),
        "L5": active_loan(
            loan_officer, branch_manager, product_a, borrower=people["P5"], principal="150000"
        ),
    }
    # the arrears position: L1 33 days late, L2 5 days, the others up to date
    for name, day in (("L1", (2026, 3, 20)), ("L2", (2026, 2, 20))):
        refresh_loan_balances(loans[name], as_of=datetime.date(*day))
    for name in ("L3", "L4", "L5"):
        refresh_loan_balances(loans[name], as_of=datetime.date(2026, 1, 20))
    # registry data
    inps = make_source(SourceKind.SOCIAL_SECURITY, code="inps", name="INPS")
    dnre = make_source(SourceKind.REVENUE, code="dnre", name="DNRE")
    bca = make_source(SourceKind.BANK, code="bank-bca", name="Bank BCA", bank_code="BCA")
    failing = make_source(
        SourceKind.BANK,
        code="bank-cecv",
        name="Bank CECV",
        bank_code="CECV",
        transport=Transport.HTTP,
        base_url="http://127.0.0.1:9",
        token_env="DASHBOARD_TEST_TOKEN",
    )
    _ingest(
        inps,
        officer,
        [
            _inps(people["P1"], as_of, irregular=True),
            _inps(people["P2"], as_of, irregular=False),
            _inps(people["P4"], as_of, irregular=True),
            _inps(people["P5"], as_of, irregular=True),
        ],
        data.SOCIAL_SECURITY_FIELDS,
    )
    _ingest(
        dnre,
        officer,
        [
            _dnre(people["P1"], as_of, irregular=False),
            _dnre(people["P2"], as_of, irregular=True),
            _dnre(people["P3"], today - datetime.timedelta(days=100), irregular=False),
            _dnre(people["P5"], as_of, irregular=False),
        ],
        data.REVENUE_FIELDS,
    )
    _ingest(
        bca,
        officer,
        [
            {
                "bank_code": "BCA",
                "nif": people["P1"].nif,
                "account": "BCA-100001",
                "as_of": as_of.isoformat(),
                "outstanding": "50000.00",
                "currency": "CVE",
                "days_past_due": 0,
                "status": "current",
            }
        ],
        data.BANK_FIELDS,
    )
    source_pull(source=failing, trigger=RunTrigger.ON_DEMAND, actor=officer)
    evaluate_loans(today=today)
    cases = {
        name: Case.objects.get(party=people[party], kind=kind)
        for name, party, kind in (
            ("P1", "P1", RequirementKind.SOCIAL_SECURITY_PAID),
            ("P2", "P2", RequirementKind.TAX_REGULAR),
            ("P4", "P4", RequirementKind.SOCIAL_SECURITY_PAID),
            ("P5", "P5", RequirementKind.SOCIAL_SECURITY_PAID),
        )
    }
    # working the cases
    for name, actor, hours in (
        ("P1", field_agent, 2),
        ("P2", loan_officer, 4),
        ("P4", outsider, 18),
    ):
        case = cases[name]
        case_record_contact(
            actor=actor, case=case, at=case.opened_at + datetime.timedelta(hours=hours)
        )
    follow_up_record(
        actor=field_agent,
        client_uuid=uuid.uuid4(),
        party=people["P1"],
        kind=FollowUpKind.CALL,
        outcome=FollowUpOutcome.WILL_REGULARISE,
        case=cases["P1"],
    )
    follow_up_record(
        actor=field_agent,
        client_uuid=uuid.uuid4(),
        party=people["P5"],
        kind=FollowUpKind.VISIT,
        outcome=FollowUpOutcome.NOT_REACHED,
        case=cases["P5"],
    )
    case_propose_solution(
        actor=field_agent,
        case=cases["P1"],
        solution=Solution.SOCIAL_SECURITY_PLAN,
        notes="Two instalments agreed with INPS.",
    )
    _ingest(
        dnre,
        officer,
        [_dnre(people["P2"], as_of + datetime.timedelta(days=1), irregular=False)],
        data.REVENUE_FIELDS,
    )
    evaluate_loans(today=today)
    case_close(actor=officer, case=cases["P4"], outcome=CaseOutcome.ESCALATED)
    # the service desks
    two_days_ago, yesterday = today - datetime.timedelta(days=2), today - datetime.timedelta(days=1)
    _desk_visit(service_desk, praia, checked_in=_at(two_days_ago, 9, 0), wait=10, service=15)
    _desk_visit(service_desk, praia, checked_in=_at(two_days_ago, 9, 5), wait=30, service=10)
    _desk_visit(service_desk, praia, checked_in=_at(two_days_ago, 9, 20), wait=None, service=None)
    _desk_visit(service_desk, praia, checked_in=_at(yesterday, 10, 0), wait=4, service=16)
    _desk_visit(manager, mindelo, checked_in=_at(yesterday, 10, 0), wait=20, service=11)
    for case in cases.values():
        case.refresh_from_db()
    return World(today, offer_a, offer_b, loans, people, cases, failing)


def _filters(user, world: World, **overrides) -> DashboardFilters:
    """The whole recent past: cases may be contacted "tomorrow" when a test runs near midnight."""
    values = {
        "date_from": world.today - datetime.timedelta(days=7),
        "date_to": world.today + datetime.timedelta(days=1),
        "today": world.today,
        **overrides,
    }
    return DashboardFilters(user=user, **values)


def _figures(value, path="dashboard"):
    """Every ``Figure`` in the dashboard, with where it sits."""
    if isinstance(value, Figure):
        yield path, value
    elif dataclasses.is_dataclass(value) and not isinstance(value, type):
        for item in dataclasses.fields(value):
            if item.name != "filters":
                yield from _figures(getattr(value, item.name), f"{path}.{item.name}")
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _figures(item, f"{path}[{key}]")
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _figures(item, f"{path}[{index}]")


def _drilldown(filters: DashboardFilters, figure: Figure):
    """The rows a figure's link lists, through the same selector as the drill-down page."""
    url = urlsplit(figure.url)
    query = parse_qs(url.query)
    slug = resolve(url.path).kwargs["metric"]
    assert query["date_from"] == [filters.date_from.isoformat()]
    return metric_rows(filters, slug, query.get("key", [""])[0])


# --- each figure's exact value ----------------------------------------------------------------


def test_coverage_counts_fresh_stale_and_unknown_data_per_source_kind(world, manager):
    # when
    dashboard = dashboard_build(_filters(manager, world))
    # then
    assert dashboard.active_loans.count == 5
    assert [
        (row.kind, row.fresh.count, row.stale.count, row.unknown.count, row.fresh_share)
        for row in dashboard.coverage
    ] == [
        (SourceKind.SOCIAL_SECURITY, 4, 0, 1, D("0.8000")),
        (SourceKind.REVENUE, 3, 1, 1, D("0.6000")),
        (SourceKind.BANK, 5, 0, 0, D("1.0000")),
    ]
    assert dashboard.coverage[0].fresh_share.percent == "80.00 %"


def test_non_compliance_by_offer_island_sector_and_agent(world, manager, field_agent, outsider):
    # when
    dashboard = dashboard_build(_filters(manager, world))
    # then: open cases of P1 and P5; non-compliant checks of L1, L5 (offer A) and L4 (offer B)
    assert (dashboard.open_cases.count, dashboard.non_compliant_checks.count) == (2, 3)

    def table(dimension):
        return {
            row.label: (row.open_cases.count, row.non_compliant_checks.count)
            for row in dashboard.non_compliance[dimension]
        }

    assert table("offer") == {world.offer_a.name: (2, 2), world.offer_b.name: (0, 1)}
    assert table("island") == {Island.SANTIAGO.label: (2, 2), Island.SAO_VICENTE.label: (0, 1)}
    assert table("sector") == {str(Sector.FISHING.label): (1, 1), "Sector not recorded": (1, 2)}
    assert table("agent") == {field_agent.display_name: (2, 2), outsider.display_name: (0, 1)}


def test_par_by_offer_from_the_loans_balances(world, manager):
    # when
    par = dashboard_build(_filters(manager, world)).par
    # then: offer A holds 450,000 of which 300,000 late (L1, L2) and 100,000 over 30 days (L1)
    assert [
        (
            row.offer,
            row.currency,
            row.loans.count,
            row.outstanding_principal,
            row.par1,
            row.par30,
            row.par90,
            row.par1_loans.count,
            row.par30_loans.count,
            row.par90_loans.count,
        )
        for row in par
    ] == [
        (world.offer_a.name, "CVE", 3, D("450000.00"), D("0.6667"), D("0.2222"), D("0"), 2, 1, 0),
        (world.offer_b.name, "CVE", 2, D("420000.00"), D("0"), D("0"), D("0"), 0, 0, 0),
    ]
    assert [
        loan.number
        for loan in metric_rows(_filters(manager, world), "par30", f"offer:{par[0].key}")
    ] == [world.loans["L1"].number]


def test_detection_to_first_contact_and_cure_rate(world, manager):
    # when
    dashboard = dashboard_build(_filters(manager, world))
    # then: contacts 2 h, 4 h and 18 h after detection; P5 not reached yet
    delays = dashboard.delays
    assert (delays.opened.count, delays.contacted.count, delays.not_contacted.count) == (4, 3, 1)
    assert (delays.median_hours, delays.average_hours) == (D("4.0"), D("8.0"))
    assert (delays.median_days, delays.average_days) == (D("0.2"), D("0.3"))
    # P2 cured by the second DNRE file, P4 escalated
    cure = dashboard.cure
    assert (cure.closed.count, cure.cured.count, cure.rate) == (2, 1, D("0.5000"))
    assert {case.number for case in metric_rows(_filters(manager, world), "cases-cured")} == {
        world.cases["P2"].number
    }
    assert world.cases["P2"].outcome == CaseOutcome.CURED
    assert world.cases["P1"].status == CaseStatus.SOLUTION_AGREED


def test_desk_volumes_and_waiting_times_per_day(world, manager):
    # when
    dashboard = dashboard_build(_filters(manager, world))
    # then
    rows = [
        (
            row.day,
            row.visits.count,
            row.left.count,
            row.waited.count,
            row.average_wait_minutes,
            row.median_wait_minutes,
            row.average_service_minutes,
        )
        for row in [*dashboard.desk, dashboard.desk_total]
    ]
    two_days_ago = world.today - datetime.timedelta(days=2)
    yesterday = world.today - datetime.timedelta(days=1)
    assert rows == [
        (two_days_ago, 3, 1, 2, D("20.0"), D("20.0"), D("12.5")),
        (yesterday, 2, 0, 2, D("12.0"), D("12.0"), D("13.5")),
        (None, 5, 1, 4, D("16.0"), D("15.0"), D("13.0")),
    ]


def test_agent_productivity_and_source_health(world, manager, field_agent, loan_officer, outsider):
    # when
    dashboard = dashboard_build(_filters(manager, world))
    # then
    assert [
        (row.agent, row.follow_ups.count, row.cases_contacted.count, row.cases_closed.count)
        for row in dashboard.agents
    ] == [
        (field_agent.display_name, 2, 1, 0),
        (loan_officer.display_name, 0, 1, 1),
        (outsider.display_name, 0, 1, 1),
    ]
    health = {row.source.code: row for row in dashboard.sources}
    assert set(health) == {"inps", "dnre", "bank-bca", "bank-cecv"}
    assert [code for code, row in health.items() if not row.is_available] == ["bank-cecv"]
    assert health["bank-cecv"].source.unavailable_since is not None
    assert health["bank-cecv"].failures.count == 1
    assert health["inps"].failures.count == 0


# --- the numbers are the lists ----------------------------------------------------------------


def test_every_dashboard_number_equals_the_length_of_its_drill_down_list(world, manager):
    # given
    filters = _filters(manager, world)
    dashboard = dashboard_build(filters)
    figures = list(_figures(dashboard))
    # when
    mismatches = [
        (where, figure.count, _drilldown(filters, figure).count())
        for where, figure in figures
        if figure.count != _drilldown(filters, figure).count()
    ]
    # then: every metric is shown, most of them with rows behind
    assert mismatches == []
    shown = {resolve(urlsplit(figure.url).path).kwargs["metric"] for _where, figure in figures}
    assert shown == set(METRICS)
    assert sum(1 for _where, figure in figures if figure.count) >= 40


def test_a_group_key_lists_only_its_rows(world, manager, field_agent):
    # given
    filters = _filters(manager, world)
    # when
    by_agent = metric_rows(filters, "open-cases", f"agent:{field_agent.pk}")
    unassigned = metric_rows(filters, "open-cases", "agent:")
    nonsense = metric_rows(filters, "open-cases", "island:'; drop table")
    # then
    assert {case.party.nif for case in by_agent} == {"100000001", "100000005"}
    assert (unassigned.count(), nonsense.count()) == (0, 0)
    with pytest.raises(KeyError):
        metric_rows(filters, "open-cases", "planet:mars")


# --- filters and scoping ----------------------------------------------------------------------


def test_the_offer_branch_and_period_filters(world, manager, praia, mindelo):
    # when
    by_offer = dashboard_build(_filters(manager, world, offer=world.offer_b))
    by_branch = dashboard_build(_filters(manager, world, branch=mindelo))
    last_week = dashboard_build(
        _filters(
            manager,
            world,
            date_from=world.today - datetime.timedelta(days=7),
            date_to=world.today - datetime.timedelta(days=2),
        )
    )
    # then: offer B is L3 and L4; its one case (P4) was closed
    assert (by_offer.active_loans.count, by_offer.non_compliant_checks.count) == (2, 1)
    assert (by_offer.cure.closed.count, by_offer.open_cases.count) == (1, 0)
    assert by_offer.desk_total.visits.count == 5  # the desk is not tied to an offer
    # Mindelo: L4 only, its escalated case, its one desk visit
    assert (by_branch.active_loans.count, by_branch.cure.closed.count) == (1, 1)
    assert by_branch.desk_total.visits.count == 1
    # up to two days ago: no case opened, closed or contacted; the first desk day only
    assert (last_week.delays.contacted.count, last_week.cure.closed.count) == (0, 0)
    assert last_week.agents == []
    assert last_week.desk_total.visits.count == 3
    # position figures do not depend on the period
    assert (last_week.open_cases.count, last_week.active_loans.count) == (2, 5)


def test_a_branch_officer_sees_only_their_branch(world, outsider, loan_officer):
    # when
    mindelo = dashboard_build(_filters(outsider, world))
    praia = dashboard_build(_filters(loan_officer, world))
    # then
    assert (mindelo.active_loans.count, mindelo.non_compliant_checks.count) == (1, 1)
    assert (mindelo.open_cases.count, mindelo.cure.closed.count) == (0, 1)
    assert mindelo.desk_total.visits.count == 1
    assert [row.offer for row in mindelo.par] == [world.offer_b.name]
    assert {loan.number for loan in metric_rows(_filters(outsider, world), "active-loans")} == {
        world.loans["L4"].number
    }
    assert (praia.active_loans.count, praia.open_cases.count, praia.desk_total.visits.count) == (
        4,
        2,
        4,
    )


def test_nothing_for_a_role_without_the_compliance_view(world, service_desk):
    # when
    dashboard = dashboard_build(_filters(service_desk, world))
    # then
    assert (dashboard.active_loans.count, dashboard.non_compliant_checks.count) == (0, 0)
    assert all(figure.count == 0 for _where, figure in _figures(dashboard))


# --- cost -------------------------------------------------------------------------------------


def _cases(actor, numbers: range) -> None:
    """Open cases of new parties spread over islands and issues."""
    islands = [Island.SANTIAGO, Island.SAL, Island.FOGO, Island.MAIO, Island.BRAVA]
    kinds = [RequirementKind.SOCIAL_SECURITY_PAID, RequirementKind.TAX_REGULAR]
    for number in numbers:
        party = make_person(actor, nif=f"3{number:08d}", island=islands[number % len(islands)])
        case_open(party=party, kind=kinds[number % 2], severity=Severity.HIGH, actor=actor)


def _dashboard_queries(user, today: datetime.date) -> int:
    filters = DashboardFilters(user=user, date_from=today, date_to=today, today=today)
    with CaptureQueriesContext(connection) as queries:
        dashboard_build(filters)
    return len(queries)


def test_the_number_of_queries_does_not_grow_with_the_data(rules, branch_manager, manager):
    # given
    today = timezone.localdate()
    _cases(branch_manager, range(5))
    with_five = _dashboard_queries(manager, today)
    _cases(branch_manager, range(5, 50))
    # when
    with_fifty = _dashboard_queries(manager, today)
    # then
    assert Case.objects.count() == 50
    assert with_fifty == with_five <= 25
