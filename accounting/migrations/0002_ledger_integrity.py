"""The database itself guarantees the ledger's rules, whoever writes to it (ORM, raw SQL, psql):

* every journal entry balances (debits = credits, at least two lines) when its transaction commits:
  deferred constraint triggers on entries and lines;
* a posted or rejected entry, and its lines, can never change or disappear;
* no entry is posted into a closed month of its branch.

Services check the same rules first so people get a clear message; these triggers are the last word.
"""

from django.db import migrations

FORWARD = r"""
CREATE SEQUENCE accounting_journal_entry_number START 1;

CREATE OR REPLACE FUNCTION accounting_check_entry_balanced(p_entry_id bigint) RETURNS void AS $$
DECLARE
    v_debit numeric;
    v_credit numeric;
    v_lines integer;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM accounting_journalentry WHERE id = p_entry_id) THEN
        RETURN;  -- the entry itself was deleted (only drafts can be)
    END IF;
    SELECT COALESCE(SUM(debit), 0), COALESCE(SUM(credit), 0), COUNT(*)
      INTO v_debit, v_credit, v_lines
      FROM accounting_journalline WHERE entry_id = p_entry_id;
    IF v_lines < 2 THEN
        RAISE EXCEPTION 'journal entry % has % line(s); at least two are needed', p_entry_id, v_lines
            USING ERRCODE = 'check_violation';
    END IF;
    IF v_debit <> v_credit THEN
        RAISE EXCEPTION 'journal entry % is unbalanced: debits % <> credits %', p_entry_id, v_debit, v_credit
            USING ERRCODE = 'check_violation';
    END IF;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION accounting_line_balance_trigger() RETURNS trigger AS $$
BEGIN
    IF TG_OP IN ('UPDATE', 'DELETE') THEN
        PERFORM accounting_check_entry_balanced(OLD.entry_id);
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        PERFORM accounting_check_entry_balanced(NEW.entry_id);
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER accounting_journalline_balanced
    AFTER INSERT OR UPDATE OR DELETE ON accounting_journalline
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION accounting_line_balance_trigger();

CREATE OR REPLACE FUNCTION accounting_entry_balance_trigger() RETURNS trigger AS $$
BEGIN
    PERFORM accounting_check_entry_balanced(NEW.id);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE CONSTRAINT TRIGGER accounting_journalentry_balanced
    AFTER INSERT OR UPDATE ON accounting_journalentry
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION accounting_entry_balance_trigger();

CREATE OR REPLACE FUNCTION accounting_entry_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.status <> 'draft' THEN
            RAISE EXCEPTION 'journal entry % is %: it cannot be deleted (post a reversal)', OLD.id, OLD.status
                USING ERRCODE = 'insufficient_privilege';
        END IF;
        RETURN OLD;
    END IF;
    IF TG_OP = 'UPDATE' AND OLD.status <> 'draft' THEN
        RAISE EXCEPTION 'journal entry % is %: it cannot be changed (post a reversal)', OLD.id, OLD.status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF NEW.status = 'posted' AND EXISTS (
        SELECT 1 FROM accounting_accountingperiod p
         WHERE p.branch_id = NEW.branch_id
           AND p.year = EXTRACT(YEAR FROM NEW.entry_date)
           AND p.month = EXTRACT(MONTH FROM NEW.entry_date)) THEN
        RAISE EXCEPTION 'the period %-% of branch % is closed', EXTRACT(YEAR FROM NEW.entry_date),
            EXTRACT(MONTH FROM NEW.entry_date), NEW.branch_id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounting_journalentry_guard
    BEFORE INSERT OR UPDATE OR DELETE ON accounting_journalentry
    FOR EACH ROW EXECUTE FUNCTION accounting_entry_guard();

CREATE OR REPLACE FUNCTION accounting_line_guard() RETURNS trigger AS $$
DECLARE
    v_status text;
BEGIN
    SELECT status INTO v_status FROM accounting_journalentry
     WHERE id = CASE WHEN TG_OP = 'INSERT' THEN NEW.entry_id ELSE OLD.entry_id END;
    IF v_status IS NOT NULL AND v_status <> 'draft' THEN
        RAISE EXCEPTION 'lines of a % journal entry cannot be added, changed or deleted', v_status
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.entry_id <> OLD.entry_id THEN
        RAISE EXCEPTION 'a journal line cannot move to another entry'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER accounting_journalline_guard
    BEFORE INSERT OR UPDATE OR DELETE ON accounting_journalline
    FOR EACH ROW EXECUTE FUNCTION accounting_line_guard();
"""

BACKWARD = r"""
DROP TRIGGER IF EXISTS accounting_journalline_guard ON accounting_journalline;
DROP FUNCTION IF EXISTS accounting_line_guard();
DROP TRIGGER IF EXISTS accounting_journalentry_guard ON accounting_journalentry;
DROP FUNCTION IF EXISTS accounting_entry_guard();
DROP TRIGGER IF EXISTS accounting_journalentry_balanced ON accounting_journalentry;
DROP FUNCTION IF EXISTS accounting_entry_balance_trigger();
DROP TRIGGER IF EXISTS accounting_journalline_balanced ON accounting_journalline;
DROP FUNCTION IF EXISTS accounting_line_balance_trigger();
DROP FUNCTION IF EXISTS accounting_check_entry_balanced(bigint);
DROP SEQUENCE IF EXISTS accounting_journal_entry_number;
"""


class Migration(migrations.Migration):
    dependencies = [("accounting", "0001_ledger")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
