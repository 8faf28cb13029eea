from datetime import timedelta
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

    def read_about(self, url, user=None):
        """Mark unread notifications pointing at ``url`` read: ``user``'s, or everyone's when ``user`` is None.
        Called when their subject is acted on (a request decided or closed, a notification opened)."""
        unread = self.filter(url=url, read_at__isnull=True)
        if user is not None:
            unread = unread.filter(user=user)
        return unread.update(read_at=timezone.now())


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


class DeliveryManager(models.Manager):
    def due(self, now=None):
        """Queued deliveries whose time has come (the sweep re-sends those whose message was lost)."""
        return self.filter(status=Delivery.Status.QUEUED, next_attempt_at__lte=now or timezone.now())

    def claim(self, pk, now=None):
        """Take a queued delivery for one attempt; None when another worker has it or it is not due yet."""
        now = now or timezone.now()
        # A retry's message is due at next_attempt_at; a second of slack keeps clock skew from making it wait for
        # the sweep.
        due = now + timedelta(seconds=1)
        claimed = self.filter(pk=pk, status=Delivery.Status.QUEUED, next_attempt_at__lte=due).update(
            status=Delivery.Status.SENDING, attempts=models.F("attempts") + 1, started_at=now
        )
        return self.get(pk=pk) if claimed else None


class Delivery(models.Model):
    """One notification on one channel (an e-mail to one address, a webhook call to one URL) and how it went:
    queued, retried with backoff, delivered, failed or refused. Sent by a task, never inside a step or a request,
    so that a slow receiver delays nobody; shown on the run or alert it was for and on the deliveries page."""

    class Channel(models.TextChoices):
        EMAIL = "email", "e-mail"
        WEBHOOK = "webhook", "webhook"

    class Purpose(models.TextChoices):
        RUN = "run", "run notification"
        NOTIFY_STEP = "notify_step", "notify step"
        ALERT = "alert", "alert"
        APPROVAL = "approval", "approval"
        ADMIN = "admin", "admin notice"
        DEPLOYMENT = "deployment", "deployment change"

    class Status(models.TextChoices):
        QUEUED = "queued", "queued"
        SENDING = "sending", "sending"
        DELIVERED = "delivered", "delivered"
        FAILED = "failed", "failed"
        REFUSED = "refused", "refused"

    channel = models.CharField(max_length=10, choices=Channel.choices)
    recipient = models.CharField(max_length=2000, help_text="An e-mail address or a webhook URL.")
    purpose = models.CharField(max_length=16, choices=Purpose.choices)
    subject = models.CharField(max_length=300, blank=True)
    body = models.JSONField(default=dict, help_text="The e-mail's text ({'text': …}) or the webhook's JSON.")
    run = models.ForeignKey(
        "pipelines_app.PipelineRun", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    alert = models.ForeignKey(
        "pipelines_app.Alert", null=True, blank=True, on_delete=models.CASCADE, related_name="deliveries"
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=5)
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, help_text="Why the last attempt was refused or failed.")
    created_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = DeliveryManager()

    class Meta:
        ordering = ["-id"]
        verbose_name_plural = "deliveries"
        # The sweep looks for queued deliveries that are due and sending ones whose worker died.
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="delivery_due_idx")]

    def __str__(self):
        return f"{self.get_purpose_display()} by {self.get_channel_display()} to {self.destination}: {self.status}"

    @property
    def destination(self):
        """For a webhook, scheme, host and port only: the path of a webhook address is often its secret (Slack,
        Teams). An e-mail address as it is."""
        if self.channel == self.Channel.EMAIL:
            return self.recipient
        parts = urlsplit(self.recipient)
        return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}" if parts.netloc else self.recipient[:60]

    @property
    def finished(self):
        return self.status in (self.Status.DELIVERED, self.Status.FAILED, self.Status.REFUSED)

    def finish(self, status, *, http_status=None, error=""):
        """The attempt in hand ended for good (delivered, failed with no attempts left, or refused)."""
        self.status, self.http_status = status, http_status
        self.error, self.finished_at = error[:2000], timezone.now()
        self.save(update_fields=["status", "http_status", "error", "finished_at"])

    def retry_later(self, *, error, http_status=None, backoff_s=30.0):
        """The attempt in hand failed in a way that may pass: queued again after a backoff that doubles with each
        attempt, or failed for good after ``max_attempts``. Returns the delay, or None when it gave up."""
        if self.attempts >= self.max_attempts:
            self.finish(self.Status.FAILED, http_status=http_status, error=f"{error} (gave up after {self.attempts})")
            return None
        delay = backoff_s * 2 ** (self.attempts - 1)
        self.status, self.http_status, self.error = self.Status.QUEUED, http_status, error[:2000]
        self.next_attempt_at = timezone.now() + timedelta(seconds=delay)
        self.save(update_fields=["status", "http_status", "error", "next_attempt_at"])
        return delay
