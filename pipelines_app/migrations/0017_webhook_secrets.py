"""Webhook secrets sealed at rest, and a previous secret kept through a grace period after a rotation.

Existing secrets are sealed in place under the renamed column, so senders keep signing with the secret they have.
"""

from django.db import migrations, models

from pipelines_app.models.pipelines import new_sealed_webhook_secret, new_webhook_secret, open_secret, seal_secret


def seal_existing(apps, schema_editor):
    Pipeline = apps.get_model("pipelines_app", "Pipeline")
    for pk, secret in Pipeline.objects.values_list("pk", "sealed_webhook_secret"):
        Pipeline.objects.filter(pk=pk).update(sealed_webhook_secret=seal_secret(secret))


def open_existing(apps, schema_editor):
    # Back to the 64-character column: a secret that cannot be opened gets a new one (its senders must re-sign).
    Pipeline = apps.get_model("pipelines_app", "Pipeline")
    for pk, sealed in Pipeline.objects.values_list("pk", "sealed_webhook_secret"):
        secret = open_secret(sealed) or new_webhook_secret()
        Pipeline.objects.filter(pk=pk).update(sealed_webhook_secret=secret)


class Migration(migrations.Migration):
    dependencies = [("pipelines_app", "0016_outbox")]

    operations = [
        migrations.RenameField(model_name="pipeline", old_name="webhook_secret", new_name="sealed_webhook_secret"),
        migrations.AlterField(
            model_name="pipeline",
            name="sealed_webhook_secret",
            field=models.TextField(default=new_webhook_secret),
        ),
        migrations.RunPython(seal_existing, open_existing),
        migrations.AlterField(
            model_name="pipeline",
            name="sealed_webhook_secret",
            field=models.TextField(default=new_sealed_webhook_secret),
        ),
        migrations.AddField(
            model_name="pipeline",
            name="sealed_previous_webhook_secret",
            field=models.TextField(blank=True),
        ),
        migrations.AddField(
            model_name="pipeline",
            name="previous_webhook_secret_until",
            field=models.DateTimeField(blank=True, null=True),
        ),
    ]
