"""Monitoring: every deployment's health on one page, and each deployment's dashboard (data from rollups)."""

from django.http import JsonResponse
from django.shortcuts import get_object_or_404, render

from pipelines_app.models import Deployment, DeploymentEvent
from pipelines_app.monitoring import bins, rollups
from pipelines_app.monitoring.summary import WindowInvalid, summary
from pipelines_app.permissions import Role, role_required

WINDOWS = ["1h", "6h", "24h", "7d", "30d"]


def _deployment(model, environment):
    return get_object_or_404(
        Deployment.objects.select_related("environment", "model", "primary_version", "canary_version"),
        model__name=model,
        environment__name=environment,
    )


@role_required(Role.VIEWER)
def overview(request):
    rows = []
    deployments = Deployment.objects.select_related("environment", "model", "primary_version").order_by(
        "environment__name", "model__name"
    )
    for deployment in deployments:
        if deployment.primary_version is None:
            continue
        data = summary(deployment, "24h")
        levels = [f["level"] for name, f in data["drift"].items() if isinstance(f, dict)]
        rows.append(
            {
                "deployment": deployment,
                "data": data,
                "drift_level": "alert" if "alert" in levels else "warn" if "warn" in levels else "ok",
            }
        )
    return render(request, "monitoring/overview.html", {"rows": rows})


@role_required(Role.VIEWER)
def dashboard(request, model, environment):
    deployment = _deployment(model, environment)
    window = request.GET.get("window", "24h")
    return render(
        request,
        "monitoring/dashboard.html",
        {"deployment": deployment, "window": window, "windows": WINDOWS},
    )


@role_required(Role.VIEWER)
def dashboard_data(request, model, environment):
    """The dashboard's charts as JSON: one request, read from rollups only."""
    deployment = _deployment(model, environment)
    try:
        data = summary(deployment, request.GET.get("window", "24h"))
    except WindowInvalid as exc:
        return JsonResponse({"error": str(exc)}, status=400)
    totals = data.pop("_totals")
    version = deployment.primary_version
    specs = bins.reference_bins(version.reference_profile, version.feature_schema) if version else {}
    series = [
        {
            "t": minute["t"].isoformat(),
            "requests": minute["requests"],
            "error_rate": minute["errors"] / minute["requests"] if minute["requests"] else None,
            "positive_rate": minute["positives"] / minute["rows"] if minute["rows"] else None,
            "p50": rollups.percentile(minute["latency"], 0.5),
            "p95": rollups.percentile(minute["latency"], 0.95),
            "p99": rollups.percentile(minute["latency"], 0.99),
        }
        for minute in totals.series
    ]
    features = {
        name: {
            "labels": bins.labels(spec),
            "reference": spec["reference"],
            "current": totals.features.get(name) or [0] * len(spec["reference"]),
        }
        for name, spec in specs.items()
    }
    events = [
        {"t": e.created_at.isoformat(), "action": e.action, "version": e.version.version if e.version else None}
        for e in DeploymentEvent.objects.filter(deployment=deployment, created_at__gte=data["since"]).select_related(
            "version"
        )
    ]
    data.update(series=series, features=features, scores=totals.scores, events=events)
    return JsonResponse(data)
