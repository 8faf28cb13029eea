from urllib.parse import urlsplit

from django.conf import settings
from django.db import models
from django.utils import timezone


class NotificationManager(models.Manager):
    def notify(self, users, message, url=""):
        """One in-app notification per user (duplicates in ``users`` are sent once)."""
        unique = {user.pk: user for user in users if user is not None and user.is_active}
        return self.bulk_create(
            [self.model(user=user, message=message[:500], url=url[:300]) for user in unique.values()]
        )

    def unread_for(self, user):
        return self.filter(user=user, read_at__isnull=True)


class Notification(models.Model):
    """Something a user should know: a request waiting for them, a decision, a run that finished."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    message = models.CharField(max_length=500)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    objects = NotificationManager()

    class Meta:
        ordering = ["-id"]
        # The menu counts a user's unread notifications on every page.
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self):
        return f"to {self.user}: {self.message[:40]}"


class WebhookDelivery(models.Model):
    """One outbound webhook call (a run's notification, a notify step, an alert) and how it went, so that a
    refused or failed call shows on the run or alert it was for instead of only in a worker's log."""

    class Purpose(models.TextChoices):
        RUN = "run", "run notification"
        NOTIFY_STEP = "notify_step", "notify step"
        ALERT = "alert", "alert"

    class Status(models.TextChoices):
        SENDING = "sending", "sending"
        DELIVERED = "delivered", "delivered"
        FAILED = "failed", "failed"
        REFUSED = "refused", "refused"

    url = models.CharField(max_length=2000)
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    run = models.ForeignKey(
        "pipelines_app.PipelineRun", null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    alert = models.ForeignKey(
        "pipelines_app.Alert", null=True, blank=True, on_delete=models.CASCADE, related_name="webhook_deliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.SENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why the call was refused or failed.")
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self):
        return f"{self.get_purpose_display()} to {self.destination}: {self.status}"

    @property
    def destination(self):
        """Scheme, host and port only: the path of a webhook address is often its secret (Slack, Teams)."""
        parts = urlsplit(self.url)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else self.url[:60]

    def finish(self, status, *, attempts, http_status=None, error=""):
        self.status, self.attempts, self.http_status = status, attempts, http_status
        self.error, self.finished_at = error[:2000], timezone.now()
        self.save(update_fields=["status", "attempts", "http_status", "error", "finished_at"])
