import django.db.models.deletion
import django.utils.timezone
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("pipelines_app", "0015_client_request_id")]

    operations = [
        migrations.CreateModel(
            name="WebhookDelivery",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("url", models.CharField(max_length=2000)),
                (
                    "purpose",
                    models.CharField(
                        choices=[("run", "run notification"), ("notify_step", "notify step"), ("alert", "alert")],
                        max_length=16,
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("sending", "sending"),
                            ("delivered", "delivered"),
                            ("failed", "failed"),
                            ("refused", "refused"),
                        ],
                        default="sending",
                        max_length=16,
                    ),
                ),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("http_status", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("error", models.TextField(blank=True, help_text="Why the call was refused or failed.")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "alert",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="webhook_deliveries",
                        to="pipelines_app.alert",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="webhook_deliveries",
                        to="pipelines_app.pipelinerun",
                    ),
                ),
            ],
            options={"verbose_name_plural": "webhook deliveries", "ordering": ["-id"]},
        ),
    ]
