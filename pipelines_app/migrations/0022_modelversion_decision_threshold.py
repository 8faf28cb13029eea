from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines_app", "0021_environment_ignore_unknown_columns_by_default"),
    ]

    operations = [
        migrations.AddField(
            model_name="modelversion",
            name="decision_threshold",
            field=models.FloatField(
                blank=True,
                help_text="Positive when its probability is at least this (chosen by cost); else 0.5.",
                null=True,
            ),
        ),
    ]
