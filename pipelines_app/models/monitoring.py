from django.db import models


class Rollup(models.Model):
    """What one deployment's version (in one role) served in one minute, hour or day: counts and histograms that
    dashboards and drift read instead of the raw logs, so that a window costs the same at any traffic."""

    class Granularity(models.TextChoices):
        MINUTE = "minute", "minute"
        HOUR = "hour", "hour"
        DAY = "day", "day"

    deployment = models.ForeignKey("Deployment", on_delete=models.CASCADE, related_name="rollups")
    model_version = models.ForeignKey("ModelVersion", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    role = models.CharField(max_length=10, default="primary")
    granularity = models.CharField(max_length=6, choices=Granularity.choices, default=Granularity.MINUTE)
    bucket = models.DateTimeField(help_text="Start of the minute, hour or day (UTC).")
    requests = models.PositiveIntegerField(default=0)
    rows = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    latency_counts = models.JSONField(default=list, help_text="Requests per latency bin (LATENCY_EDGES_MS).")
    score_counts = models.JSONField(default=list, help_text="Rows per score bin (SCORE_BINS over 0–1).")
    positives = models.PositiveIntegerField(default=0, help_text="Rows predicted as the positive label.")
    feature_counts = models.JSONField(default=dict, help_text="Feature → rows per bin (monitoring.bins).")
    group_positives = models.JSONField(
        default=dict, help_text="Sensitive feature → rows predicted positive per bin (selection rate by group)."
    )

    class Meta:
        ordering = ["bucket"]
        constraints = [
            models.UniqueConstraint(
                fields=["deployment", "model_version", "role", "granularity", "bucket"], name="one_rollup_per_bucket"
            )
        ]
        indexes = [
            # Dashboards and drift read one deployment's buckets of one size over a window.
            models.Index(fields=["deployment", "granularity", "bucket"], name="rollup_deployment_bucket_idx"),
        ]

    def __str__(self):
        return f"{self.deployment} v{self.model_version_id} {self.role} {self.bucket:%Y-%m-%d %H:%M}"


class RollupCursor(models.Model):
    """How far the prediction logs have been folded into rollups (the last folded PredictionLog id)."""

    name = models.CharField(max_length=50, unique=True)
    last_id = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.name} at {self.last_id}"


class AlertRuleManager(models.Manager):
    def ensure_defaults(self, deployment):
        """Every deployment starts with drift share ≥ 0.5 and any one feature drifting at alert level over a day
        (both retrain), error rate ≥ 1% and latency p95 ≥ 500 ms, each telling the editors.

        The one-feature rule is there because drift seldom moves half the features at once: incomes rising by half
        drift one feature of nine. It reads a day, not an hour, so that a quiet hour's few rows neither raise nor
        clear it."""
        if deployment.alert_rules.exists():
            return
        defaults = [
            {"metric": AlertRule.Metric.DRIFT_SHARE, "threshold": 0.5, "trigger_retraining": True},
            {"metric": AlertRule.Metric.FEATURE_DRIFT, "threshold": 1, "window": "24h", "trigger_retraining": True},
            {"metric": AlertRule.Metric.ERROR_RATE, "threshold": 0.01},
            {"metric": AlertRule.Metric.LATENCY_P95, "threshold": 500},
        ]
        self.bulk_create(
            [
                self.model(deployment=deployment, notify=["group:editors"], **{"window": "1h", **rule})
                for rule in defaults
            ]
        )


class AlertRule(models.Model):
    """A condition on a deployment's monitoring summary, and what to do when it holds."""

    class Metric(models.TextChoices):
        DRIFT_SHARE = "drift_share", "share of features drifted"
        FEATURE_PSI = "feature_psi", "PSI of one feature"
        FEATURE_DRIFT = "feature_drift", "features drifting at alert level"
        ROC_AUC = "roc_auc", "ROC AUC from feedback"
        ACCURACY = "accuracy", "accuracy from feedback"
        ERROR_RATE = "error_rate", "error rate"
        LATENCY_P95 = "latency_p95", "latency p95 (ms)"
        VOLUME_DROP = "volume_drop", "requests in the window fall to"

    # Metrics that are bad when low; the rest are bad when high.
    FIRES_BELOW = {Metric.ROC_AUC, Metric.ACCURACY, Metric.VOLUME_DROP}

    deployment = models.ForeignKey("Deployment", on_delete=models.CASCADE, related_name="alert_rules")
    metric = models.CharField(max_length=20, choices=Metric.choices)
    feature = models.CharField(max_length=200, blank=True, help_text="For the PSI of one feature.")
    threshold = models.FloatField()
    window = models.CharField(max_length=10, default="1h", help_text="e.g. 30m, 1h, 24h")
    cooldown_minutes = models.PositiveIntegerField(default=60, help_text="No new alert this soon after the last.")
    notify = models.JSONField(default=list, blank=True, help_text="'group:<name>', e-mail addresses, 'webhook:<url>'.")
    trigger_retraining = models.BooleanField(
        default=False, help_text="Start the pipelines with a drift trigger that produce this model."
    )
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = AlertRuleManager()

    class Meta:
        ordering = ["deployment", "metric"]

    def __str__(self):
        subject = f"{self.feature} PSI" if self.metric == self.Metric.FEATURE_PSI else self.get_metric_display()
        return f"{subject} {'≤' if self.fires_below else '≥'} {self.threshold:g} over {self.window}"

    @property
    def fires_below(self):
        return self.metric in self.FIRES_BELOW

    def holds(self, value):
        if value is None:
            return False
        return value <= self.threshold if self.fires_below else value >= self.threshold


class AlertQuerySet(models.QuerySet):
    def firing(self):
        return self.filter(state=Alert.State.FIRING)

    def open(self):
        """Not yet resolved: firing ones first, then acknowledged, each newest first."""
        firing_first = models.Case(models.When(state=Alert.State.FIRING, then=0), default=1)
        return self.exclude(state=Alert.State.RESOLVED).order_by(firing_first, "-started_at", "-id")


class Alert(models.Model):
    """One firing of a rule: firing until the condition clears (resolved); someone may acknowledge it."""

    class State(models.TextChoices):
        FIRING = "firing", "firing"
        ACKNOWLEDGED = "acknowledged", "acknowledged"
        RESOLVED = "resolved", "resolved"

    rule = models.ForeignKey(AlertRule, on_delete=models.CASCADE, related_name="alerts")
    state = models.CharField(max_length=15, choices=State.choices, default=State.FIRING)
    value = models.FloatField(null=True)
    message = models.CharField(max_length=300)
    started_at = models.DateTimeField(auto_now_add=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    runs_started = models.JSONField(default=list, blank=True, help_text="Retraining runs this alert started.")

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        indexes = [
            # The alerts page and the overview ask for open alerts first.
            models.Index(fields=["state", "-started_at"], name="alert_state_idx"),
        ]

    def __str__(self):
        return f"{self.rule}: {self.state}"

    @property
    def open(self):
        return self.state != self.State.RESOLVED


class DriftReport(models.Model):
    """Drift computed exactly on the raw logs of a window against the training data, in a Celery job: for when
    the binned estimate from the rollups is not enough."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"

    deployment = models.ForeignKey("Deployment", on_delete=models.CASCADE, related_name="drift_reports")
    model_version = models.ForeignKey("ModelVersion", on_delete=models.CASCADE, related_name="+")
    window_start = models.DateTimeField()
    window_end = models.DateTimeField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    requested_by = models.ForeignKey("auth.User", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    rows = models.PositiveIntegerField(default=0)
    reference_rows = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"drift report {self.pk} ({self.status})"

    def get_absolute_url(self):
        from django.urls import reverse

        return reverse("drift-report", args=[self.pk])

    @property
    def finished(self):
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED)
