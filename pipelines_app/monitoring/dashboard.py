"""What the monitoring pages draw, as data: the overview's row per deployment (``overview_rows``), a deployment's
dashboard charts (``charts``, the JSON ``static/js/monitoring_dashboard.js`` reads) and one feature's drift over
time (``feature_chart``). Views fetch with their access check, call one of these and render; all of it reads
rollups, and the overview's queries do not grow with the number of deployments."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import OuterRef, Subquery
from django.utils import timezone

from pipelines_app.models import Alert, Deployment, DeploymentEvent
from pipelines_app.monitoring import bins, drift, rollups
from pipelines_app.monitoring.estimate import estimate
from pipelines_app.monitoring.summary import (
    feature_drift,
    labelled_rows_by_deployment,
    labels_due_until,
    parse_window,
    performance_series,
    realised_performance,
    selection_by_group,
    summarise,
    traffic_figures,
)

OVERVIEW_WINDOW = "24h"
SPARKLINE_HOURS = 24


class FeatureUnknown(LookupError):
    """The deployment's model takes no input of that name."""


def worst_level(results) -> str:
    """The most severe drift level among per-feature results: alert, then warn, else ok."""
    levels = {result["level"] for result in results}
    return "alert" if "alert" in levels else "warn" if "warn" in levels else "ok"


def overview_rows(window_text=OVERVIEW_WINDOW) -> list[dict]:
    """Per deployment that serves a version: its summary's headline figures (``data``: version, requests,
    error and positive rates, latency, share of features drifted, realised and estimated performance), its worst
    feature drift, its latest alert and its requests per hour over the last day (``hourly_requests``, oldest
    first). Four queries, however many deployments there are (five for a window not read by hours)."""
    now = timezone.now()
    since = now - parse_window(window_text)
    latest = Alert.objects.filter(rule__deployment=OuterRef("pk")).order_by("-started_at", "-id").values("pk")[:1]
    deployments = list(
        Deployment.objects.filter(primary_version__isnull=False)
        .select_related("environment", "model", "primary_version")
        .annotate(last_alert_id=Subquery(latest))
        .order_by("environment__name", "model__name")
    )
    last_alerts = Alert.objects.select_related("rule").in_bulk(
        [d.last_alert_id for d in deployments if d.last_alert_id]
    )
    totals = rollups.windows({d.pk: d.primary_version for d in deployments}, since)
    labelled = labelled_rows_by_deployment({d.pk: labels_due_until(d, now) for d in deployments}, since)
    hourly = _hourly_windows(totals, now, since)
    rows = []
    for deployment in deployments:
        version, window = deployment.primary_version, totals[deployment.pk]
        thresholds = deployment.model.drift_thresholds()
        specs = bins.reference_bins(version.reference_profile, version.feature_schema)
        features = feature_drift(specs, window.features, thresholds)
        truth, predicted, scores, _ = labelled[deployment.pk]
        positive = (version.target_info or {}).get("positive_label")
        data = {
            "version": version.version,
            **traffic_figures(window),
            "share_drifted": drift.overall(features, thresholds["share"])["share_drifted"],
            "performance": {
                "realised": realised_performance(truth, predicted, scores, positive),
                "estimated": estimate(window.scores, version.evaluation),
            },
        }
        rows.append(
            {
                "deployment": deployment,
                "data": data,
                "drift_level": worst_level(features.values()),
                "last_alert": last_alerts.get(deployment.last_alert_id),
                "hourly_requests": hourly_requests(hourly[deployment.pk], now),
            }
        )
    return rows


def _hourly_windows(totals, now, since) -> dict:
    """The last day by hours per deployment: the overview's own windows when they were read by hours and reach
    back far enough (the 24 h default), else one more query for all deployments."""
    start = now - timedelta(hours=SPARKLINE_HOURS)
    if all(w.granularity == "hour" for w in totals.values()) and since <= start:
        return totals
    return rollups.windows(dict.fromkeys(totals), start, granularity="hour")


def hourly_requests(window, now, hours=SPARKLINE_HOURS) -> list[int]:
    """Requests per hour over the last ``hours`` hours (the current one last) from a window read by hours; an
    hour without traffic counts zero."""
    current = now.replace(minute=0, second=0, microsecond=0)
    counts = {bucket["t"]: bucket["requests"] for bucket in window.series}
    return [counts.get(current - timedelta(hours=back), 0) for back in range(hours - 1, -1, -1)]


def charts(deployment, window_text) -> dict:
    """The dashboard's charts as one JSON object (raises WindowInvalid): the summary, and per bucket of the
    window its traffic, the selection rate by group and the performance; each feature's counts against
    training; the deployment's events in the window."""
    summarised = summarise(deployment, window_text)
    data, totals, specs = summarised.data, summarised.totals, summarised.specs
    version = deployment.primary_version
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
    fairness_series = {
        entry["feature"]: _selection_over_time(specs, entry["feature"], totals) for entry in data["fairness"]
    }
    data.update(
        series=series,
        features=features,
        scores=totals.scores,
        reference_scores=(version.evaluation or {}).get("score_histogram") if version else None,
        fairness_series=fairness_series,
        performance_series=performance_series(version, totals, summarised.labelled),
        events=events,
        granularity=totals.granularity,
    )
    return data


def _selection_over_time(specs, name, totals) -> dict:
    """One sensitive feature's selection rate per group, per bucket of the window that has rows of it."""
    groups = bins.groups(specs[name])
    names = [group for group, _ in groups]
    points = []
    for bucket in totals.series:
        rates = {
            g["group"]: g["selection_rate"]
            for g in selection_by_group(
                groups,
                (bucket.get("features") or {}).get(name) or [],
                (bucket.get("group_positives") or {}).get(name) or [],
            )
        }
        if rates:
            points.append({"t": bucket["t"].isoformat(), "rates": [rates.get(group) for group in names]})
    return {"groups": names, "points": points}


@dataclass
class FeatureChart:
    """One feature of a deployment in a window: its kind, its drift (``result``) and what the page's charts draw
    (``chart``: labels, training and current counts, PSI per bucket and the PSI limits)."""

    kind: str
    result: dict
    chart: dict


def feature_chart(deployment, feature, window_text) -> FeatureChart:
    """Raises FeatureUnknown for a name the model does not take, then WindowInvalid for a bad window."""
    version = deployment.primary_version
    specs = bins.reference_bins(version.reference_profile, version.feature_schema) if version else {}
    if feature not in specs:
        raise FeatureUnknown(feature)
    since = timezone.now() - parse_window(window_text)
    totals = rollups.window(deployment, since, version=version)
    thresholds = deployment.model.drift_thresholds()
    spec = specs[feature]
    over_time = []
    for bucket in totals.series:
        counts = (bucket.get("features") or {}).get(feature)
        if counts and sum(counts):
            over_time.append({"t": bucket["t"].isoformat(), "psi": round(drift.psi(spec["reference"], counts), 6)})
    return FeatureChart(
        kind=spec["kind"],
        result=feature_drift({feature: spec}, totals.features, thresholds)[feature],
        chart={
            "labels": bins.labels(spec),
            "reference": spec["reference"],
            "current": totals.features.get(feature) or [0] * len(spec["reference"]),
            "over_time": over_time,
            "granularity": totals.granularity,
            "psi_limits": thresholds["psi"],
        },
    )
