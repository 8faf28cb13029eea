from django.db import models
from django.utils import timezone


class WorkerHeartbeatQuerySet(models.QuerySet):
    def latest_per_host(self, since):
        return self.filter(seen_at__gte=since).order_by("host", "-seen_at")


class WorkerHeartbeat(models.Model):
    """A Celery worker said it was alive: written by a periodic task, shown on the overview."""

    host = models.CharField(max_length=255)
    seen_at = models.DateTimeField(default=timezone.now)

    objects = WorkerHeartbeatQuerySet.as_manager()

    class Meta:
        ordering = ["-seen_at"]
        # The overview asks "who was seen lately"; pruning asks "what is old".
        indexes = [models.Index(fields=["-seen_at"], name="heartbeat_seen_idx")]

    def __str__(self):
        return f"{self.host} at {self.seen_at:%H:%M:%S}"
