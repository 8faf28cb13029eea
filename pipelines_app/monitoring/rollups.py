"""Folding prediction logs into per-minute rollups, and reading a window of them back.

``fold`` (a Celery task on the ``monitoring`` queue, every few seconds) takes the logs after the cursor in id
order, groups them by deployment, version, role and minute, counts them into the bins of each version's
training profile and adds them to the minute's rollup, moving the cursor in the same transaction: a log is
folded once. ``window`` sums the rollups of a time window: the only thing dashboards and drift read.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import orjson
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from pipelines_app.ml.metrics import SCORE_HISTOGRAM_BINS
from pipelines_app.models import ModelVersion, PredictionLog, Rollup, RollupCursor
from pipelines_app.monitoring import bins

FOLD_BATCH = 20_000
# Request latency bins, in milliseconds: fine where serving lives (under 10 ms), coarse beyond.
LATENCY_EDGES_MS = [0, 0.5, 1, 1.5, 2, 3, 4, 5, 7, 10, 15, 20, 30, 50, 75, 100, 150, 200, 300, 500, 750, 1000,
                    2000, 5000]  # fmt: skip
SCORE_BINS = SCORE_HISTOGRAM_BINS  # the evaluation's test-split histogram has the same bins


@dataclass
class _Bucket:
    requests: int = 0
    rows: int = 0
    errors: int = 0
    latency: np.ndarray = field(default_factory=lambda: np.zeros(len(LATENCY_EDGES_MS), dtype=np.int64))
    scores: np.ndarray = field(default_factory=lambda: np.zeros(SCORE_BINS, dtype=np.int64))
    positives: int = 0
    values: dict = field(default_factory=lambda: defaultdict(list))  # raw values, minute buckets only
    flags: list = field(default_factory=list)  # per row of ``values``: 1 when predicted positive
    counts: dict = field(default_factory=dict)  # feature → counts per bin
    group_positives: dict = field(default_factory=dict)  # sensitive feature → rows predicted positive per bin


class _Versions:
    """Bins, positive label and sensitive features per model version, read once per fold."""

    def __init__(self):
        self._cache = {}

    def get(self, version_id):
        if version_id not in self._cache:
            version = ModelVersion.objects.filter(pk=version_id).first()
            if version is None:
                self._cache[version_id] = ({}, None, [])
            else:
                specs = bins.reference_bins(version.reference_profile, version.feature_schema)
                positive = (version.target_info or {}).get("positive_label")
                self._cache[version_id] = (specs, positive, sensitive_features(version, specs))
        return self._cache[version_id]


def sensitive_features(version, specs) -> list[str]:
    """The features the evaluate step judged fairness by, where the model also takes them as inputs (a sensitive
    column that is not a feature never reaches serving, so its groups cannot be followed there)."""
    if (version.target_info or {}).get("positive_label") is None:
        return []
    named = [report.get("feature") for report in (version.evaluation or {}).get("fairness") or []]
    return [name for name in named if name in specs]


def _json(text):
    return orjson.loads(text) if text else None


GRANULARITIES = {
    "minute": lambda t: t,
    "hour": lambda t: t.replace(minute=0),
    "day": lambda t: t.replace(hour=0, minute=0),
}


def _merge_into(target: _Bucket, source: _Bucket):
    target.requests += source.requests
    target.rows += source.rows
    target.errors += source.errors
    target.latency += source.latency
    target.scores += source.scores
    target.positives += source.positives
    for held, added in ((target.counts, source.counts), (target.group_positives, source.group_positives)):
        for name, counts in added.items():
            held[name] = held[name] + counts if name in held else counts.copy()


def latency_bin(ms: float) -> int:
    return max(0, int(np.searchsorted(LATENCY_EDGES_MS, ms, side="right")) - 1)


def fold(limit: int = FOLD_BATCH) -> int:
    """Fold the next logs into rollups; returns how many logs were folded."""
    with transaction.atomic():
        cursor, _ = RollupCursor.objects.get_or_create(name="predictions")
        cursor = RollupCursor.objects.select_for_update().get(pk=cursor.pk)
        logs = list(
            PredictionLog.objects.filter(id__gt=cursor.last_id)
            # The JSON as text, parsed by orjson: several times faster than the json module Django uses.
            .annotate(
                inputs_text=Cast("inputs", TextField()),
                predictions_text=Cast("predictions", TextField()),
                scores_text=Cast("scores", TextField()),
            )
            .order_by("id")
            .values_list(
                "id",
                "deployment_id",
                "model_version_id",
                "role",
                "rows",
                "status_code",
                "latency_ms",
                "created_at",
                "inputs_text",
                "predictions_text",
                "scores_text",
            )[:limit]  # fmt: skip
        )
        if not logs:
            return 0
        versions = _Versions()
        buckets: dict[tuple, _Bucket] = defaultdict(_Bucket)
        minutes: dict[tuple, _Bucket] = defaultdict(_Bucket)
        for _, deployment, version, role, rows, code, latency, at, inputs, predictions, scores in logs:
            inputs, predictions, scores = _json(inputs), _json(predictions), _json(scores)
            bucket = minutes[(deployment, version, role, at.replace(second=0, microsecond=0))]
            bucket.requests += 1
            bucket.latency[min(latency_bin(latency), len(LATENCY_EDGES_MS) - 1)] += 1
            if code >= 400:
                bucket.errors += 1
                continue
            bucket.rows += rows
            specs, positive, sensitive = versions.get(version)
            if positive is not None:
                flags = [1 if p == positive else 0 for p in predictions or []]
                bucket.positives += sum(flags)
                if sensitive:
                    bucket.flags.extend(flags if len(flags) == rows else [0] * rows)
            if scores:
                valid = [s for s in scores if isinstance(s, float | int)]
                index = np.minimum((np.asarray(valid) * SCORE_BINS).astype(int), SCORE_BINS - 1)
                bucket.scores += np.bincount(index, minlength=SCORE_BINS)
            for name in specs:
                bucket.values[name].extend((inputs or {}).get(name) or [None] * rows)
        # Values are counted into bins once, per minute; the counts go into the minute, its hour and its day, so
        # that long windows read few, large buckets.
        for (_, version, _, _), bucket in minutes.items():
            specs, _, sensitive = versions.get(version)
            bucket.counts = {
                name: np.asarray(bins.count(specs[name], values)) for name, values in bucket.values.items()
            }
            if sensitive and len(bucket.flags) == bucket.rows:
                flags = np.asarray(bucket.flags, dtype="float64")
                bucket.group_positives = {
                    name: np.asarray(bins.count(specs[name], bucket.values[name], flags)) for name in sensitive
                }
        for granularity, start_of in GRANULARITIES.items():
            for (deployment, version, role, minute), bucket in minutes.items():
                _merge_into(buckets[(deployment, version, role, granularity, start_of(minute))], bucket)
        _store(buckets)
        cursor.last_id = logs[-1][0]
        cursor.save(update_fields=["last_id"])
    return len(logs)


def _store(buckets):
    keys = list(buckets)
    existing = {
        (r.deployment_id, r.model_version_id, r.role, r.granularity, r.bucket): r
        for r in Rollup.objects.select_for_update().filter(
            deployment_id__in={k[0] for k in keys}, bucket__in={k[4] for k in keys}
        )
    }
    created, updated = [], []
    for key, bucket in buckets.items():
        counts = {name: [int(c) for c in values] for name, values in bucket.counts.items()}
        group_positives = {name: [int(c) for c in values] for name, values in bucket.group_positives.items()}
        row = existing.get(key)
        if row is None:
            created.append(
                Rollup(
                    deployment_id=key[0],
                    model_version_id=key[1],
                    role=key[2],
                    granularity=key[3],
                    bucket=key[4],
                    requests=bucket.requests,
                    rows=bucket.rows,
                    errors=bucket.errors,
                    latency_counts=bucket.latency.tolist(),
                    score_counts=bucket.scores.tolist(),
                    positives=bucket.positives,
                    feature_counts=counts,
                    group_positives=group_positives,
                )
            )
            continue
        row.requests += bucket.requests
        row.rows += bucket.rows
        row.errors += bucket.errors
        row.latency_counts = _add(row.latency_counts, bucket.latency.tolist())
        row.score_counts = _add(row.score_counts, bucket.scores.tolist())
        row.positives += bucket.positives
        row.feature_counts = _add_each(row.feature_counts, counts)
        row.group_positives = _add_each(row.group_positives, group_positives)
        updated.append(row)
    Rollup.objects.bulk_create(created)
    counted = ["latency_counts", "score_counts", "positives", "feature_counts", "group_positives"]
    Rollup.objects.bulk_update(updated, ["requests", "rows", "errors", *counted])


def _add(a, b):
    if len(a) < len(b):
        a = list(a) + [0] * (len(b) - len(a))
    return [x + (b[i] if i < len(b) else 0) for i, x in enumerate(a)]


def _add_each(a: dict, b: dict) -> dict:
    """Name → counts, summed name by name."""
    return {name: _add(a.get(name, []), b.get(name, [])) for name in a.keys() | b.keys()}


@dataclass
class Window:
    """The sum of a window's rollups, overall and per minute."""

    requests: int = 0
    rows: int = 0
    errors: int = 0
    positives: int = 0
    latency: list = field(default_factory=lambda: [0] * len(LATENCY_EDGES_MS))
    scores: list = field(default_factory=lambda: [0] * SCORE_BINS)
    features: dict = field(default_factory=dict)  # of the version asked for
    group_positives: dict = field(default_factory=dict)  # of the version asked for: sensitive feature → per bin
    series: list = field(default_factory=list)  # per bucket: time, requests, rows, errors, positives, latency
    granularity: str = "minute"
    by_version: dict = field(default_factory=dict)  # (version id, role) → requests, rows, errors, positives, latency


def granularity_for(span) -> str:
    """Minutes up to six hours, hours up to a week, days beyond: a window reads at most a few hundred buckets."""
    # To the minute: a 7-day window measured a few milliseconds after its start was taken is still 7 days.
    hours = round(span.total_seconds() / 60) / 60
    return "minute" if hours <= 6 else "hour" if hours <= 24 * 7 else "day"


def window(deployment, since, until=None, version=None, granularity=None) -> Window:
    """Rollups of ``deployment`` from ``since`` (shadow traffic aside); feature counts of ``version`` only.

    Hour and day buckets start on the hour or day: a window from 10:20 read by hours also counts 10:00–10:20."""
    return windows({deployment.pk: version}, since, until, granularity)[deployment.pk]


def windows(versions: dict, since, until=None, granularity=None) -> dict[int, Window]:
    """``window`` of many deployments in one query: ``versions`` maps a deployment's id to the version whose
    feature counts are read (None: none); the answer maps each of those ids to its window."""
    granularity = granularity or granularity_for((until or timezone.now()) - since)
    start = GRANULARITIES[granularity](since.replace(second=0, microsecond=0))
    rollups = Rollup.objects.filter(deployment_id__in=versions, granularity=granularity, bucket__gte=start).exclude(
        role="shadow"
    )
    if until is not None:
        rollups = rollups.filter(bucket__lt=until)
    results = {deployment_id: Window(granularity=granularity) for deployment_id in versions}
    per_minute = {deployment_id: {} for deployment_id in versions}
    for r in rollups.order_by("deployment_id", "bucket").iterator():
        result, version = results[r.deployment_id], versions[r.deployment_id]
        result.requests += r.requests
        result.rows += r.rows
        result.errors += r.errors
        result.positives += r.positives
        result.latency = _add(result.latency, r.latency_counts)
        result.scores = _add(result.scores, r.score_counts)
        side = result.by_version.setdefault(
            (r.model_version_id, r.role), {"requests": 0, "rows": 0, "errors": 0, "positives": 0, "latency": []}
        )
        side["requests"] += r.requests
        side["rows"] += r.rows
        side["errors"] += r.errors
        side["positives"] += r.positives
        side["latency"] = _add(side["latency"], r.latency_counts)
        if version is not None and r.model_version_id == version.pk:
            result.features = _add_each(result.features, r.feature_counts)
            result.group_positives = _add_each(result.group_positives, r.group_positives)
        minute = per_minute[r.deployment_id].setdefault(
            r.bucket,
            {"t": r.bucket, "requests": 0, "rows": 0, "errors": 0, "positives": 0, "latency": [], "scores": []},
        )
        minute["requests"] += r.requests
        minute["rows"] += r.rows
        minute["errors"] += r.errors
        minute["positives"] += r.positives
        minute["latency"] = _add(minute["latency"], r.latency_counts)
        minute["scores"] = _add(minute["scores"], r.score_counts)
        if version is not None and r.model_version_id == version.pk:
            # Per bucket too, so that a feature's drift and the selection by group can be drawn over time.
            minute["features"] = _add_each(minute.get("features", {}), r.feature_counts)
            minute["group_positives"] = _add_each(minute.get("group_positives", {}), r.group_positives)
    for deployment_id, result in results.items():
        result.series = list(per_minute[deployment_id].values())
    return results


def percentile(counts, q) -> float | None:
    """The q-quantile (0–1) of a latency histogram, interpolated within the bin that holds it."""
    total = sum(counts)
    if not total:
        return None
    target = q * total
    running = 0
    for i, c in enumerate(counts):
        if c and running + c >= target:
            lower = LATENCY_EDGES_MS[i]
            upper = LATENCY_EDGES_MS[i + 1] if i + 1 < len(LATENCY_EDGES_MS) else LATENCY_EDGES_MS[-1] * 2
            return round(lower + (upper - lower) * (target - running) / c, 3)
        running += c
    return float(LATENCY_EDGES_MS[-1])
