"""``policy_gate``: the file's rules against the candidate's metrics and production's."""

from pipelines_app.models.deployments import production_metrics
from pipelines_app.spec import steps as spec_steps
from pipelines_app.steps.base import Step, StepFailed
from pipelines_app.steps.training import trained_version


class PolicyGateStep(Step):
    """Each rule is recorded with its values; any failing rule fails the step."""

    Spec = spec_steps.PolicyGateStep

    def run(self, ctx):
        version = trained_version(ctx)
        if not version.metrics:
            raise StepFailed(f"{version} has no metrics: put an evaluate step before the gate")
        baseline = production_metrics(version.model.name)
        results = []
        for rule in ctx.step_spec.rules:
            outcome = rule.evaluate(version.metrics, baseline)
            results.append(
                {
                    "rule": outcome.rule,
                    "passed": outcome.passed,
                    "actual": outcome.actual,
                    "threshold": outcome.threshold,
                    "reason": outcome.reason,
                }
            )
            verdict = {True: "pass", False: "FAIL", None: "skip"}[outcome.passed]
            ctx.log(f"{verdict}: {outcome.rule}: {outcome.reason}")
        outputs = {
            "passed": all(r["passed"] is not False for r in results),
            "rules": results,
            "production_version": baseline.get("_version") if baseline else None,
        }
        if not outputs["passed"]:
            failed = [r["rule"] for r in results if r["passed"] is False]
            raise StepFailed(f"policy gate failed: {'; '.join(failed)}", outputs=outputs)
        return outputs
