"""One guard for the tables the ledger keeps itself (day movements, carried balances): the
trigger passes the setting that lets the ledger's own functions through and the message for
anyone else, instead of a near-copy of the function per table."""

from django.db import migrations

GUARDS = (
    # table, setting turned on by the ledger's functions, message, guard function replaced
    (
        "accounting_accountdaymovement",
        "accounting.rebuilding_movements",
        "account movements are kept by the ledger itself; post a journal entry",
        "accounting_movement_guard",
    ),
    (
        "accounting_carriedbalance",
        "accounting.carrying",
        "carried balances are kept by the ledger itself; close a month",
        "accounting_carried_guard",
    ),
)

# the guard; the trigger arguments (forward) or literals (backward: the two functions it replaces)
GUARD = """
CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$
BEGIN
    IF pg_trigger_depth() < 2
       AND current_setting({setting}, true) IS DISTINCT FROM 'on' THEN
        RAISE EXCEPTION '%', {message} USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
"""

TRIGGER = """
DROP TRIGGER {table}_guard ON {table};
CREATE TRIGGER {table}_guard
    BEFORE INSERT OR UPDATE OR DELETE ON {table}
    FOR EACH ROW EXECUTE FUNCTION {call};
"""


def _forward() -> str:
    # TG_ARGV[0]: the setting the ledger's own functions turn on; TG_ARGV[1]: the refusal
    sql = [GUARD.format(name="accounting_kept_guard", setting="TG_ARGV[0]", message="TG_ARGV[1]")]
    for table, setting, message, function in GUARDS:
        call = f"accounting_kept_guard('{setting}', '{message}')"
        sql.append(TRIGGER.format(table=table, call=call))
        sql.append(f"DROP FUNCTION {function}();")
    return "\n".join(sql)


def _backward() -> str:
    sql = []
    for table, setting, message, function in GUARDS:
        sql.append(GUARD.format(name=function, setting=f"'{setting}'", message=f"'{message}'"))
        sql.append(TRIGGER.format(table=table, call=f"{function}()"))
    sql.append("DROP FUNCTION accounting_kept_guard();")
    return "\n".join(sql)


class Migration(migrations.Migration):
    dependencies = [("accounting", "0006_carried_balances")]

    operations = [migrations.RunSQL(_forward(), _backward())]
