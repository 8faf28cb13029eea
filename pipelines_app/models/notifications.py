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
