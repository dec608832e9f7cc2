"""Every list page and list API of loans, accounting, CRM and coaching issues a fixed number of
queries, whatever the number of rows it lists (``django_assert_max_num_queries``).

The data is a ``seed_scale`` build (60 loans in three branches, their schedules, repayments,
journal entries, audit trail, coaching engagements and sessions, two years of end of day) plus
follow-up tasks recorded through the CRM services, made once for the module. Every list shows
at least ten rows, so one query per row would break the limits below."""

from __future__ import annotations

import datetime

import pytest
from django.db.models import Count
from django.utils import timezone

from accounting.choices import AccountRole
from accounting.models import Account
from crm.interactions import interaction_record
from crm.models import Party
from loans.models import Loan, LoanTransaction
from tests.benchmarks.scale import seeded_database
from users.models import User


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with seeded_database(django_db_blocker, loans=60) as result:
        with django_db_blocker.unblock():
            officer = User.objects.get(username="officer")
            tomorrow = timezone.localdate() + datetime.timedelta(days=1)
            for party in Party.objects.filter(branch=officer.branch).order_by("pk")[:12]:
                interaction_record(
                    actor=officer,
                    party=party,
                    kind="call",
                    summary="Reminder of the next installment",
                    next_action_date=tomorrow,
                    next_action_title="Call back about the installment",
                )
        yield result


def _ids():
    busiest = (
        LoanTransaction.objects.values("loan_id")
        .annotate(count=Count("pk"))
        .order_by("-count", "loan_id")
        .first()["loan_id"]
    )
    party = Loan.objects.get(pk=busiest).borrower_id
    cash = Account.objects.get(role=AccountRole.CASH, branch__code="praia").pk
    return {"loan": busiest, "party": party, "cash": cash}


PAGES = [
    # (user, url, most queries: what it takes today, plus one)
    ("officer", "/loans/?view=mine", 11),
    ("manager", "/loans/?view=all", 12),
    ("branchmanager", "/loans/?view=arrears", 12),
    ("branchmanager", "/loans/?view=due_today", 12),
    ("branchmanager", "/loans/approvals/", 9),
    ("manager", "/loans/catalogue/", 14),
    ("manager", "/loans/par/", 14),
    ("manager", "/loans/{loan}/", 17),
    ("manager", "/loans/{loan}/transactions/", 10),
    ("manager", "/loans/{loan}/history/", 10),
    ("accountant", "/accounting/", 10),
    ("accountant", "/accounting/accounts/", 8),
    ("accountant", "/accounting/entries/", 9),
    ("accountant", "/accounting/periods/", 10),
    ("accountant", "/accounting/reports/trial-balance/", 10),
    ("accountant", "/accounting/reports/general-ledger/?account={cash}", 13),
    ("accountant", "/accounting/reports/journal/", 12),
    ("accountant", "/accounting/reports/balance-sheet/", 10),
    ("accountant", "/accounting/reports/income-statement/", 10),
    ("officer", "/parties/", 11),
    ("officer", "/parties/tasks/", 10),
    ("officer", "/parties/leads/", 11),
    ("officer", "/parties/segments/", 8),
    ("manager", "/parties/{party}/history/", 11),
    ("manager", "/parties/{party}/timeline/", 18),
    ("manager", "/coaching/", 11),
    ("manager", "/coaching/products/", 8),
    ("manager", "/coaching/coaches/", 9),
    ("manager", "/coaching/invoices/", 8),
    ("manager", "/coaching/reports/volunteer-hours/", 9),
    ("manager", "/coaching/reports/activity/", 13),
    ("manager", "/coaching/reports/portfolio/", 12),
]

APIS = [
    ("manager", "/api/v1/loans/", 8),
    ("manager", "/api/v1/loans/portfolio-quality/", 8),
    ("accountant", "/api/v1/accounting/reconciliation/loans/", 10),
    ("accountant", "/api/v1/accounting/accounts/", 8),
    ("accountant", "/api/v1/accounting/entries/", 11),
    ("accountant", "/api/v1/accounting/trial-balance/", 9),
    ("accountant", "/api/v1/accounting/balance-sheet/", 9),
    ("manager", "/api/v1/parties/", 8),
    ("manager", "/api/v1/persons/", 8),
    ("manager", "/api/v1/enterprises/", 8),
    ("manager", "/api/v1/interactions/", 9),
    ("officer", "/api/v1/tasks/", 10),
    ("manager", "/api/v1/coaching/engagements/", 8),
    ("manager", "/api/v1/coaching/sessions/", 9),
    ("manager", "/api/v1/coaching/invoices/", 7),
]


@pytest.mark.parametrize(("username", "url", "most"), PAGES + APIS)
def test_a_list_issues_a_fixed_number_of_queries(
    seeded, db, client, django_assert_max_num_queries, username, url, most
):
    # given the seeded database and the user who reads this list
    client.force_login(User.objects.get(username=username))
    url = url.format(**_ids())
    client.get(url)  # sessions and caches warm, as for any later request
    # when the list is read
    with django_assert_max_num_queries(most):
        response = client.get(url)
    # then it answers, within its fixed number of queries
    assert response.status_code == 200
