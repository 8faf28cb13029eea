from django.db import DatabaseError, migrations, transaction

import pipelines_app.models.serving

COLUMNS = ("inputs", "predictions", "scores")


def compress_with_lz4(apps, schema_editor):
    """LZ4 where the server was built with it (PostgreSQL 14+); otherwise the default compression stays.

    The AlterFields before it make the three columns ``text`` on PostgreSQL (``LogJSONField.db_type``)."""
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("pipelines_app", "PredictionLog")._meta.db_table
    for column in COLUMNS:
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                schema_editor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION lz4')
        except DatabaseError:
            return


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines_app", "0011_label_latency"),
    ]

    operations = [
        migrations.AlterField(
            model_name="predictionlog",
            name="inputs",
            field=pipelines_app.models.serving.LogJSONField(
                default=dict, help_text="Feature → list of values, one per row (null: missing)."
            ),
        ),
        migrations.AlterField(
            model_name="predictionlog",
            name="predictions",
            field=pipelines_app.models.serving.LogJSONField(default=list),
        ),
        migrations.AlterField(
            model_name="predictionlog",
            name="scores",
            field=pipelines_app.models.serving.LogJSONField(
                blank=True, help_text="Probability of the positive class per row.", null=True
            ),
        ),
        migrations.RunPython(compress_with_lz4, migrations.RunPython.noop),
    ]
