"""Carried balances: each branch's posted debits and credits per account up to the end of its
latest closed month, so balances "as of" a day add up one row per account plus the days since,
whatever the length of the ledger's history.

PostgreSQL keeps them, like the day movements: closing or reopening a month counts the branch's
carried balance again (a row trigger on closed periods); a posting dated on or before a branch's
carried day (a back-dated entry in an earlier month still open) drops it, until the next close
or reopen counts it again. The posting trigger takes a shared lock per branch and the count an
exclusive one, so a posting and a count never miss each other. A guard refuses direct writes;
``accounting_carried_rebuild()`` counts every branch again (after bulk loads).
"""

from decimal import Decimal

import django.db.models.deletion
from django.db import migrations, models

FORWARD = """
CREATE OR REPLACE FUNCTION accounting_carried_refresh(p_branch bigint) RETURNS void AS $$
DECLARE
    v_through date;
BEGIN
    -- postings of the branch wait (their shared lock) while its carried balance is counted
    PERFORM pg_advisory_xact_lock(p_branch::int, 0);
    PERFORM set_config('accounting.carrying', 'on', true);
    DELETE FROM accounting_carriedbalance WHERE branch_id = p_branch;
    SELECT (make_date(year, month, 1) + interval '1 month' - interval '1 day')::date
      INTO v_through
      FROM accounting_accountingperiod
     WHERE branch_id = p_branch
     ORDER BY year DESC, month DESC
     LIMIT 1;
    IF v_through IS NOT NULL THEN
        INSERT INTO accounting_carriedbalance
            (branch_id, through, account_id, currency, is_closing, debit, credit)
        SELECT p_branch, v_through, account_id, currency, is_closing, SUM(debit), SUM(credit)
          FROM accounting_accountdaymovement
         WHERE branch_id = p_branch AND day <= v_through
         GROUP BY account_id, currency, is_closing;
    END IF;
    PERFORM set_config('accounting.carrying', 'off', true);
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION accounting_carried_rebuild() RETURNS void AS $$
BEGIN
    PERFORM accounting_carried_refresh(id) FROM users_branch ORDER BY id;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION accounting_period_carried() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        PERFORM accounting_carried_refresh(OLD.branch_id);
    ELSE
        PERFORM accounting_carried_refresh(NEW.branch_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounting_accountingperiod_carried
    AFTER INSERT OR DELETE ON accounting_accountingperiod
    FOR EACH ROW EXECUTE FUNCTION accounting_period_carried();

-- Entries becoming posted: a shared lock per branch, then drop a carried balance that now
-- misses a back-dated posting.
CREATE OR REPLACE FUNCTION accounting_carried_drop_stale() RETURNS trigger AS $$
BEGIN
    PERFORM pg_advisory_xact_lock_shared(posted.branch_id::int, 0)
       FROM (SELECT DISTINCT n.branch_id
               FROM entries_after n JOIN entries_before o ON o.id = n.id
              WHERE n.status = 'posted' AND o.status <> 'posted'
              ORDER BY n.branch_id) posted;
    DELETE FROM accounting_carriedbalance c
     USING (SELECT n.branch_id, MIN(n.entry_date) AS first_day
              FROM entries_after n JOIN entries_before o ON o.id = n.id
             WHERE n.status = 'posted' AND o.status <> 'posted'
             GROUP BY n.branch_id) posted
     WHERE c.branch_id = posted.branch_id AND c.through >= posted.first_day;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounting_journalentry_carried
    AFTER UPDATE ON accounting_journalentry
    REFERENCING OLD TABLE AS entries_before NEW TABLE AS entries_after
    FOR EACH STATEMENT EXECUTE FUNCTION accounting_carried_drop_stale();

CREATE OR REPLACE FUNCTION accounting_carried_guard() RETURNS trigger AS $$
BEGIN
    IF pg_trigger_depth() < 2
       AND current_setting('accounting.carrying', true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION 'carried balances are kept by the ledger itself; close a month'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounting_carriedbalance_guard
    BEFORE INSERT OR UPDATE OR DELETE ON accounting_carriedbalance
    FOR EACH ROW EXECUTE FUNCTION accounting_carried_guard();

SELECT accounting_carried_rebuild();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS accounting_carriedbalance_guard ON accounting_carriedbalance;
DROP FUNCTION IF EXISTS accounting_carried_guard();
DROP TRIGGER IF EXISTS accounting_journalentry_carried ON accounting_journalentry;
DROP FUNCTION IF EXISTS accounting_carried_drop_stale();
DROP TRIGGER IF EXISTS accounting_accountingperiod_carried ON accounting_accountingperiod;
DROP FUNCTION IF EXISTS accounting_period_carried();
DROP FUNCTION IF EXISTS accounting_carried_rebuild();
DROP FUNCTION IF EXISTS accounting_carried_refresh(bigint);
"""


class Migration(migrations.Migration):
    dependencies = [
        ("accounting", "0005_account_day_movements"),
        ("users", "0002_approval_limit"),
    ]

    operations = [
        migrations.CreateModel(
            name="CarriedBalance",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("through", models.DateField(verbose_name="up to and including")),
                (
                    "currency",
                    models.CharField(
                        choices=[
                            ("CVE", "Cabo Verde escudo (CVE)"),
                            ("EUR", "Euro (EUR)"),
                            ("USD", "US dollar (USD)"),
                            ("XOF", "West African CFA franc (XOF)"),
                        ],
                        max_length=3,
                        verbose_name="currency",
                    ),
                ),
                ("is_closing", models.BooleanField(default=False, verbose_name="year-end closing")),
                (
                    "debit",
                    models.DecimalField(
                        decimal_places=4, default=Decimal("0"), max_digits=20, verbose_name="debit"
                    ),
                ),
                (
                    "credit",
                    models.DecimalField(
                        decimal_places=4, default=Decimal("0"), max_digits=20, verbose_name="credit"
                    ),
                ),
            ],
            options={
                "verbose_name": "balance carried from closed months",
            },
        ),
        migrations.AddIndex(
            model_name="accountdaymovement",
            index=models.Index(
                fields=["branch", "day"],
                include=("account", "currency", "is_closing", "debit", "credit"),
                name="acct_movement_branch_day",
            ),
        ),
        migrations.AddField(
            model_name="carriedbalance",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="accounting.account",
            ),
        ),
        migrations.AddField(
            model_name="carriedbalance",
            name="branch",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="users.branch",
            ),
        ),
        migrations.AddConstraint(
            model_name="carriedbalance",
            constraint=models.UniqueConstraint(
                fields=("branch", "through", "account", "currency", "is_closing"),
                name="accounting_carriedbalance_one_row_per_account",
            ),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
