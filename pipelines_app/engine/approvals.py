"""What a decided approval request does to the run that waits on it."""

from functools import partial

from django.db import transaction

from pipelines_app.models import (
    ApprovalRequest,
    ApprovalStatus,
    AuditEvent,
    Environment,
    RunStatus,
    StepRun,
    StepStatus,
)
from pipelines_app.models.protection import approval_meets


def on_decided(request):
    """What a decision does, inside the transaction that holds the request's lock (so it happens once):
    an approval retires older pending requests for the same model and environment, deploys a promotion,
    and resumes the step that waits on it."""
    if request.status == ApprovalStatus.APPROVED:
        supersede_older(request)
    if request.step_run_id:
        resume_step(request)
    elif request.status == ApprovalStatus.APPROVED and request.model_version_id and request.environment:
        from pipelines_app.engine.deployments import deploy_version

        environment = Environment.objects.get(name=request.environment)
        if approval_meets(request, environment):
            deploy_version(environment, request.model_version, request.requested_by or "system")


def supersede_older(request):
    """Pending requests for an older version of the same model in the same environment can only put a stale
    model there: they are closed as superseded (audited, their runs end as rejected)."""
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
        stale._close(ApprovalStatus.SUPERSEDED)


def resume_step(request):
    """Approved: the approval step succeeds (a deploy step runs again and deploys). Rejected or timed out:
    the step fails and the run ends as rejected / timed out."""
    step = StepRun.objects.select_for_update().get(pk=request.step_run_id)
    if step.status != StepStatus.WAITING_APPROVAL:
        return
    if request.status == ApprovalStatus.APPROVED:
        if step.type == "approval":
            step.status = StepStatus.SUCCEEDED
            step.outputs = {"approved": True, "request": request.pk}
            step.progress = 100
        else:
            step.status = StepStatus.PENDING
    else:
        step.status = StepStatus.FAILED
        step.on_failure = "abort"
        run_status = RunStatus.TIMED_OUT if request.status == ApprovalStatus.TIMED_OUT else RunStatus.REJECTED
        step.outputs = {"approved": False, "request": request.pk, "run_status": run_status}
        step.error = f"approval {request.get_status_display()}"
        if request.status == ApprovalStatus.SUPERSEDED:
            step.error = "approval superseded: a newer version of the model was approved for the same environment"
    from django.utils import timezone

    step.finished_at = timezone.now() if step.status != StepStatus.PENDING else None
    step.save(update_fields=["status", "outputs", "progress", "on_failure", "error", "finished_at"])
    from pipelines_app.tasks import advance_run

    transaction.on_commit(partial(advance_run.delay, step.run_id))
