"""Every scored request is logged without slowing the request path.

The view pushes one JSON entry per request onto a Redis list (one round trip); ``drain``, a Celery task on the
``monitoring`` queue run by beat every second or two, takes the entries in order, scores shadow versions on the
logged inputs (so a shadow costs the caller nothing) and writes PredictionLog rows in bulk. When Redis cannot
take an entry, the view writes it to the database itself; when neither can, the loss is counted on the
deployment (``Deployment.logs_lost``, shown on its page) as soon as the database answers again.
"""

from __future__ import annotations

import json
import logging
import math
import threading
from collections import Counter
from datetime import UTC, datetime

import redis
from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models import F

log = logging.getLogger(__name__)
BUFFER_KEY = "mlops:prediction-log"
DRAIN_LOCK_KEY = "mlops:prediction-log:drain"
DRAIN_BATCH = 2000
_clients: dict[str, redis.Redis] = {}
_client_lock = threading.Lock()
_lost = Counter()  # deployment id → entries lost in this process, not yet counted in the database


def buffer():
    """A Redis client with short timeouts: a stalled Redis must not stall scoring."""
    url = settings.REDIS_URL
    client = _clients.get(url)
    if client is None:
        with _client_lock:
            client = _clients.setdefault(
                url,
                redis.Redis.from_url(url, socket_timeout=0.25, socket_connect_timeout=0.25, health_check_interval=30),
            )
    return client


def row_ids(request_id: str, n: int) -> list[str]:
    """One id per scored row: the request's own for a single row, ``<request id>-<row>`` for a batch."""
    return [request_id] if n == 1 else [f"{request_id}-{i}" for i in range(n)]


def json_columns(columns: dict[str, list]) -> dict[str, list]:
    """Typed columns with NaN as null, ready for JSON."""
    return {
        name: [None if isinstance(v, float) and math.isnan(v) else v for v in values]
        for name, values in columns.items()
    }


def record(entry: dict) -> str:
    """Log one request: "buffered", "direct" (Redis down, written to the database) or "lost"."""
    try:
        buffer().rpush(BUFFER_KEY, json.dumps(entry, separators=(",", ":")))
        return "buffered"
    except redis.RedisError:
        log.warning("prediction log buffer unavailable; writing to the database directly")
    try:
        write([entry])
        return "direct"
    except DatabaseError:
        log.exception("prediction log lost for deployment %s", entry.get("dep"))
        _lost[entry["dep"]] += max(1, entry.get("n") or 0)
        return "lost"


def drain(max_batches: int = 50) -> int:
    """Move buffered entries into the database; returns how many rows were written. One drainer at a time."""
    client = buffer()
    if not client.set(DRAIN_LOCK_KEY, "1", nx=True, ex=60):
        return 0
    written = 0
    try:
        for _ in range(max_batches):
            raw = client.lrange(BUFFER_KEY, 0, DRAIN_BATCH - 1)
            if not raw:
                break
            entries = []
            for item in raw:
                try:
                    entries.append(json.loads(item))
                except ValueError:
                    log.error("dropping an unreadable prediction log entry: %r", item[:200])
            written += write(entries)
            # Trimmed only after the rows are committed: a crash in between writes them again, and the unique
            # (request id, role) key makes that harmless.
            client.ltrim(BUFFER_KEY, len(raw), -1)
    finally:
        client.delete(DRAIN_LOCK_KEY)
    return written


def write(entries: list[dict]) -> int:
    from pipelines_app.models import Deployment, PredictionLog

    rows = []
    for entry in entries:
        rows += _rows(entry, PredictionLog)
    with transaction.atomic():
        PredictionLog.objects.bulk_create(rows, batch_size=1000, ignore_conflicts=True)
        for deployment_id, count in list(_lost.items()):
            Deployment.objects.filter(pk=deployment_id).update(logs_lost=F("logs_lost") + count)
            del _lost[deployment_id]
    return len(rows)


def _rows(entry, PredictionLog):
    at = datetime.fromtimestamp(entry["t"], tz=UTC)
    common = {"deployment_id": entry["dep"], "created_at": at}
    if entry.get("code", 200) != 200:
        return [
            PredictionLog(
                request_id=entry["rid"],
                model_version_id=entry.get("ver"),
                role=entry.get("role", "primary"),
                status_code=entry["code"],
                error=entry.get("err", "")[:2000],
                latency_ms=entry.get("lat", 0),
                **common,
            )
        ]
    n, columns = entry["n"], entry["cols"]
    ids = row_ids(entry["rid"], n)
    inputs = [{name: values[i] for name, values in columns.items()} for i in range(n)]
    scores = entry.get("score") or [None] * n
    rows = [
        PredictionLog(
            request_id=ids[i],
            model_version_id=entry["ver"],
            role=entry["role"],
            inputs=inputs[i],
            prediction=entry["pred"][i],
            score=scores[i] if isinstance(scores[i], float) else None,
            latency_ms=entry["lat"],
            **common,
        )
        for i in range(n)
    ]
    if entry.get("shadow"):
        rows += _shadow_rows(entry, ids, inputs, PredictionLog, common)
    return rows


def _shadow_rows(entry, ids, inputs, PredictionLog, common):
    """The shadow version's answers to the same rows: logged, never returned."""
    from pipelines_app.models import ModelVersion
    from pipelines_app.serving import models_cache

    version = ModelVersion.objects.filter(pk=entry["shadow"]).first()
    if version is None:
        return []
    n = entry["n"]
    try:
        model = models_cache.load(version)
        columns = {
            name: [math.nan if v is None else v for v in entry["cols"].get(name, [None] * n)] for name in model.features
        }
        started = datetime.now(tz=UTC)
        predictions, scores = model.score(columns, n)
        latency = (datetime.now(tz=UTC) - started).total_seconds() * 1000
    except Exception as exc:  # noqa: BLE001  (a failing shadow is logged as such; the primary's rows stand)
        return [
            PredictionLog(
                request_id=ids[i],
                model_version_id=version.pk,
                role="shadow",
                inputs=inputs[i],
                status_code=500,
                error=str(exc)[:2000],
                **common,
            )
            for i in range(n)
        ]
    scores = scores or [None] * n
    return [
        PredictionLog(
            request_id=ids[i],
            model_version_id=version.pk,
            role="shadow",
            inputs=inputs[i],
            prediction=predictions[i],
            score=scores[i] if isinstance(scores[i], float) else None,
            latency_ms=latency,
            **common,
        )
        for i in range(n)
    ]
