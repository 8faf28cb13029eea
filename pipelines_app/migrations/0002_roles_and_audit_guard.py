"""Create the four role groups; forbid UPDATE on audit rows in the database itself."""

from django.db import migrations

GROUPS = ["viewers", "editors", "reviewers", "admins"]

FORBID_UPDATE = {
    "postgresql": [
        """CREATE OR REPLACE FUNCTION pipelines_app_audit_append_only() RETURNS trigger AS $$
           BEGIN RAISE EXCEPTION 'audit events are append-only'; END; $$ LANGUAGE plpgsql""",
        """CREATE TRIGGER pipelines_app_audit_no_update BEFORE UPDATE ON pipelines_app_auditevent
           FOR EACH ROW EXECUTE FUNCTION pipelines_app_audit_append_only()""",
    ],
    "sqlite": [
        """CREATE TRIGGER pipelines_app_audit_no_update BEFORE UPDATE ON pipelines_app_auditevent
           BEGIN SELECT RAISE(ABORT, 'audit events are append-only'); END""",
    ],
}
ALLOW_UPDATE = {
    "postgresql": ["DROP TRIGGER IF EXISTS pipelines_app_audit_no_update ON pipelines_app_auditevent",
                   "DROP FUNCTION IF EXISTS pipelines_app_audit_append_only()"],
    "sqlite": ["DROP TRIGGER IF EXISTS pipelines_app_audit_no_update"],
}


def create_groups(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    for name in GROUPS:
        Group.objects.get_or_create(name=name)


def _run(statements):
    def run(apps, schema_editor):
        for sql in statements.get(schema_editor.connection.vendor, []):
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("pipelines_app", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(create_groups, migrations.RunPython.noop),
        # Deletes are forbidden by 0018_audit_guard_delete.
        migrations.RunPython(_run(FORBID_UPDATE), _run(ALLOW_UPDATE)),
    ]
