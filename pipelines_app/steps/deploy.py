"""``deploy`` puts the run's model version in an environment; ``rollback`` goes back to the previous primary.

A protected environment needs an approval that meets its rules: an earlier
approved approval step of the same run counts only when the environment's
rules hold for the decisions it actually got (``approval_meets``); otherwise
this step opens its own request and the run waits.
"""

from pipelines_app.engine.deployments import DeploymentRefused, deploy_version, open_deploy_request, rollback
from pipelines_app.models import ApprovalRequest, ApprovalStatus, Deployment, Environment
from pipelines_app.models.protection import Rules, approval_meets
from pipelines_app.spec import steps as spec_steps
from pipelines_app.steps.base import Step, StepFailed, WaitForApproval


class DeployStep(Step):
    """Deploy the run's model version, first asking for an approval where the environment's rules need one."""

    Spec = spec_steps.DeployStep

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
            if not any(approval_meets(r, environment) for r in earlier):
                own, _ = open_deploy_request(
                    environment,
                    version,
                    run.requester,
                    f"Deploy {version} to {environment.name}?",
                    run,
                    ctx.step_run,
                )
                if own.status == ApprovalStatus.PENDING:
                    ctx.log(f"{environment.name} is protected: waiting for approval {own.pk}")
                    raise WaitForApproval(own.pk)
                if not approval_meets(own, environment):
                    raise StepFailed(
                        f"approval {own.pk} is {own.get_status_display()} and does not meet the rules of "
                        f"{environment.name} ({Rules.of(environment).describe()})"
                    )
        deployment = deploy_version(
            environment, version, "system", spec.strategy, spec.canary_percent or 0, run=run, analysis=spec.analysis
        )
        ctx.log(f"deployed {version} to {environment.name} ({spec.strategy})")
        outputs = {"environment": environment.name, "model_version": version.version, "strategy": spec.strategy}
        analysis = deployment.analyses.running().first() if spec.analysis else None
        if analysis is not None:
            ctx.log(
                f"canary analysis {analysis.pk} started: judged once each arm has {analysis.min_requests} requests, "
                f"within {spec.analysis.max_duration}"
            )
            outputs["analysis"] = analysis.pk
        return outputs


class RollbackStep(Step):
    """Put the previous primary version of the pipeline's model back in the environment."""

    Spec = spec_steps.RollbackStep

    def run(self, ctx):
        spec = ctx.step_spec
        model = ctx.spec.model
        deployment = (
            Deployment.objects.filter(environment__name=spec.environment, model__name=model)
            .select_related("primary_version")
            .first()
        )
        if deployment is None or deployment.primary_version is None:
            raise StepFailed(f"nothing serves {model} in {spec.environment}, so there is nothing to roll back")
        try:
            deployment = rollback(deployment, "system", run=ctx.run)
        except DeploymentRefused as exc:
            raise StepFailed(str(exc)) from exc
        ctx.log(f"rolled {model} in {spec.environment} back to v{deployment.primary_version.version}")
        return {"environment": spec.environment, "model_version": deployment.primary_version.version}
