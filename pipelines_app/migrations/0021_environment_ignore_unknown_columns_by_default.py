# Columns a model does not know are ignored by default, as `mlflow models serve` ignores them (DESIGN.md §7);
# an environment can still refuse them.
#
# Refusing was the default until now, so an environment that refuses may never have chosen to. Every environment
# is switched to ignoring, except those whose last recorded change (the environment form audits the fields it
# changes) set refusing explicitly.

from django.db import migrations, models


def ignore_unless_chosen(apps, schema_editor):
    Environment = apps.get_model("pipelines_app", "Environment")
    AuditEvent = apps.get_model("pipelines_app", "AuditEvent")
    chosen = {}
    events = AuditEvent.objects.filter(
        object_type="environment", verb__in=["environment.created", "environment.changed"]
    ).order_by("id")
    for object_id, payload in events.values_list("object_id", "payload"):
        if isinstance(payload, dict) and "ignore_unknown_columns" in payload:
            chosen[object_id] = payload["ignore_unknown_columns"]
    refusing = [int(pk) for pk, ignore in chosen.items() if ignore is False and pk.isdigit()]
    Environment.objects.exclude(pk__in=refusing).update(ignore_unknown_columns=True)


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines_app", "0020_alertrule_feature_drift"),
    ]

    operations = [
        migrations.AlterField(
            model_name="environment",
            name="ignore_unknown_columns",
            field=models.BooleanField(
                default=True,
                help_text="Serving ignores columns the model does not know (naming them in the X-Ignored-Columns "
                "header); unticked, it refuses the request.",
            ),
        ),
        migrations.RunPython(ignore_unless_chosen, migrations.RunPython.noop),
    ]
