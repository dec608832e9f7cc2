"""Make the audit trail append-only in the database itself: UPDATE and DELETE raise.

TRUNCATE (a table owner's maintenance statement, also used by test database flushes) is left to
database privileges: production runs the application under a role that is not the table owner.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_event_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_auditevent_append_only
    BEFORE UPDATE OR DELETE ON audit_auditevent
    FOR EACH ROW EXECUTE FUNCTION audit_event_is_append_only();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS audit_auditevent_append_only ON audit_auditevent;
DROP FUNCTION IF EXISTS audit_event_is_append_only();
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0002_foreign_keys")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
