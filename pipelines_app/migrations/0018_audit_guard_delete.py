"""Forbid DELETE on audit rows in the database itself, as 0002 forbids UPDATE.

Removing the newest rows leaves no break in the hash chain, so the chain alone cannot show it (anchors can,
``verify_audit --against``); the trigger stops it for anyone short of the schema's owner. PostgreSQL's TRUNCATE
fires no row trigger, which is how the test suite empties tables between tests there; on SQLite the suite lifts
this trigger around its flush (tests/conftest.py).
"""

from django.db import migrations

FORBID_DELETE = {
    "postgresql": [
        # The function 0002 created raises 'audit events are append-only'.
        """CREATE TRIGGER pipelines_app_audit_no_delete BEFORE DELETE ON pipelines_app_auditevent
           FOR EACH ROW EXECUTE FUNCTION pipelines_app_audit_append_only()""",
    ],
    "sqlite": [
        """CREATE TRIGGER pipelines_app_audit_no_delete BEFORE DELETE ON pipelines_app_auditevent
           BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    ],
}
ALLOW_DELETE = {
    "postgresql": ["DROP TRIGGER IF EXISTS pipelines_app_audit_no_delete ON pipelines_app_auditevent"],
    "sqlite": ["DROP TRIGGER IF EXISTS pipelines_app_audit_no_delete"],
}


def _run(statements):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [("pipelines_app", "0017_webhook_secrets")]

    operations = [migrations.RunPython(_run(FORBID_DELETE), _run(ALLOW_DELETE))]
