"""The two environments every installation starts with (DESIGN.md §7)."""

from django.db import migrations


def seed(apps, schema_editor):
    Environment = apps.get_model("pipelines_app", "Environment")
    Environment.objects.get_or_create(name="staging", defaults={"description": "Open: no approval needed."})
    Environment.objects.get_or_create(
        name="production",
        defaults={"description": "Protected: one reviewer must approve.", "approver_groups": ["reviewers"],
                  "min_approvals": 1},
    )


class Migration(migrations.Migration):
    dependencies = [("pipelines_app", "0003_datasets_pipelines_environments")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
