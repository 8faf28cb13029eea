from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

from .audit import AuditEvent


class RunStatus(models.TextChoices):
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    WAITING_APPROVAL = "waiting_approval", "waiting for approval"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    CANCELLED = "cancelled", "cancelled"
    REJECTED = "rejected", "rejected"
    TIMED_OUT = "timed_out", "timed out"


RUN_FINISHED = {RunStatus.SUCCEEDED, RunStatus.FAILED, RunStatus.CANCELLED, RunStatus.REJECTED, RunStatus.TIMED_OUT}


class StepStatus(models.TextChoices):
    PENDING = "pending", "pending"
    QUEUED = "queued", "queued"
    RUNNING = "running", "running"
    WAITING_APPROVAL = "waiting_approval", "waiting for approval"
    WAITING_TRIALS = "waiting_trials", "waiting for its search's trials"
    SUCCEEDED = "succeeded", "succeeded"
    FAILED = "failed", "failed"
    SKIPPED = "skipped", "skipped"
    CANCELLED = "cancelled", "cancelled"


STEP_FINISHED = {StepStatus.SUCCEEDED, StepStatus.FAILED, StepStatus.SKIPPED, StepStatus.CANCELLED}


class Trigger(models.TextChoices):
    MANUAL = "manual", "manual"
    API = "api", "API"
    SCHEDULE = "schedule", "schedule"
    WEBHOOK = "webhook", "webhook"
    DRIFT = "drift", "drift alert"
    RERUN = "rerun", "re-run"


class PipelineRunQuerySet(models.QuerySet):
    # The filters the runs page and GET /api/v1/runs/ share: query parameter -> field.
    FILTERS = {"pipeline": "pipeline__slug", "status": "status", "trigger": "trigger", "who": "triggered_by__username"}

    def filtered(self, params):
        """Runs matching the filters given in ``params`` (a QueryDict or dict); empty values are ignored."""
        runs = self
        for param, field in self.FILTERS.items():
            value = (params.get(param) or "").strip()
            if value:
                runs = runs.filter(**{field: value})
        return runs

    def recent_failed_first(self, limit):
        """The latest ``limit`` runs, the failed and timed-out ones first (what an operator looks into), each
        group newest first."""
        recent = self.select_related("pipeline", "pipeline_version", "triggered_by").order_by("-id")[:limit]
        return sorted(recent, key=lambda run: run.status not in (RunStatus.FAILED, RunStatus.TIMED_OUT))


class PipelineRun(models.Model):
    """One execution of one pipeline version. The database row is the truth; Celery only carries its id."""

    pipeline = models.ForeignKey("Pipeline", on_delete=models.CASCADE, related_name="runs")
    pipeline_version = models.ForeignKey("PipelineVersion", on_delete=models.PROTECT, related_name="runs")
    trigger = models.CharField(max_length=20, choices=Trigger.choices, default=Trigger.MANUAL)
    triggered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    inputs = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=20, choices=RunStatus.choices, default=RunStatus.QUEUED)
    error = models.TextField(blank=True)
    rerun_of = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="reruns")
    model_version = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = PipelineRunQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        indexes = [
            # The runs list filters by status and pipeline, newest first.
            models.Index(fields=["status", "-id"], name="run_status_idx"),
            models.Index(fields=["pipeline", "-id"], name="run_pipeline_idx"),
        ]

    def __str__(self):
        return f"run {self.pk} of {self.pipeline.slug}"

    def get_absolute_url(self):
        return reverse("run-detail", args=[self.pk])

    @property
    def finished(self):
        return self.status in RUN_FINISHED

    @property
    def requester(self):
        """Who asks for what this run produces: whoever started it, else (schedule, webhook, drift) the author of
        the pipeline version it runs (DESIGN.md §8), so four-eyes always has someone to keep out."""
        return self.triggered_by or self.pipeline_version.author

    @property
    def duration(self):
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at

    def set_status(self, status, error=""):
        """Move to ``status``; finished states stamp the time. Saves only what changed."""
        self.status = status
        fields = ["status"]
        now = timezone.now()
        if status == RunStatus.RUNNING and self.started_at is None:
            self.started_at = now
            fields.append("started_at")
        if status in RUN_FINISHED:
            self.finished_at = now
            fields.append("finished_at")
        if error:
            self.error = error[:10000]
            fields.append("error")
        self.save(update_fields=fields)
        AuditEvent.objects.record("system", f"run.{status}", self, {"error": error[:500]} if error else {})


class StepRun(models.Model):
    """One step of one run: its status, attempts, the worker that ran it, log, outputs and progress."""

    run = models.ForeignKey(PipelineRun, on_delete=models.CASCADE, related_name="steps")
    stage_index = models.PositiveSmallIntegerField()
    stage_name = models.CharField(max_length=100)
    parallel = models.BooleanField(default=False)
    position = models.PositiveSmallIntegerField(help_text="Order of the step in the whole pipeline.")
    name = models.CharField(max_length=100)
    type = models.CharField(max_length=50)
    status = models.CharField(max_length=20, choices=StepStatus.choices, default=StepStatus.PENDING)
    attempt = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=1)
    retry_backoff_s = models.FloatField(default=10)
    on_failure = models.CharField(max_length=10, default="abort")
    # Seconds one attempt may run: the file's step_timeout or STEP_TIMEOUT_DEFAULT, capped by STEP_TIMEOUT_MAX,
    # fixed when the run starts. Null on steps of runs started before limits existed (the default applies).
    time_limit_s = models.PositiveIntegerField(null=True, blank=True)
    celery_task_id = models.CharField(max_length=64, blank=True)
    worker_host = models.CharField(max_length=255, blank=True)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    progress = models.PositiveSmallIntegerField(default=0)
    log = models.TextField(blank=True)
    outputs = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    traceback = models.TextField(blank=True)

    class Meta:
        ordering = ["run", "position"]
        constraints = [models.UniqueConstraint(fields=["run", "name"], name="step_run_unique_name")]
        indexes = [
            # The reaper looks for running steps whose heartbeat stopped.
            models.Index(fields=["status", "heartbeat_at"], name="step_status_heartbeat_idx"),
        ]

    def __str__(self):
        return f"{self.name} ({self.type}) of run {self.run_id}"

    @property
    def finished(self):
        return self.status in STEP_FINISHED

    @property
    def duration(self):
        if not self.started_at:
            return None
        return (self.finished_at or timezone.now()) - self.started_at


class SearchTrial(models.Model):
    """One candidate of a train step's ``search:``: its parameters, scored by k-fold cross-validation on the
    training split as a Celery task of its own on the ``training`` queue (``engine.search``). Claimed by a
    conditional update (queued → running for one attempt), as steps are; a trial whose worker stops answering is
    queued again by the reaper."""

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        RUNNING = "running", "running"
        SUCCEEDED = "succeeded", "succeeded"
        FAILED = "failed", "failed"
        CANCELLED = "cancelled", "cancelled"

    step_run = models.ForeignKey(StepRun, on_delete=models.CASCADE, related_name="trials")
    number = models.PositiveIntegerField()
    params = models.JSONField(default=dict)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    attempt = models.PositiveSmallIntegerField(default=1)
    score = models.FloatField(null=True, blank=True, help_text="Mean of the folds' scores (greater is better).")
    fold_scores = models.JSONField(default=list, blank=True)
    worker_host = models.CharField(max_length=200, blank=True)
    error = models.TextField(blank=True)
    queued_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["step_run", "number"]
        constraints = [models.UniqueConstraint(fields=["step_run", "number"], name="one_trial_per_number")]

    def __str__(self):
        return f"trial {self.number} of {self.step_run}"

    @property
    def finished(self):
        return self.status in (self.Status.SUCCEEDED, self.Status.FAILED, self.Status.CANCELLED)
