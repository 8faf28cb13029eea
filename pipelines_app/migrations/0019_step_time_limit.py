from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pipelines_app", "0018_audit_guard_delete")]

    operations = [
        migrations.AddField(
            model_name="steprun",
            name="time_limit_s",
            field=models.PositiveIntegerField(blank=True, null=True),
        ),
    ]
