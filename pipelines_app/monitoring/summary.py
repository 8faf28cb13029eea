"""What a deployment's dashboard and ``GET /api/v1/monitoring/<model>/<environment>/summary/`` show, as data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np
from django.db.models import F, Q, Window
from django.db.models.functions import RowNumber
from django.utils import timezone

from pipelines_app.ml.training import REGRESSION
from pipelines_app.models import Alert, Feedback, ModelVersion
from pipelines_app.monitoring import bins, drift, rollups
from pipelines_app.monitoring.estimate import estimate
from pipelines_app.spec.durations import parse_duration

MAX_WINDOW = timedelta(days=90)
MAX_LABELS = 100_000


class WindowInvalid(ValueError):
    """A window that cannot be read, e.g. '3 weeks'; the message says what is accepted."""


def parse_window(text: str) -> timedelta:
    try:
        seconds = parse_duration(text or "24h")
    except ValueError:
        raise WindowInvalid(f"'{text}' is not a window: write it like 30m, 1h, 24h or 7d.") from None
    if seconds <= 0 or seconds > MAX_WINDOW.total_seconds():
        raise WindowInvalid("A window runs from one minute to 90 days.")
    return timedelta(seconds=seconds)


def feature_drift(specs: dict, features: dict, thresholds=None) -> dict:
    """Per feature (``specs``: the version's ``bins.reference_bins``): its drift in the window's binned counts
    against the training profile."""
    result = {}
    for name, spec in specs.items():
        current = features.get(name) or [0] * len(spec["reference"])
        result[name] = drift.feature_drift(
            spec["kind"],
            spec["reference"],
            current,
            edges=spec.get("edges"),
            std=spec.get("std"),
            thresholds=thresholds,
        )
    return result


def labelled_rows(deployment, since, until=None) -> tuple[list, list, list, list]:
    """(true label, prediction, score, time scored) of each labelled row in the window, up to ``until`` (labels
    of later rows are not due yet); labels as text."""
    labels = Feedback.objects.filter(prediction_log__deployment=deployment, prediction_log__created_at__gte=since)
    if until is not None:
        labels = labels.filter(prediction_log__created_at__lt=until)
    return _rows_of(_readable(labels).order_by("-id")[:MAX_LABELS])


def labelled_rows_by_deployment(dues: dict, since) -> dict[int, tuple[list, list, list, list]]:
    """``labelled_rows`` of many deployments in one query: ``dues`` maps a deployment's id to until when its
    labels are due (None: all of them)."""
    if not dues:
        return {}
    each = Q()
    for deployment_id, until in dues.items():
        due = Q(prediction_log__created_at__lt=until) if until is not None else Q()
        each |= Q(prediction_log__deployment_id=deployment_id) & due
    labels = (
        _readable(Feedback.objects.filter(each, prediction_log__created_at__gte=since))
        # The latest MAX_LABELS of each deployment, as ``labelled_rows`` reads them.
        .annotate(nth=Window(RowNumber(), partition_by=F("prediction_log__deployment_id"), order_by=F("id").desc()))
        .filter(nth__lte=MAX_LABELS)
        .order_by("-id")
    )
    by_deployment = {deployment_id: [] for deployment_id in dues}
    for feedback in labels:
        by_deployment[feedback.prediction_log.deployment_id].append(feedback)
    return {deployment_id: _rows_of(feedbacks) for deployment_id, feedbacks in by_deployment.items()}


def _readable(labels):
    return (
        labels.exclude(prediction_log__role="shadow")
        .select_related("prediction_log")
        .defer("prediction_log__inputs")  # the bulk of a log, not needed here
    )


def _rows_of(labels) -> tuple[list, list, list, list]:
    truth, predicted, scores, times = [], [], [], []
    for feedback in labels:
        log = feedback.prediction_log
        if feedback.row >= len(log.predictions or []):
            continue
        truth.append(str(feedback.label))
        predicted.append(str(log.predictions[feedback.row]))
        scores.append((log.scores or [None] * log.rows)[feedback.row] if log.scores else None)
        times.append(log.created_at)
    return truth, predicted, scores, times


def realised_performance(truth, predicted, scores, positive_label) -> dict:
    """Accuracy, precision, recall and ROC AUC of the labelled rows."""
    n = len(truth)
    if not n:
        return {"labelled": 0}
    truth_a, predicted_a = np.array(truth), np.array(predicted)
    result = {"labelled": n, "accuracy": round(float(np.mean(truth_a == predicted_a)), 4)}
    if positive_label is not None:
        positive = str(positive_label)
        tp = int(np.sum((predicted_a == positive) & (truth_a == positive)))
        fp = int(np.sum((predicted_a == positive) & (truth_a != positive)))
        fn = int(np.sum((predicted_a != positive) & (truth_a == positive)))
        result["precision"] = round(tp / (tp + fp), 4) if tp + fp else None
        result["recall"] = round(tp / (tp + fn), 4) if tp + fn else None
        known = [(t == positive, s) for t, s in zip(truth, scores, strict=True) if s is not None]
        if known and len({k for k, _ in known}) == 2:
            from sklearn.metrics import roc_auc_score

            result["roc_auc"] = round(float(roc_auc_score([k for k, _ in known], [s for _, s in known])), 4)
    return result


def prediction_drift(version, score_counts, thresholds=None) -> dict:
    """The window's scores against the version's test-split scores, in the same 20 bins over 0–1."""
    reference = (version.evaluation or {}).get("score_histogram") if version else None
    rows = int(sum(score_counts))
    if not reference or not sum(reference):
        return {"method": "none", "level": "ok", "rows": rows, "reason": "no test-split scores to compare with"}
    edges = np.linspace(0, 1, len(reference) + 1)
    centres = (edges[:-1] + edges[1:]) / 2
    weights = np.asarray(reference, dtype="float64") / sum(reference)
    std = float(np.sqrt(np.sum(weights * (centres - np.sum(weights * centres)) ** 2)))
    # The same layout as a numeric feature's bins: underflow, the bins, overflow, missing.
    return drift.feature_drift(
        "numeric", [0, *reference, 0, 0], [0, *score_counts, 0, 0], edges=edges, std=std, thresholds=thresholds
    )


def label_drift(version, labels, thresholds=None) -> dict:
    """The window's true labels (from feedback) against the training target's distribution."""
    kind = "numeric" if version.task == REGRESSION else "categorical"
    spec = bins.reference_bins(version.reference_profile, [{"name": version.target, "kind": kind}]).get(version.target)
    if spec is None:
        return {"method": "none", "level": "ok", "rows": len(labels), "reason": "no profile of the training target"}
    if not labels:
        return {"method": "none", "level": "ok", "rows": 0, "reason": "no labels in the window yet"}
    if kind == "numeric":
        values = [_number_or_none(label) for label in labels]
    else:
        values = labels
    current = bins.count(spec, values)
    return drift.feature_drift(
        kind, spec["reference"], current, edges=spec.get("edges"), std=spec.get("std"), thresholds=thresholds
    )


def _number_or_none(text):
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def selection_by_group(groups, counts, positives) -> list[dict]:
    """Rows and selection rate (share predicted positive) per group of one sensitive feature (``groups``: its
    ``bins.groups``); empty groups left out."""
    result = []
    for name, members in groups:
        rows = sum(counts[i] for i in members if i < len(counts))
        chosen = sum(positives[i] for i in members if i < len(positives))
        if rows:
            result.append({"group": name, "rows": rows, "selection_rate": round(chosen / rows, 4)})
    return result


def fairness(version, specs, totals) -> list[dict]:
    """For each sensitive feature the evaluate step judged (and the model takes as input): the window's selection
    rate per group and the gap between groups, next to the gap measured on the test split."""
    if version is None:
        return []
    evaluated = {r.get("feature"): r for r in (version.evaluation or {}).get("fairness") or []}
    result = []
    for name in rollups.sensitive_features(version, specs):
        groups = selection_by_group(
            bins.groups(specs[name]), totals.features.get(name) or [], totals.group_positives.get(name) or []
        )
        rates = [g["selection_rate"] for g in groups]
        result.append(
            {
                "feature": name,
                "groups": groups,
                "demographic_parity_difference": round(max(rates) - min(rates), 4) if len(rates) > 1 else None,
                "at_evaluation": evaluated[name].get("demographic_parity_difference"),
            }
        )
    return result


@dataclass
class Labelled:
    """The window's labelled rows (labels as text), and until when labels are due (None: all of them)."""

    truth: list
    predicted: list
    scores: list
    times: list
    due_until: datetime | None


@dataclass
class Summary:
    """A summary (``data``, what the API returns) and what the dashboard draws from besides: the window's
    rollups, the version's bins and the labelled rows."""

    data: dict
    totals: rollups.Window
    specs: dict = field(default_factory=dict)
    labelled: Labelled | None = None


def performance_series(version, totals, labelled: Labelled) -> list[dict]:
    """Per bucket of the window: realised metrics of its labelled rows and their coverage (only for buckets
    whose labels are due), and the metrics estimated from its scores alone."""
    positive = (version.target_info or {}).get("positive_label") if version else None
    start_of = rollups.GRANULARITIES[totals.granularity]
    by_bucket = {}
    for row in zip(labelled.truth, labelled.predicted, labelled.scores, labelled.times, strict=True):
        by_bucket.setdefault(start_of(row[3].replace(second=0, microsecond=0)), []).append(row)
    series = []
    for bucket in totals.series:
        rows = by_bucket.get(bucket["t"], [])
        due = labelled.due_until is None or bucket["t"] < labelled.due_until
        point = {"t": bucket["t"].isoformat(), "due": due}
        if due and bucket["rows"]:
            realised = realised_performance([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows], positive)
            point.update(realised=realised, label_coverage=round(len(rows) / bucket["rows"], 4))
        point["estimated"] = estimate(bucket.get("scores") or [], version.evaluation) if version else None
        series.append(point)
    return series


def _side_by_side(by_version) -> list[dict]:
    """Each version and role that served in the window (primary and canary, side by side while a canary runs)."""
    numbers = dict(ModelVersion.objects.filter(pk__in={v for v, _ in by_version}).values_list("pk", "version"))
    return [
        {
            "version": numbers.get(version_id),
            "role": role,
            "requests": side["requests"],
            "rows": side["rows"],
            "error_rate": round(side["errors"] / side["requests"], 4) if side["requests"] else None,
            "positive_rate": round(side["positives"] / side["rows"], 4) if side["rows"] else None,
            "latency_p95": rollups.percentile(side["latency"], 0.95),
        }
        for (version_id, role), side in sorted(by_version.items(), key=lambda item: item[0][1] != "primary")
    ]


def traffic_figures(totals: rollups.Window) -> dict:
    """Requests, rows, errors and latency of a window, as the summary shows them."""
    return {
        "requests": totals.requests,
        "rows": totals.rows,
        "errors": totals.errors,
        "error_rate": round(totals.errors / totals.requests, 4) if totals.requests else None,
        "positive_rate": round(totals.positives / totals.rows, 4) if totals.rows else None,
        "latency_ms": {
            "p50": rollups.percentile(totals.latency, 0.50),
            "p95": rollups.percentile(totals.latency, 0.95),
            "p99": rollups.percentile(totals.latency, 0.99),
        },
    }


def labels_due_until(deployment, now):
    """Until when the outcomes of the deployment's predictions are due (None: all of them): they take the
    model's label latency to arrive."""
    latency = timedelta(hours=deployment.model.label_latency_hours)
    return now - latency if latency else None


def summary(deployment, window_text="24h") -> dict:
    """What the summary API returns (raises WindowInvalid)."""
    return summarise(deployment, window_text).data


def summarise(deployment, window_text="24h") -> Summary:
    span = parse_window(window_text)
    now = timezone.now()
    since = now - span
    version = deployment.primary_version
    totals = rollups.window(deployment, since, version=version)
    thresholds = deployment.model.drift_thresholds()
    specs = bins.reference_bins(version.reference_profile, version.feature_schema) if version else {}
    features = feature_drift(specs, totals.features, thresholds)
    overall = drift.overall(features, thresholds["share"])
    positive = (version.target_info or {}).get("positive_label") if version else None
    # Outcomes take the model's label latency to arrive: only predictions that old are judged, and the label
    # coverage is of those.
    due_by = labels_due_until(deployment, now)
    truth, predicted, scores, times = labelled_rows(deployment, since, due_by)
    performance = realised_performance(truth, predicted, scores, positive)
    due = rollups.window(deployment, since, due_by, version) if due_by else totals
    performance["label_coverage"] = round(performance["labelled"] / due.rows, 4) if due.rows else None
    performance["label_latency_hours"] = deployment.model.label_latency_hours
    performance["rows_due"] = due.rows
    data = {
        "model": deployment.model.name,
        "environment": deployment.environment.name,
        "window": window_text or "24h",
        "since": since.isoformat(),
        "version": version.version if version else None,
        **traffic_figures(totals),
        "versions": _side_by_side(totals.by_version),
        "drift": {**features, "share_drifted": overall["share_drifted"]},
        "share_drifted": overall["share_drifted"],
        "dataset_drift": overall["dataset_drift"],
        "thresholds": thresholds,
        "prediction_drift": prediction_drift(version, totals.scores, thresholds),
        "label_drift": label_drift(version, truth, thresholds) if version else None,
        "fairness": fairness(version, specs, totals),
        "performance": {
            "realised": performance,
            "estimated": estimate(totals.scores, version.evaluation) if version else None,
        },
        "alerts": [
            {"id": a.pk, "rule": str(a.rule), "state": a.state, "value": a.value, "since": a.started_at.isoformat()}
            for a in Alert.objects.filter(rule__deployment=deployment)
            .exclude(state=Alert.State.RESOLVED)
            .select_related("rule")
        ],
    }
    return Summary(data, totals, specs, Labelled(truth, predicted, scores, times, due_by))
