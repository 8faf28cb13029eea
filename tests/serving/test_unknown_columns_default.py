"""Migration 0021: environments ignore unknown columns by default now, as MLflow does, except those an admin had
set to refuse them (the environment form audits each field it changes)."""

import importlib

from django.apps import apps

from pipelines_app.models import AuditEvent, Environment

migration = importlib.import_module("pipelines_app.migrations.0021_environment_ignore_unknown_columns_by_default")


def test_environments_switch_to_ignoring_unless_an_admin_chose_to_refuse(db, admin_user):
    never_chosen = Environment.objects.create(name="dev", ignore_unknown_columns=False)
    chose_refusing = Environment.objects.create(name="strict", ignore_unknown_columns=False)
    chose_then_changed = Environment.objects.create(name="loose", ignore_unknown_columns=False)
    AuditEvent.objects.record(admin_user, "environment.created", chose_refusing, {"ignore_unknown_columns": False})
    AuditEvent.objects.record(admin_user, "environment.changed", never_chosen, {"public": True})
    AuditEvent.objects.record(admin_user, "environment.created", chose_then_changed, {"ignore_unknown_columns": False})
    AuditEvent.objects.record(admin_user, "environment.changed", chose_then_changed, {"ignore_unknown_columns": True})
    chose_then_changed.ignore_unknown_columns = False
    chose_then_changed.save(update_fields=["ignore_unknown_columns"])

    migration.ignore_unless_chosen(apps, None)

    # (The seeded staging and production are there or not, as earlier transactional tests left the tables.)
    ignoring = dict(
        Environment.objects.filter(name__in=["dev", "strict", "loose"]).values_list("name", "ignore_unknown_columns")
    )
    assert ignoring == {"dev": True, "strict": False, "loose": True}
    assert not Environment.objects.exclude(name="strict").filter(ignore_unknown_columns=False).exists()
