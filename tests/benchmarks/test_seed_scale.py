"""``seed_scale`` at a small size: the data it builds passes the ledger's own rules, reconciles
with the loans, has loans in every state, and its checks catch what they are there to catch."""

from __future__ import annotations

import datetime

import pytest
from django.core.management import CommandError, call_command
from django.db import connection, transaction
from django.db.models import Count

from accounting.models import JournalEntry
from accounting.selectors import movements_mismatches, trial_balance
from loans.choices import LoanStatus
from loans.models import EndOfDayRun, Loan, LoanTransaction, PortfolioSnapshot
from loans.portfolio import loans_reconciliation
from mfi.scale import checks
from mfi.scale.bulk import triggers_suspended
from mfi.scale.seed import BULK_TABLES
from tests.benchmarks.scale import seeded_database

LOANS = 200


@pytest.fixture(scope="module")
def seeded(django_db_setup, django_db_blocker):
    with seeded_database(django_db_blocker, loans=LOANS, compliance=True) as result:
        yield result


def test_the_seed_builds_the_loans_asked_for_in_every_state(seeded, db):
    # given the seeded database
    # when the loans are counted per status
    statuses = set(Loan.objects.values_list("status", flat=True))
    # then there are exactly the loans asked for, in every state of the life cycle
    assert Loan.objects.count() == LOANS
    assert statuses == set(LoanStatus.values)


def test_the_ledger_reconciles_with_the_loans_and_balances(seeded, db):
    # given the seeded database
    # when the platform's own reconciliation and trial balance run on the last business date
    results = {
        currency: loans_reconciliation(as_of=seeded.as_of, currency=currency)
        for currency in ("CVE", "XOF")
    }
    balances = {
        currency: trial_balance(as_of=seeded.as_of, currency=currency)
        for currency in ("CVE", "XOF")
    }
    # then the general ledger equals the loans' outstanding principal to the cent, and every
    # trial balance balances
    for currency in ("CVE", "XOF"):
        assert results[currency]["gl_balance"] > 0
        assert results[currency]["difference"] == 0
        assert balances[currency].total_debit == balances[currency].total_credit
    assert movements_mismatches() == 0


def test_every_ledger_rule_and_foreign_key_holds(seeded, db):
    # given the seeded database
    # when the set-based checks run
    rules = checks.ledger_rules()
    keys = checks.foreign_keys(BULK_TABLES)
    # then nothing breaks a rule, and entries are numbered 1..n in date order
    assert set(rules.values()) == {0}
    assert set(keys.values()) == {0}
    numbers = list(JournalEntry.objects.order_by("number").values_list("number", flat=True))
    assert numbers == list(range(1, len(numbers) + 1))


def test_the_last_end_of_day_ran_and_left_a_snapshot(seeded, db):
    # given the seeded database
    # when its end-of-day history is read
    last = EndOfDayRun.objects.order_by("-business_date").first()
    # then the last date ran for real (not seeded) and its PAR snapshot covers every loan on
    # the books; the history before it is one run a day
    assert last.business_date == seeded.as_of
    assert last.stats.get("seeded") is None
    on_books = Loan.objects.filter(status__in=("active", "overpaid")).count()
    snapshot = PortfolioSnapshot.objects.filter(business_date=seeded.as_of)
    assert sum(snapshot.values_list("loans_active", flat=True)) == on_books
    assert EndOfDayRun.objects.count() == (seeded.as_of - last.business_date).days + 731


def test_some_loans_are_late_and_one_has_many_transactions(seeded, db):
    # given the seeded database
    # when arrears and transactions are looked at
    late = Loan.objects.filter(days_past_due__gt=30).count()
    busiest = max(
        LoanTransaction.objects.values("loan_id")
        .annotate(count=Count("pk"))
        .values_list("count", flat=True)
    )
    # then the portfolio has arrears (PAR is not zero) and the split payers have many
    # transactions on one loan
    assert late > 0
    assert busiest > 40


def test_the_checks_catch_an_unbalanced_entry(seeded, db):
    # given a posted entry whose second line was changed behind the triggers' back
    entry = JournalEntry.objects.filter(status="posted").order_by("pk").first()
    with transaction.atomic():
        with triggers_suspended(["accounting_journalline"]), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE accounting_journalline SET debit = debit + 1 "
                "WHERE id = (SELECT MIN(id) FROM accounting_journalline "
                "WHERE entry_id = %s AND debit > 0)",
                [entry.pk],
            )
        # when the ledger rules are checked
        broken = checks.ledger_rules()
        transaction.set_rollback(True)
    # then exactly that entry is reported, and nothing else
    assert broken["unbalanced or one-line posted entries"] == 1
    assert sum(broken.values()) == 1


def test_the_checks_catch_a_line_pointing_at_no_account(seeded, db):
    # given a journal line whose account does not exist, written with foreign keys off
    with transaction.atomic():
        with triggers_suspended(["accounting_journalline"]), connection.cursor() as cursor:
            cursor.execute(
                "UPDATE accounting_journalline SET account_id = 999999 "
                "WHERE id = (SELECT MIN(id) FROM accounting_journalline)"
            )
        # when the foreign keys are checked
        broken = checks.foreign_keys(["accounting_journalline"])
        transaction.set_rollback(True)
    # then that one line is reported
    assert broken == {"accounting_journalline.account_id": 1, "accounting_journalline.entry_id": 0}


def test_the_command_refuses_a_database_that_has_loans(seeded, db):
    # given the seeded database
    # when seed_scale runs on it without --fresh
    # then it refuses and nothing is added
    with pytest.raises(CommandError, match="already holds loans"):
        call_command("seed_scale", loans=60, as_of=seeded.as_of - datetime.timedelta(days=1))
    assert Loan.objects.count() == LOANS


def test_the_borrowers_have_a_compliance_history(seeded, db):
    # given the seeded database
    from compliance.models import Case, ComplianceCheck, RegistryRecord

    borrowers = Loan.objects.values("borrower_id").distinct().count()
    # when its registry records, checks and cases are counted
    records = RegistryRecord.objects.count()
    # then every borrower has two months of social security and revenue records, the loans
    # were evaluated, and the borrowers behind on contributions or taxes have open cases
    assert records == borrowers * 2 * 2
    assert seeded.compliance["records_ingested"] == records
    assert ComplianceCheck.objects.filter(status="non_compliant").count() > 0
    assert Case.objects.filter(status="open").count() > 0
