from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pipelines_app", "0014_rollup_group_positives")]

    operations = [
        migrations.AddField(
            model_name="predictionlog",
            name="client_request_id",
            field=models.CharField(
                blank=True, help_text="The caller's X-Request-ID, as sent; not unique.", max_length=64, null=True
            ),
        ),
        migrations.AddIndex(
            model_name="predictionlog",
            index=models.Index(
                condition=models.Q(("client_request_id__isnull", False)),
                fields=["client_request_id"],
                name="prediction_client_id_idx",
            ),
        ),
    ]
