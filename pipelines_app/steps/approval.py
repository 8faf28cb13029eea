"""``approval``: open an approval request and wait for its decision."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from pipelines_app.engine.outbox import emit
from pipelines_app.models import ApprovalRequest, AuditEvent, Event
from pipelines_app.models.protection import Rules
from pipelines_app.spec import steps as spec_steps
from pipelines_app.steps.base import Step, WaitForApproval


def _message(ctx):
    """The file's message with its references filled in; by default, what is to be approved."""
    if ctx.step_spec.message:
        return ctx.fill(ctx.step_spec.message)
    if "run.model_version" in ctx.reference_values:
        return ctx.fill("Approve ${model} v${run.model_version}?")
    return ctx.fill("Approve ${model}?")


def _guarded_environment(ctx):
    """The environment of the first deploy step after this approval: what the reviewers are letting the model into.

    Requests for the same model and environment supersede each other (an approved newer one retires older ones)."""
    steps = [step for _, step in ctx.spec.steps()]
    after = [step for step in steps[[s.name for s in steps].index(ctx.step_run.name) + 1 :] if step.type == "deploy"]
    return after[0].environment if after else ""


class ApprovalStep(Step):
    """The run waits (waiting_approval) until reviewers decide; the decision resumes it."""

    Spec = spec_steps.ApprovalStep

    def run(self, ctx):
        spec = ctx.step_spec
        run = ctx.run
        run.refresh_from_db(fields=["model_version"])
        environment = _guarded_environment(ctx)
        # The file may narrow the environment's rules, never lower them (DESIGN.md §8).
        rules = Rules.for_name(environment).narrowed(spec.approvers, spec.min_approvals)
        with transaction.atomic():
            request = self._open(ctx, run, environment, rules)
        ctx.log(f"waiting for {request.min_approvals} approval(s) from {', '.join(request.approver_groups)}")
        raise WaitForApproval(request.pk)

    def _open(self, ctx, run, environment, rules):
        """The step's request (one however often the step runs), its audit event and the event that tells the
        reviewers, together."""
        spec = ctx.step_spec
        request, created = ApprovalRequest.objects.get_or_create(
            step_run=ctx.step_run,
            defaults={
                "run": run,
                "model_version": run.model_version,
                "environment": environment,
                "approver_groups": list(rules.groups),
                "min_approvals": rules.min_approvals,
                "requested_by": run.requester,
                "deadline": timezone.now() + timedelta(seconds=spec.timeout_seconds),
                "on_timeout": rules.on_timeout(spec.on_timeout),
                "message": _message(ctx),
            },
        )
        if created:
            AuditEvent.objects.record(
                "system",
                "approval.requested",
                request,
                {"run": run.pk, "groups": request.approver_groups, "min_approvals": request.min_approvals},
            )
            emit(Event.Kind.APPROVAL_REQUESTED, approval=request, run=run)
        return request
