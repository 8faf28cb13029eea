from django.db import models
from django.utils import timezone


class EventManager(models.Manager):
    def record(self, kind, *, run=None, approval=None, alert=None, **payload):
        """Write the event in the caller's transaction: it exists exactly when the change it reports does."""
        return self.create(kind=kind, run=run, approval=approval, alert=alert, payload=payload)

    def pending(self):
        return self.filter(status=Event.Status.PENDING)


class Event(models.Model):
    """A state change that others react to (an outbox row, Healthchecks' ``Flip``): written in the same
    transaction as the change, then claimed by id by a task that performs the reactions (resume the run, deploy,
    supersede, notify, start drift pipelines) and marks it done. A row records; it never acts."""

    class Kind(models.TextChoices):
        RUN_ENDED = "run.ended", "run ended"
        RUN_WAITING = "run.waiting", "run waits for approval"
        APPROVAL_REQUESTED = "approval.requested", "approval requested"
        APPROVAL_DECIDED = "approval.decided", "approval decided"
        ALERT_FIRED = "alert.fired", "alert fired"
        ALERT_RESOLVED = "alert.resolved", "alert resolved"
        CANARY_JUDGED = "canary.judged", "canary judged"

    class Status(models.TextChoices):
        PENDING = "pending", "pending"
        DONE = "done", "done"
        FAILED = "failed", "failed"

    kind = models.CharField(max_length=30, choices=Kind.choices)
    run = models.ForeignKey("PipelineRun", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    approval = models.ForeignKey("ApprovalRequest", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    alert = models.ForeignKey("Alert", null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    payload = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    processed_at = models.DateTimeField(null=True, blank=True)

    objects = EventManager()

    class Meta:
        ordering = ["id"]
        # The sweep reads pending events oldest first.
        indexes = [models.Index(fields=["status", "id"], name="event_status_idx")]

    def __str__(self):
        return f"{self.kind} #{self.pk} ({self.status})"
