from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, models, transaction
from django.urls import reverse
from django.utils import timezone

from .audit import AuditEvent
from .protection import approvals_that_count, groups_counting, parties, refusal, request_rules


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
        """Pending requests this user may decide: in an approver group (or above it), not party to it (four-eyes,
        admins included), not yet decided by them. The environment's current floor is applied by ``why_not``."""
        pending = (
            self.filter(status=ApprovalStatus.PENDING)
            .exclude(requested_by=user)
            .exclude(decisions__user=user)
            .exclude(run__triggered_by=user)
            .exclude(run__pipeline_version__author=user)
            .exclude(model_version__run__triggered_by=user)
            .exclude(model_version__pipeline_version__author=user)
        )
        groups = groups_counting(user)
        if groups is None:
            return pending
        # approver_groups is a JSON list; a request matches when any of the user's groups is in it.
        query = models.Q(pk__in=[])
        for group in sorted(groups):
            query |= (
                models.Q(approver_groups__contains=[group])
                if connection.vendor == "postgresql"
                else models.Q(approver_groups__icontains=f'"{group}"')
            )
        return pending.filter(query)

    def decidable_by(self, user, limit=20):
        """Up to ``limit`` requests ``user`` may decide now, earliest deadline first: the ``waiting_for``
        candidates, then the rules (the environment's current floor) have the last word."""
        candidates = (
            self.filter(pk__in=self.waiting_for(user).values("pk"))
            .select_related(
                "model_version__model",
                "requested_by",
                # What the four-eyes rule reads for each candidate.
                "run__pipeline_version__pipeline",
                "model_version__run__pipeline_version__pipeline",
                "model_version__pipeline_version__pipeline",
            )
            .order_by("deadline", "id")[:limit]
        )
        return [request for request in candidates if not request.why_not(user)]

    def due(self, now=None):
        """Pending requests past their deadline (the timeout sweep applies ``on_timeout`` to them)."""
        return self.filter(status=ApprovalStatus.PENDING, deadline__lt=now or timezone.now())


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
        # No status here: the name is stored in audit events and would go stale (the pages show the status).
        return f"approval {self.pk}" + (f" for {self.environment}" if self.environment else "")

    def get_absolute_url(self):
        return reverse("approval-detail", args=[self.pk])

    @property
    def is_promotion(self):
        """Asked for from the registry, not by a run's step: approving it deploys."""
        return self.step_run_id is None

    @property
    def rules(self):
        """The rules this request is held to now (its own, within its environment's floor)."""
        return request_rules(self)

    @property
    def on_deadline(self):
        """What happens at the deadline, exactly as ``engine.approvals.expire_due`` will apply it."""
        return self.rules.describe_timeout(self.on_timeout)

    def party_usernames(self):
        """Who may not decide this request because they are party to it (four-eyes)."""
        return sorted(get_user_model().objects.filter(pk__in=parties(self)).values_list("username", flat=True))

    def why_not(self, user):
        """The reason ``user`` may not decide this request now, or "" when they may."""
        if self.status != ApprovalStatus.PENDING:
            return f"This request is already {self.get_status_display()}."
        reason = refusal(self, user)
        if reason:
            return reason
        if self.decisions.filter(user=user).exists():
            return "You have already decided on this request."
        return ""

    def record_decision(self, user, approve, comment):
        """Record one person's decision on this request, which the caller (``engine.approvals.decide``) holds
        locked; close it when the decision settles it. Returns True when it closed.

        Raises ``DecisionRefused`` (403 not allowed, 409 already decided)."""
        reason = self.why_not(user)
        if reason:
            decided = self.status != ApprovalStatus.PENDING or "already decided" in reason
            raise DecisionRefused(reason, 409 if decided else 403)
        try:
            with transaction.atomic():
                ApprovalDecision.objects.create(request=self, user=user, approve=approve, comment=comment)
        except IntegrityError:
            raise DecisionRefused("You have already decided on this request.", 409) from None
        AuditEvent.objects.record(
            user, "approval.approved" if approve else "approval.rejected", self, {"comment": comment}
        )
        if not approve:
            self.close(ApprovalStatus.REJECTED)
            return True
        rules = self.rules
        if len(approvals_that_count(self, rules)) >= max(rules.min_approvals, 1):
            self.close(ApprovalStatus.APPROVED)
            return True
        return False

    def close(self, status):
        """Settle the request (approved, rejected, timed out, superseded); what follows is the engine's."""
        self.status = status
        self.decided_at = timezone.now()
        self.save(update_fields=["status", "decided_at"])


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
