"""Prometheus counters of scoring traffic, added up off the request path.

The scoring view does nothing for them. The prediction log's flusher thread, which already takes each web
process's queued entries every ``PREDICTION_LOG_FLUSH_S``, hands them here: each entry's head (deployment,
version, arm, status, latency, rows) is read, the batch is added up per label set, and only then are the metrics
touched, once per label set and bucket. In prometheus_client's multiprocess mode each increment is a locked write
to a memory-mapped file: observing 1,000 latencies one by one took 4.7 ms, the same batch added up first 0.2 ms.
All told the flusher spends about 1.5 ms per 1,000 requests on counting, half of it parsing the entries' heads.

Under gunicorn the values live in files under ``PROMETHEUS_MULTIPROC_DIR`` (``mlops_site/gunicorn_conf.py``), so
that ``/metrics``, answered by whichever worker takes the scrape, sums every worker's counts. In one process (tests,
runserver) they are plain in-memory values in ``REGISTRY``.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

from pipelines_app.serving import models_cache

# No "<name>_created" series: multiprocess mode has none, so /metrics shows the same series in one process as
# under gunicorn, and a scrape is a third shorter.
disable_created_metrics()
# The serving metrics' own registry: /metrics exposes it in one process; under gunicorn it reads the files instead.
REGISTRY = CollectorRegistry(auto_describe=True)
DEPLOYMENT = ("model", "environment", "version", "arm")
# Seconds, from 0.5 ms (a 1-row request on the fast path) to 10 s; the view's own figure, as logged.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

REQUESTS = Counter(
    "mlops_serving_requests",
    "Scoring requests by deployment, version and arm (primary, canary; shadow: requests mirrored to the shadow "
    "version, which the prediction log's drain scores).",
    DEPLOYMENT,
    registry=REGISTRY,
)
ERRORS = Counter(
    "mlops_serving_errors",
    "Scoring requests answered with an error status (4xx or 5xx).",
    DEPLOYMENT,
    registry=REGISTRY,
)
ROWS = Counter("mlops_serving_rows", "Rows scored (a batch request counts each row).", DEPLOYMENT, registry=REGISTRY)
LATENCY = Histogram(
    "mlops_serving_latency_seconds",
    "Time to answer a scored request, as the scoring view measures it (parse, check, score, encode).",
    DEPLOYMENT,
    buckets=LATENCY_BUCKETS,
    registry=REGISTRY,
)
REFUSALS = Counter(
    "mlops_serving_refusals",
    "Scoring requests refused, by reason (bad_request, unauthorized, forbidden, not_found, too_large, "
    "unsupported_media_type, unavailable, other).",
    ("model", "environment", "reason"),
    registry=REGISTRY,
)

REASONS = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    413: "too_large",
    415: "unsupported_media_type",
    503: "unavailable",
}
UNKNOWN = "unknown"
_UPPER_BOUNDS = [*LATENCY_BUCKETS, float("inf")]
_deployments: dict[int, tuple[str, str]] = {}  # deployment id → (model, environment)
_versions: dict[int, str] = {}  # ModelVersion id → its version number, as a label


def reason(status: int) -> str:
    return REASONS.get(status, "other")


def count(served) -> None:
    """Add up ``served``, an iterable of (deployment id, version id, arm, status, latency in ms, rows, shadow
    version id or None), one per request, and apply the sums."""
    sums: dict[tuple, list] = {}  # (deployment, version, arm) → [requests, errors, rows, seconds, *per bucket]
    refusals = Tally()
    for deployment_id, version_id, arm, status, latency_ms, n, shadow_id in served:
        key = (deployment_id, version_id, arm)
        group = sums.get(key)
        if group is None:
            group = sums[key] = [0, 0, 0, 0.0] + [0] * len(_UPPER_BOUNDS)
        group[0] += 1
        if status != 200:
            group[1] += 1
            refusals[(deployment_id, reason(status))] += 1
            continue
        group[2] += n
        seconds = latency_ms / 1000
        group[3] += seconds
        group[4 + bisect_left(_UPPER_BOUNDS, seconds)] += 1  # the first bucket whose bound is >= seconds
        if shadow_id:
            mirrored = sums.get((deployment_id, shadow_id, "shadow"))
            if mirrored is None:
                mirrored = sums[(deployment_id, shadow_id, "shadow")] = [0, 0, 0, 0.0] + [0] * len(_UPPER_BOUNDS)
            mirrored[0] += 1
    for key, (requests, errors, rows, seconds, *per_bucket) in sums.items():
        labels = _labels(*key)
        REQUESTS.labels(*labels).inc(requests)
        if errors:
            ERRORS.labels(*labels).inc(errors)
        if rows:
            ROWS.labels(*labels).inc(rows)
        if requests > errors and key[2] != "shadow":
            _observe_many(LATENCY.labels(*labels), seconds, per_bucket)
    for (deployment_id, why), value in refusals.items():
        REFUSALS.labels(*_names(deployment_id), why).inc(value)


def _observe_many(child, total, per_bucket):
    """What ``child.observe`` does for each of many values, in one write per bucket instead of one per value:
    prometheus_client keeps a histogram as its sum and one (non-cumulative) count per bucket
    (``Histogram.observe``, 0.26). tests/serving/test_metrics.py checks both give the same samples."""
    child._sum.inc(total)
    for bucket, n in zip(child._buckets, per_bucket, strict=True):
        if n:
            bucket.inc(n)


def _labels(deployment_id, version_id, arm):
    model, environment = _names(deployment_id)
    return model, environment, _version(version_id), arm


def _names(deployment_id):
    names = _deployments.get(deployment_id)
    if names is None:
        _learn()
        names = _deployments.get(deployment_id, (UNKNOWN, UNKNOWN))
    return names


def _version(version_id):
    if version_id is None:
        return ""
    number = _versions.get(version_id)
    if number is None:
        _learn()
        number = _versions.get(version_id, UNKNOWN)
    return number


def _learn():
    """Names for ids, from what this process's serving cache holds: every entry it logs was routed and scored
    through that cache a moment before, so the flusher never asks the database. Names do not change under an id
    (a deployment is one model in one environment; a version keeps its number)."""
    for route in models_cache.cached_routes():
        _deployments[route.deployment_id] = (route.model, route.environment)
        for version in (route.primary, route.canary, route.shadow):
            if version is not None:
                _versions[version.pk] = str(version.version)
    for loaded in list(models_cache._models.values()):
        _versions[loaded.version_id] = str(loaded.version)
