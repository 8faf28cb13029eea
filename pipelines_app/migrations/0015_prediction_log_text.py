from django.db import DatabaseError, migrations, transaction

COLUMNS = ("inputs", "predictions", "scores")


def to_text(apps, schema_editor):
    """PostgreSQL: the JSON columns become text (LZ4 where the server has it); other databases keep theirs."""
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("pipelines_app", "PredictionLog")._meta.db_table
    for column in COLUMNS:
        schema_editor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE text USING "{column}"::text')
        try:
            with transaction.atomic(using=schema_editor.connection.alias):
                schema_editor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" SET COMPRESSION lz4')
        except DatabaseError:
            pass


def to_json(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    table = apps.get_model("pipelines_app", "PredictionLog")._meta.db_table
    for column in COLUMNS:
        schema_editor.execute(f'ALTER TABLE "{table}" ALTER COLUMN "{column}" TYPE json USING "{column}"::json')


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines_app", "0014_rollup_group_positives"),
    ]

    operations = [migrations.RunPython(to_text, to_json)]
