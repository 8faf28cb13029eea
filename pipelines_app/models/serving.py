from django.conf import settings
from django.db import models
from django.utils import timezone


class PredictionLog(models.Model):
    """One scored row (or one refused request): which deployment and version answered, with what, how fast.

    Written in bulk from the Redis buffer by ``serving.logging.drain`` (a Celery task), never on the request path.
    """

    class Role(models.TextChoices):
        PRIMARY = "primary", "primary"
        CANARY = "canary", "canary"
        SHADOW = "shadow", "shadow"

    request_id = models.CharField(max_length=80)
    deployment = models.ForeignKey("Deployment", on_delete=models.CASCADE, related_name="predictions")
    model_version = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="predictions"
    )
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.PRIMARY)
    inputs = models.JSONField(default=dict)
    prediction = models.JSONField(null=True, blank=True)
    score = models.FloatField(null=True, blank=True, help_text="Probability of the positive class (binary).")
    latency_ms = models.FloatField(default=0)
    status_code = models.PositiveSmallIntegerField(default=200)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]
        indexes = [
            # Rates on /deployments/ and the rollups read a deployment's recent rows.
            models.Index(fields=["deployment", "created_at"], name="prediction_deployment_time_idx"),
        ]
        constraints = [
            # One row per request id and role: a buffer drained twice writes nothing twice. It also serves
            # feedback, which joins labels by request id.
            models.UniqueConstraint(fields=["request_id", "role"], name="one_prediction_per_request_role"),
        ]

    def __str__(self):
        return f"prediction {self.request_id} ({self.role})"


class Feedback(models.Model):
    """The true outcome for a scored request, sent later (``POST /api/v1/feedback/``) and joined by request id."""

    request_id = models.CharField(max_length=80, unique=True)
    label = models.JSONField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-id"]

    def __str__(self):
        return f"feedback {self.request_id}"
