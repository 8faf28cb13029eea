from django.db import models


class Environment(models.Model):
    """Where models are deployed (staging, production, …) and the rules for deploying there."""

    name = models.SlugField(max_length=50, unique=True)
    description = models.CharField(max_length=200, blank=True)
    approver_groups = models.JSONField(
        default=list, blank=True, help_text="Groups whose members may approve a deploy; empty means open."
    )
    min_approvals = models.PositiveSmallIntegerField(default=0)
    public = models.BooleanField(default=False, help_text="Serving needs no token.")
    ignore_unknown_columns = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def protected(self):
        return bool(self.approver_groups) and self.min_approvals > 0
