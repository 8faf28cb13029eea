"""What a decided approval request does to the run that waits on it."""

from functools import partial

from django.db import transaction

from pipelines_app.models import ApprovalStatus, RunStatus, StepRun, StepStatus


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
    from django.utils import timezone

    step.finished_at = timezone.now() if step.status != StepStatus.PENDING else None
    step.save(update_fields=["status", "outputs", "progress", "on_failure", "error", "finished_at"])
    from pipelines_app.tasks import advance_run

    transaction.on_commit(partial(advance_run.delay, step.run_id))
