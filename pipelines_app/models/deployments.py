from datetime import timedelta

from django.db import models
from django.urls import reverse
from django.utils import timezone

from .audit import AuditEvent


class Environment(models.Model):
    """Where models are deployed (staging, production, …) and the rules for deploying there."""

    name = models.SlugField(max_length=50, unique=True)
    description = models.CharField(max_length=200, blank=True)
    approver_groups = models.JSONField(
        default=list, blank=True, help_text="Groups whose members may approve a deploy; empty means open."
    )
    min_approvals = models.PositiveSmallIntegerField(default=0)
    public = models.BooleanField(default=False, help_text="Serving needs no token.")
    # Ignoring by default is what `mlflow models serve` does (the ignored columns are named in the answer's
    # X-Ignored-Columns header); an environment that wants callers to send exactly the model's columns refuses.
    ignore_unknown_columns = models.BooleanField(
        default=True,
        help_text="Serving ignores columns the model does not know (naming them in the X-Ignored-Columns header); "
        "unticked, it refuses the request.",
    )
    approval_timeout_hours = models.PositiveIntegerField(
        default=72, help_text="How long a deploy or promotion request waits for its reviewers."
    )
    on_timeout = models.CharField(
        max_length=10,
        choices=[("reject", "reject"), ("approve", "approve")],
        default="reject",
        help_text="What happens to a request nobody decided in time.",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_absolute_url(self):
        return reverse("environment-edit", args=[self.name])

    @property
    def protected(self):
        return bool(self.approver_groups) and self.min_approvals > 0


class Deployment(models.Model):
    """Which version of a model serves in an environment. History is kept in DeploymentEvent."""

    environment = models.ForeignKey(Environment, on_delete=models.PROTECT, related_name="deployments")
    model = models.ForeignKey("RegisteredModel", on_delete=models.PROTECT, related_name="deployments")
    primary_version = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    canary_version = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    canary_percent = models.PositiveSmallIntegerField(default=0)
    shadow_version = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    updated_at = models.DateTimeField(default=timezone.now)
    logs_lost = models.PositiveIntegerField(
        default=0, help_text="Prediction logs that neither the buffer nor the database could take."
    )

    class Meta:
        ordering = ["environment", "model"]
        constraints = [models.UniqueConstraint(fields=["environment", "model"], name="one_deployment_per_env_model")]

    def __str__(self):
        return f"{self.model} in {self.environment}"

    def deploy_notes(self):
        """Why deploys went otherwise than asked (a canary on a first deploy goes out whole), from the audit
        payloads ``engine.deployments.deploy_version`` writes: ``{(version number, run id): note}``."""
        payloads = AuditEvent.objects.filter(
            verb="deployment.deployed", object_type="deployment", object_id=str(self.pk), payload__has_key="note"
        ).values_list("payload", flat=True)
        return {(p.get("version"), p.get("run")): p["note"] for p in payloads}


class DeploymentEvent(models.Model):
    """One change to a deployment: who put which version where, when."""

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="events")
    action = models.CharField(max_length=30)  # deploy, canary, shadow, promote_canary, abort_canary, rollback
    version = models.ForeignKey("ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    previous_version = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_name = models.CharField(max_length=150)
    run = models.ForeignKey("PipelineRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self):
        return f"{self.action} {self.version} in {self.deployment}"


def production_metrics(model_name, environment="production"):
    """Metrics of the version serving as primary in production, with "_version"; None when nothing serves."""
    deployment = (
        Deployment.objects.filter(environment__name=environment, model__name=model_name)
        .select_related("primary_version")
        .first()
    )
    if deployment is None or deployment.primary_version is None:
        return None
    return {**deployment.primary_version.metrics, "_version": deployment.primary_version.version}


class CanaryAnalysisQuerySet(models.QuerySet):
    def running(self):
        return self.filter(status=CanaryAnalysis.Status.RUNNING)


class CanaryAnalysis(models.Model):
    """Automated verification of one canary (``analysis:`` on a canary deploy, or started by hand): both arms
    measured over the same window from the prediction logs, judged by ``checks`` once each arm has
    ``min_requests``, then promoted or rolled back by the system (``monitoring.canary``). The row records what was
    measured and decided; it never acts."""

    class Status(models.TextChoices):
        RUNNING = "running", "running"
        PASSED = "passed", "passed"
        FAILED = "failed", "failed"
        HELD = "held", "held for a person"
        CANCELLED = "cancelled", "cancelled"

    deployment = models.ForeignKey(Deployment, on_delete=models.CASCADE, related_name="analyses")
    canary_version = models.ForeignKey("ModelVersion", on_delete=models.PROTECT, related_name="+")
    primary_version = models.ForeignKey("ModelVersion", on_delete=models.PROTECT, related_name="+")
    min_requests = models.PositiveIntegerField(default=200)
    max_duration_s = models.PositiveIntegerField(default=1800)
    checks = models.JSONField(default=list, help_text="Parsed CanaryCheck rules, as the spec stores them.")
    on_pass = models.CharField(max_length=10, default="promote")
    on_fail = models.CharField(max_length=10, default="rollback")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    verdict = models.CharField(max_length=10, blank=True, help_text="pass or fail, once judged (also when held).")
    reason = models.TextField(blank=True)
    measured = models.JSONField(default=dict, blank=True, help_text="{'canary': {...}, 'primary': {...}} values.")
    results = models.JSONField(default=list, blank=True, help_text="Each check with both arms' values.")
    started_at = models.DateTimeField(default=timezone.now)
    measured_at = models.DateTimeField(null=True, blank=True)
    decided_at = models.DateTimeField(null=True, blank=True)
    started_by = models.CharField(max_length=150, help_text="Who started it: a user name, or system for a run.")
    run = models.ForeignKey("PipelineRun", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    objects = CanaryAnalysisQuerySet.as_manager()

    class Meta:
        ordering = ["-started_at", "-id"]
        constraints = [
            # One analysis at a time per deployment: a second would judge the same canary twice.
            models.UniqueConstraint(
                fields=["deployment"], condition=models.Q(status="running"), name="one_running_analysis"
            ),
        ]

    def __str__(self):
        return f"analysis of {self.canary_version} in {self.deployment.environment}"

    @property
    def deadline(self):
        return self.started_at + timedelta(seconds=self.max_duration_s)
