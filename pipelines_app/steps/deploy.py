"""``deploy`` puts the run's model version in an environment; ``rollback`` goes back to the previous primary.

A protected environment needs an approval that meets its rules: an earlier
approved approval step of the same run counts when its groups and count
satisfy them; otherwise this step opens its own request and the run waits.
"""

from django.db import transaction
from django.utils import timezone

from pipelines_app.engine.runs import StepFailed, WaitForApproval
from pipelines_app.models import (
    ApprovalRequest,
    ApprovalStatus,
    AuditEvent,
    Deployment,
    DeploymentEvent,
    Environment,
)
from pipelines_app.notifications import notify_reviewers


def approval_satisfies(request, environment):
    return (
        request.status == ApprovalStatus.APPROVED
        and request.min_approvals >= environment.min_approvals
        and set(environment.approver_groups) <= set(request.approver_groups)
    )


def deploy_version(environment, version, actor, strategy="replace", canary_percent=0, run=None):
    """Make ``version`` serve in ``environment`` (replace, canary or shadow) and record it."""
    with transaction.atomic():
        deployment, _ = Deployment.objects.select_for_update().get_or_create(
            environment=environment, model=version.model
        )
        previous = deployment.primary_version
        if strategy == "canary":
            deployment.canary_version, deployment.canary_percent = version, canary_percent
        elif strategy == "shadow":
            deployment.shadow_version = version
        else:
            deployment.primary_version = version
            deployment.canary_version, deployment.canary_percent = None, 0
        deployment.updated_at = timezone.now()
        deployment.save()
        name = actor if isinstance(actor, str) else actor.get_username()
        DeploymentEvent.objects.create(
            deployment=deployment,
            action=strategy if strategy != "replace" else "deploy",
            version=version,
            previous_version=previous,
            actor_name=name,
            run=run,
        )
        AuditEvent.objects.record(
            actor,
            "deployment.deployed",
            deployment,
            {
                "version": version.version,
                "strategy": strategy,
                "previous": previous.version if previous else None,
                "run": run.pk if run else None,
            },
        )
    return deployment


class DeployStep:
    def run(self, ctx):
        spec = ctx.step_spec
        run = ctx.run
        run.refresh_from_db(fields=["model_version"])
        version = run.model_version
        if version is None:
            raise StepFailed("this run has not trained a model to deploy")
        environment = Environment.objects.filter(name=spec.environment).first()
        if environment is None:
            raise StepFailed(f"environment '{spec.environment}' does not exist")
        if environment.protected:
            earlier = [r for r in ApprovalRequest.objects.filter(run=run) if r.step_run_id != ctx.step_run.pk]
            if not any(approval_satisfies(r, environment) for r in earlier):
                own, created = ApprovalRequest.objects.get_or_create(
                    step_run=ctx.step_run,
                    defaults={
                        "run": run,
                        "model_version": version,
                        "environment": environment.name,
                        "approver_groups": environment.approver_groups,
                        "min_approvals": environment.min_approvals,
                        "requested_by": run.triggered_by,
                        "message": f"Deploy {version} to {environment.name}?",
                    },
                )
                if own.status != ApprovalStatus.APPROVED:
                    if created:
                        notify_reviewers(own)
                        AuditEvent.objects.record("system", "approval.requested", own, {"run": run.pk})
                    ctx.log(f"{environment.name} is protected: waiting for approval {own.pk}")
                    raise WaitForApproval(own.pk)
        deploy_version(environment, version, "system", spec.strategy, spec.canary_percent or 0, run=run)
        ctx.log(f"deployed {version} to {environment.name} ({spec.strategy})")
        return {"environment": environment.name, "model_version": version.version, "strategy": spec.strategy}


class RollbackStep:
    def run(self, ctx):
        raise StepFailed("rollback steps arrive with the serving work; nothing was changed")
