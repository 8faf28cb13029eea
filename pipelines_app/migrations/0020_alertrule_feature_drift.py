# An alert rule on the number of features drifting at alert level (the demo's drift of one feature fires it).

from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("pipelines_app", "0019_step_time_limit"),
    ]

    operations = [
        migrations.AlterField(
            model_name="alertrule",
            name="metric",
            field=models.CharField(
                choices=[
                    ("drift_share", "share of features drifted"),
                    ("feature_psi", "PSI of one feature"),
                    ("feature_drift", "features drifting at alert level"),
                    ("roc_auc", "ROC AUC from feedback"),
                    ("accuracy", "accuracy from feedback"),
                    ("error_rate", "error rate"),
                    ("latency_p95", "latency p95 (ms)"),
                    ("volume_drop", "requests in the window fall to"),
                ],
                max_length=20,
            ),
        ),
    ]
