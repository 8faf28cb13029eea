from django.db import models


class Rollup(models.Model):
    """What one deployment's version (in one role) served in one minute: counts and histograms that dashboards
    and drift read instead of the raw logs, so that a window costs the same at any traffic."""

    deployment = models.ForeignKey("Deployment", on_delete=models.CASCADE, related_name="rollups")
    model_version = models.ForeignKey("ModelVersion", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=10, default="primary")
    bucket = models.DateTimeField(help_text="Start of the minute.")
    requests = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    latency_counts = models.JSONField(default=list, help_text="Requests per latency bin (LATENCY_EDGES_MS).")
    score_counts = models.JSONField(default=list, help_text="Rows per score bin (SCORE_BINS over 0–1).")
    positives = models.PositiveIntegerField(default=0, help_text="Rows predicted as the positive label.")
    feature_counts = models.JSONField(default=dict, help_text="Feature → rows per bin (monitoring.bins).")

    class Meta:
        ordering = ["bucket"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "model_version", "role", "bucket"], name="one_rollup_per_minute"
            )
        ]
        indexes = [
            # Dashboards and drift read one deployment's buckets over a window.
            models.Index(fields=["deployment", "bucket"], name="rollup_deployment_bucket_idx"),
        ]

    def __str__(self):
        return f"{self.deployment} v{self.model_version_id} {self.role} {self.bucket:%Y-%m-%d %H:%M}"


class RollupCursor(models.Model):
    """How far the prediction logs have been folded into rollups (the last folded PredictionLog id)."""

    name = models.CharField(max_length=50, unique=True)
    last_id = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.name} at {self.last_id}"
