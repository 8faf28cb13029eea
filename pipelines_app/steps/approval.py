"""``approval``: open an approval request and wait for its decision."""

import re
from datetime import timedelta

from django.utils import timezone

from pipelines_app.engine.runs import WaitForApproval
from pipelines_app.models import ApprovalRequest, AuditEvent
from pipelines_app.models.protection import Rules
from pipelines_app.notifications import notify_reviewers


def render_message(template, run):
    values = {
        "model": run.pipeline_version.spec.get("model", ""),
        "pipeline": run.pipeline.name,
        "run.id": str(run.pk),
        "run.model_version": str(run.model_version.version) if run.model_version else "",
        "run.trigger": run.trigger,
    }
    values.update({f"inputs.{k}": str(v) for k, v in (run.inputs or {}).items()})
    return re.sub(r"\$\{([^}]+)\}", lambda m: values.get(m.group(1).strip(), m.group(0)), template)


def _guarded_environment(ctx):
    """The environment of the first deploy step after this approval: what the reviewers are letting the model into.

    Requests for the same model and environment supersede each other (an approved newer one retires older ones)."""
    steps = [step for _, step in ctx.spec.steps()]
    after = [step for step in steps[[s.name for s in steps].index(ctx.step_run.name) + 1 :] if step.type == "deploy"]
    return after[0].environment if after else ""


class ApprovalStep:
    """The run waits (waiting_approval) until reviewers decide; the decision resumes it."""

    def run(self, ctx):
        spec = ctx.step_spec
        run = ctx.run
        run.refresh_from_db(fields=["model_version"])
        environment = _guarded_environment(ctx)
        # The file may narrow the environment's rules, never lower them (DESIGN.md §8).
        rules = Rules.for_name(environment).narrowed(spec.approvers, spec.min_approvals)
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
                "message": render_message(spec.message or "Approve ${model} v${run.model_version}?", run),
            },
        )
        if created:
            notify_reviewers(request)
            AuditEvent.objects.record(
                "system",
                "approval.requested",
                request,
                {"run": run.pk, "groups": request.approver_groups, "min_approvals": request.min_approvals},
            )
        ctx.log(f"waiting for {request.min_approvals} approval(s) from {', '.join(request.approver_groups)}")
        raise WaitForApproval(request.pk)
