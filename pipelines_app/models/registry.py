from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone


class RegisteredModel(models.Model):
    """A model name in the registry; each training run adds a version."""

    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    label_latency_hours = models.PositiveIntegerField(
        default=0,
        help_text="How long true outcomes take to arrive (e.g. 720 for 30 days of credit defaults): realised "
        "performance only counts predictions at least this old.",
    )
    # Drift limits for this model's monitoring (warn, alert): the defaults are the ones DESIGN.md names.
    drift_psi_warn = models.FloatField(default=0.1, help_text="PSI at which a feature's drift warns.")
    drift_psi_alert = models.FloatField(default=0.25, help_text="PSI at which a feature's drift alerts.")
    drift_distance_warn = models.FloatField(
        default=0.1, help_text="Wasserstein (in standard deviations) or Jensen–Shannon distance that warns."
    )
    drift_distance_alert = models.FloatField(default=0.2, help_text="Distance at which a feature's drift alerts.")
    drift_share = models.FloatField(
        default=0.5, help_text="Share of drifted features (warn or alert) from which the data as a whole drifted."
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("model-detail", args=[self.name])

    def latest_version(self):
        return self.versions.order_by("-version").first()

    def drift_thresholds(self) -> dict:
        """The limits ``monitoring.drift`` takes."""
        return {
            "psi": (self.drift_psi_warn, self.drift_psi_alert),
            "distance": (self.drift_distance_warn, self.drift_distance_alert),
            "share": self.drift_share,
        }


def model_artifact_path(version, filename):
    return f"models/{version.model.name}/v{version.version}-{version.sha256[:12]}.skops"


class ModelVersion(models.Model):
    """A trained model: the skops artifact and its sha256, metrics, curves, lineage and the reference profile."""

    model = models.ForeignKey(RegisteredModel, on_delete=models.PROTECT, related_name="versions")
    version = models.PositiveIntegerField()
    # One training step run makes at most one version, however often it is retried.
    step_run = models.OneToOneField(
        "StepRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="model_version"
    )
    run = models.ForeignKey("PipelineRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    pipeline_version = models.ForeignKey(
        "PipelineVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    dataset_version = models.ForeignKey(
        "DatasetVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="model_versions"
    )
    artifact = models.FileField(upload_to=model_artifact_path, max_length=300)
    sha256 = models.CharField(max_length=64)
    task = models.CharField(max_length=20)
    target = models.CharField(max_length=200)
    target_info = models.JSONField(default=dict)
    estimator = models.CharField(max_length=200)
    params = models.JSONField(default=dict)
    features = models.JSONField(default=list)
    feature_schema = models.JSONField(default=list)
    reference_profile = models.JSONField(default=dict)
    library_versions = models.JSONField(default=dict)
    metrics = models.JSONField(default=dict, blank=True)
    decision_threshold = models.FloatField(
        null=True, blank=True, help_text="Positive when its probability is at least this (chosen by cost); else 0.5."
    )
    evaluation = models.JSONField(default=dict, blank=True, help_text="Curves, confusion matrix, importance, fairness.")
    train_rows = models.PositiveIntegerField(default=0)
    test_rows = models.PositiveIntegerField(default=0)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["model", "-version"]
        constraints = [models.UniqueConstraint(fields=["model", "version"], name="model_version_unique")]

    def __str__(self):
        return f"{self.model.name} v{self.version}"

    def get_absolute_url(self):
        return reverse("model-version", args=[self.model.name, self.version])
