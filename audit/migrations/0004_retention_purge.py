"""Audit events stay append-only, except for the retention purge: a DELETE passes only inside a
transaction that set ``mfi.audit_retention_purge = 'on'`` (``crm.privacy.retention_apply`` does,
for events past ``RETENTION_AUDIT_EVENTS_YEARS`` / ``RETENTION_ACCESS_LOG_MONTHS``). UPDATE is
always refused. This guards against accidental deletes; privileges guard against the rest.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION audit_event_is_append_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' AND current_setting('mfi.audit_retention_purge', true) = 'on' THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""

BACKWARD = """
CREATE OR REPLACE FUNCTION audit_event_is_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit events are append-only (% refused)', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [("audit", "0003_append_only_trigger")]

    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
