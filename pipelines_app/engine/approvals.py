"""Deciding approval requests, and what a decision does.

The approval path, one way down and back through a row:

1. view or API (``views.approvals.approval_decide``, ``api.runs.ApprovalViewSet``) calls
2. the service ``decide()`` here: it locks the request, asks the row to record the decision
   (``ApprovalRequest.record_decision``: rules, one decision each, audit, close) and, when that settles it,
   writes an ``approval.decided`` event in the same transaction (``outbox.emit``);
3. the ``react_to_event`` task claims the event by id (``reactions.react``) and calls
4. ``on_decided()`` here: an approval retires older pending requests for the same model and environment,
   deploys a promotion, and resumes the step that waits (a rejection ends the run as rejected); the requester is
   notified through queued deliveries.

Timeouts take the same road: ``expire_due()`` (beat) closes the request and writes the event.
"""

from django.db import transaction
from django.utils import timezone

from pipelines_app.engine import runs
from pipelines_app.engine.deployments import deploy_version
from pipelines_app.engine.outbox import emit
from pipelines_app.models import (
    ApprovalRequest,
    ApprovalStatus,
    AuditEvent,
    Environment,
    Event,
    Notification,
    RunStatus,
    StepRun,
    StepStatus,
)
from pipelines_app.models.approvals import DecisionRefused
from pipelines_app.models.audit import retry_on_deadlock
from pipelines_app.models.protection import approval_meets, request_rules
from pipelines_app.notifications import notify_decision


@retry_on_deadlock
def decide(request, user, approve, comment=""):
    """Record one person's decision; race-safe (two at the same instant give one outcome). Returns the request's
    status afterwards. Raises ``DecisionRefused`` (400 no comment on a rejection, 403 not allowed, 409 decided)."""
    comment = (comment or "").strip()
    if not approve and not comment:
        raise DecisionRefused("A rejection needs a comment saying why.", 400)
    with transaction.atomic():
        locked = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
        closed = locked.record_decision(user, approve, comment)
        # The decider's "Approval needed" is done with; once the request is closed, every reviewer's is. (The
        # requester's "was approved" notification comes later, from on_decided, and stays unread.)
        Notification.objects.read_about(locked.get_absolute_url(), None if closed else user)
        if closed:
            emit(Event.Kind.APPROVAL_DECIDED, approval=locked, run=locked.run, status=locked.status)
    request.status = locked.status
    return locked.status


def expire_due(now=None):
    """Apply ``on_timeout`` to pending requests past their deadline (beat); the system is recorded as deciding.
    A timeout never approves into a protected environment, whatever the request asked for."""
    expired = 0
    for pk in ApprovalRequest.objects.due(now).values_list("pk", flat=True):
        with transaction.atomic():
            request = ApprovalRequest.objects.select_for_update().get(pk=pk)
            if request.status != ApprovalStatus.PENDING:
                continue
            on_timeout = request_rules(request).on_timeout(request.on_timeout)
            outcome = ApprovalStatus.APPROVED if on_timeout == "approve" else ApprovalStatus.TIMED_OUT
            AuditEvent.objects.record(
                "system",
                "approval.timed_out",
                request,
                {"on_timeout": request.on_timeout, "applied": on_timeout, "outcome": outcome},
            )
            request.close(outcome)
            Notification.objects.read_about(request.get_absolute_url())
            emit(Event.Kind.APPROVAL_DECIDED, approval=request, run=request.run, status=outcome)
            expired += 1
    return expired


def on_decided(request):
    """What a settled request does (the reaction to its event, inside the event's transaction, so once)."""
    request = ApprovalRequest.objects.select_for_update().get(pk=request.pk)
    if request.status == ApprovalStatus.APPROVED:
        supersede_older(request)
    if request.step_run_id:
        resume_step(request)
    elif request.status == ApprovalStatus.APPROVED and request.model_version_id and request.environment:
        environment = Environment.objects.get(name=request.environment)
        if approval_meets(request, environment):
            deploy_version(environment, request.model_version, request.requested_by or "system")
    notify_decision(request)


def supersede_older(request):
    """Pending requests for an older version of the same model in the same environment can only put a stale
    model there: they are closed as superseded (audited; each one's own event ends its run as rejected)."""
    if not (request.model_version_id and request.environment):
        return
    version = request.model_version
    older = ApprovalRequest.objects.select_for_update().filter(
        status=ApprovalStatus.PENDING,
        environment=request.environment,
        model_version__model_id=version.model_id,
        model_version__version__lt=version.version,
    )
    for stale in older.order_by("-pk"):
        AuditEvent.objects.record(
            "system",
            "approval.superseded",
            stale,
            {"by": request.pk, "version": stale.model_version.version, "newer_version": version.version},
        )
        stale.close(ApprovalStatus.SUPERSEDED)
        Notification.objects.read_about(stale.get_absolute_url())
        emit(Event.Kind.APPROVAL_DECIDED, approval=stale, run=stale.run, status=stale.status)


def resume_step(request):
    """Approved: the approval step succeeds (a deploy step runs again and deploys). Rejected, timed out or
    superseded: the step fails and the engine ends the run as rejected or timed out."""
    step = StepRun.objects.select_for_update().get(pk=request.step_run_id)
    if step.status != StepStatus.WAITING_APPROVAL:
        return
    now = timezone.now()
    if request.status == ApprovalStatus.APPROVED:
        if step.type == "approval":
            step.status, step.progress, step.finished_at = StepStatus.SUCCEEDED, 100, now
            step.outputs = {"approved": True, "request": request.pk}
        else:
            step.status = StepStatus.PENDING
        step.save(update_fields=["status", "outputs", "progress", "finished_at"])
        runs.advance_later(step.run_id)
        return
    step.status, step.finished_at = StepStatus.FAILED, now
    step.outputs = {"approved": False, "request": request.pk}
    step.error = f"approval {request.get_status_display()}"
    if request.status == ApprovalStatus.SUPERSEDED:
        step.error = "approval superseded: a newer version of the model was approved for the same environment"
    step.save(update_fields=["status", "outputs", "error", "finished_at"])
    status = RunStatus.TIMED_OUT if request.status == ApprovalStatus.TIMED_OUT else RunStatus.REJECTED
    runs.end_run(step.run_id, status, f"step '{step.name}': {step.error}")
