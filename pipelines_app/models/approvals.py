from functools import partial

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.urls import reverse
from django.utils import timezone

from .audit import AuditEvent, retry_on_deadlock


class DecisionRefused(Exception):
    """A decision that may not be taken; ``status`` is the HTTP status that says why (400, 403, 409)."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", "pending"
    APPROVED = "approved", "approved"
    REJECTED = "rejected", "rejected"
    TIMED_OUT = "timed_out", "timed out"
    SUPERSEDED = "superseded", "superseded"
    CANCELLED = "cancelled", "cancelled"


class ApprovalRequestManager(models.Manager):
    def waiting_for(self, user):
        """Pending requests this user may decide: in an approver group, not their own, not yet decided by them."""
        pending = self.filter(status=ApprovalStatus.PENDING).exclude(requested_by=user).exclude(decisions__user=user)
        if user.is_superuser:
            return pending
        groups = list(user.groups.values_list("name", flat=True))
        # approver_groups is a JSON list; a request matches when any of the user's groups is in it.
        query = models.Q(pk__in=[])
        for group in groups:
            query |= (
                models.Q(approver_groups__contains=[group])
                if connection.vendor == "postgresql"
                else models.Q(approver_groups__icontains=f'"{group}"')
            )
        return pending.filter(query)

    def expire_due(self, now=None):
        """Apply ``on_timeout`` to pending requests past their deadline; the system is recorded as deciding."""
        now = now or timezone.now()
        expired = 0
        for pk in self.filter(status=ApprovalStatus.PENDING, deadline__lt=now).values_list("pk", flat=True):
            with transaction.atomic():
                request = self.select_for_update().get(pk=pk)
                if request.status != ApprovalStatus.PENDING:
                    continue
                outcome = ApprovalStatus.APPROVED if request.on_timeout == "approve" else ApprovalStatus.TIMED_OUT
                AuditEvent.objects.record(
                    "system", "approval.timed_out", request, {"on_timeout": request.on_timeout, "outcome": outcome}
                )
                request._close(outcome)
                expired += 1
        return expired


class ApprovalRequest(models.Model):
    """Something that needs reviewers' approval: a run's approval step, or a promotion."""

    run = models.ForeignKey("PipelineRun", null=True, blank=True, on_delete=models.CASCADE, related_name="approvals")
    step_run = models.OneToOneField(
        "StepRun", null=True, blank=True, on_delete=models.CASCADE, related_name="approval_request"
    )
    model_version = models.ForeignKey(
        "ModelVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="approval_requests"
    )
    environment = models.CharField(max_length=50, blank=True)
    message = models.TextField(blank=True)
    approver_groups = models.JSONField(default=list)
    min_approvals = models.PositiveSmallIntegerField(default=1)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    deadline = models.DateTimeField(null=True, blank=True)
    on_timeout = models.CharField(max_length=10, default="reject")
    status = models.CharField(max_length=20, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)

    objects = ApprovalRequestManager()

    class Meta:
        ordering = ["-id"]
        # The approvals list and the badge ask for pending requests.
        indexes = [models.Index(fields=["status", "-id"], name="approval_status_idx")]

    def __str__(self):
        return f"approval {self.pk} ({self.status})"

    def get_absolute_url(self):
        return reverse("approval-detail", args=[self.pk])

    @property
    def is_promotion(self):
        """Asked for from the registry, not by a run's step: approving it deploys."""
        return self.step_run_id is None

    @property
    def requester_id(self):
        return self.requested_by_id

    def why_not(self, user):
        """The reason ``user`` may not decide this request now, or "" when they may."""
        if self.status != ApprovalStatus.PENDING:
            return f"This request is already {self.get_status_display()}."
        if self.requested_by_id is not None and self.requested_by_id == user.pk:
            return "You asked for this (four-eyes rule): someone else must decide."
        groups = set(user.groups.values_list("name", flat=True))
        if not user.is_superuser and not groups & set(self.approver_groups):
            return f"Only members of {', '.join(self.approver_groups)} may decide this request."
        if self.decisions.filter(user=user).exists():
            return "You have already decided on this request."
        return ""

    @retry_on_deadlock
    def decide(self, user, approve, comment=""):
        """Record one reviewer's decision; race-safe. Returns the request's status afterwards.

        Raises ``DecisionRefused`` (400 no comment on reject, 403 not allowed, 409 already decided).
        """
        comment = (comment or "").strip()
        if not approve and not comment:
            raise DecisionRefused("A rejection needs a comment saying why.", 400)
        with transaction.atomic():
            locked = ApprovalRequest.objects.select_for_update().get(pk=self.pk)
            reason = locked.why_not(user)
            if reason:
                decided = locked.status != ApprovalStatus.PENDING or "already decided" in reason
                raise DecisionRefused(reason, 409 if decided else 403)
            try:
                with transaction.atomic():
                    ApprovalDecision.objects.create(request=locked, user=user, approve=approve, comment=comment)
            except IntegrityError:
                raise DecisionRefused("You have already decided on this request.", 409) from None
            AuditEvent.objects.record(
                user, "approval.approved" if approve else "approval.rejected", locked, {"comment": comment}
            )
            if not approve:
                locked._close(ApprovalStatus.REJECTED)
            elif locked.decisions.filter(approve=True).count() >= locked.min_approvals:
                locked._close(ApprovalStatus.APPROVED)
            self.status = locked.status
        return self.status

    def _close(self, status):
        self.status = status
        self.decided_at = timezone.now()
        self.save(update_fields=["status", "decided_at"])
        from pipelines_app.notifications import notify_decision

        transaction.on_commit(partial(notify_decision, self))
        from pipelines_app.engine.approvals import on_decided

        on_decided(self)


class ApprovalDecision(models.Model):
    """One reviewer's decision on one request; never changed afterwards."""

    request = models.ForeignKey(ApprovalRequest, on_delete=models.CASCADE, related_name="decisions")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    approve = models.BooleanField()
    comment = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        constraints = [models.UniqueConstraint(fields=["request", "user"], name="one_decision_per_reviewer")]

    def __str__(self):
        return f"{'approve' if self.approve else 'reject'} by {self.user} on {self.request_id}"
