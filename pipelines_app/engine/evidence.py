"""What a reviewer judges a model on: the candidate next to the version serving in the environment.

One builder feeds the approval page, the model version's report and the downloadable HTML report, so the
three can never disagree.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Avg, Count, Q, Sum
from django.utils import timezone

from pipelines_app.models import Deployment, DeploymentEvent, ModelVersion, PredictionLog, StepStatus

# Metrics where a smaller number is the better model; everything else scores higher when better.
LOWER_IS_BETTER = {
    "log_loss",
    "brier_score",
    "rmse",
    "mae",
    "demographic_parity_difference",
    "equal_opportunity_difference",
}
KEY_METRICS = ["roc_auc", "pr_auc", "accuracy", "precision", "recall", "f1", "log_loss", "rmse", "mae", "r2"]
FAIRNESS_METRICS = ("demographic_parity_difference", "equal_opportunity_difference")
# The staging traffic a reviewer sees: the last day of it.
STAGING_WINDOW = timedelta(hours=24)
# Deltas smaller than this are shown as "same": four decimals is what the table prints.
SAME_WITHIN = 5e-5


@dataclass
class MetricRow:
    metric: str
    candidate: float | None
    current: float | None
    delta: float | None = None
    verdict: str = ""  # better, worse, same, or "" when there is nothing to compare

    @property
    def lower_is_better(self):
        return self.metric in LOWER_IS_BETTER


@dataclass
class Evidence:
    candidate: ModelVersion
    environment: str
    current: ModelVersion | None
    metrics: list[MetricRow]
    gate: dict | None
    validation: dict | None
    fairness_limits: list[dict]
    staging: dict | None
    charts: dict = field(default_factory=dict)


def _number(value):
    return value if isinstance(value, int | float) and not isinstance(value, bool) else None


def metric_rows(candidate_metrics, current_metrics):
    """One row per scalar metric, key metrics first, with the delta and whether it is better or worse."""
    current_metrics = current_metrics or {}
    names = [m for m in candidate_metrics if _number(candidate_metrics[m]) is not None]
    names = sorted(names, key=lambda m: (KEY_METRICS.index(m) if m in KEY_METRICS else len(KEY_METRICS), m))
    rows = []
    for name in names:
        row = MetricRow(name, candidate_metrics[name], _number(current_metrics.get(name)))
        if row.current is not None:
            row.delta = row.candidate - row.current
            if abs(row.delta) < SAME_WITHIN:
                row.verdict = "same"
            else:
                improved = row.delta < 0 if row.lower_is_better else row.delta > 0
                row.verdict = "better" if improved else "worse"
        rows.append(row)
    return rows


def serving_version(model, environment):
    """The primary version serving ``model`` in ``environment``, or None."""
    deployment = (
        Deployment.objects.filter(model=model, environment__name=environment).select_related("primary_version").first()
    )
    return deployment.primary_version if deployment else None


def _step_outputs(run, step_type):
    if run is None:
        return None
    step = (
        run.steps.filter(type=step_type, status__in=[StepStatus.SUCCEEDED, StepStatus.FAILED])
        .order_by("-position")
        .first()
    )
    return step.outputs if step else None


def _chart_data(version):
    if version is None:
        return None
    evaluation = version.evaluation or {}
    return {
        "label": f"v{version.version}",
        "curves": evaluation.get("curves") or {},
        "confusion_matrix": evaluation.get("confusion_matrix"),
        "feature_importance": (evaluation.get("feature_importance") or [])[:15],
        "cost_curve": evaluation.get("cost_curve"),
    }


def _staging_summary(candidate):
    """Where the candidate already serves in staging: since when and by whom (monitoring figures join later)."""
    deployment = (
        Deployment.objects.filter(model=candidate.model, environment__name="staging", primary_version=candidate)
        .select_related("environment")
        .first()
    )
    if deployment is None:
        return None
    event = DeploymentEvent.objects.filter(deployment=deployment, version=candidate).order_by("-created_at").first()
    since = event.created_at if event else deployment.updated_at
    traffic = (
        PredictionLog.objects.filter(
            deployment=deployment, model_version=candidate, created_at__gte=max(since, timezone.now() - STAGING_WINDOW)
        )
        .exclude(role=PredictionLog.Role.SHADOW)
        .aggregate(
            requests=Count("id"),
            rows=Sum("rows"),
            errors=Count("id", filter=Q(status_code__gte=400)),
            latency=Avg("latency_ms", filter=Q(status_code=200)),
        )
    )
    return {"since": since, "by": event.actor_name if event else "", **traffic}


def build_evidence(candidate, environment=""):
    """Everything a reviewer needs about ``candidate`` going to ``environment`` (production when not named)."""
    environment = environment or "production"
    current = serving_version(candidate.model, environment)
    if current is not None and current.pk == candidate.pk:
        current = None
    gate = _step_outputs(candidate.run, "policy_gate")
    fairness_limits = [
        rule for rule in (gate or {}).get("rules", []) if any(name in rule["rule"] for name in FAIRNESS_METRICS)
    ]
    return Evidence(
        candidate=candidate,
        environment=environment,
        current=current,
        metrics=metric_rows(candidate.metrics or {}, current.metrics if current else None),
        gate=gate,
        validation=_step_outputs(candidate.run, "validate_data"),
        fairness_limits=fairness_limits,
        staging=_staging_summary(candidate) if environment != "staging" else None,
        charts={"candidate": _chart_data(candidate), "current": _chart_data(current)},
    )
