"""Every scored request is logged without slowing the request path.

The view only appends one JSON entry per request to an in-process queue; a flusher thread in each web process
pushes the queue to a Redis list every 100 ms (one round trip for many requests), and at exit.
``drain``, a Celery task on the ``monitoring`` queue run by beat every second or two, takes the entries in
order, scores shadow versions on the logged inputs (so a shadow costs the caller nothing) and writes
PredictionLog rows in bulk. When Redis cannot take the entries, the flusher writes them to the database itself;
when neither can, the loss is counted on the deployment (``Deployment.logs_lost``, shown on its page) as soon as
the database answers again. A process killed outright loses what it had not flushed: at most
``settings.PREDICTION_LOG_FLUSH_S`` of its requests.

The flusher also counts what it ships for ``/metrics`` (``serving.metrics``), so the request path pays nothing for
them. With logging switched off a request leaves only a small tuple for the flusher to count.
"""

from __future__ import annotations

import atexit
import hashlib
import itertools
import logging
import math
import os
import secrets
import threading
import time
from collections import Counter, deque
from datetime import UTC, datetime

import orjson
import redis
from django.conf import settings
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import F

from pipelines_app.serving import metrics

log = logging.getLogger(__name__)
BUFFER_KEY = "mlops:prediction-log"
DRAIN_LOCK_KEY = "mlops:prediction-log:drain"
# How many entries the buffer holds (each of its items is one flush's entries): added by the flush that pushes
# them, taken off by the drain that trims them, in the same transaction as the push or trim. /metrics reads it.
BACKLOG_KEY = "mlops:prediction-log:entries"
# Entries the drain could not store, by reason (unreadable; deployment_gone: removed while they waited).
DROPPED_KEY = "mlops:prediction-log:dropped"
DRAIN_BATCH = 25  # buffer items per transaction, each the entries of one flush (a few to a few thousand)
_clients: dict[str, redis.Redis] = {}
_client_lock = threading.Lock()
_lost = Counter()  # deployment id → entries lost in this process, not yet counted in the database
_pending: deque[str] = deque()
# Requests answered but not logged (logging switched off) or refused before a log entry was worth writing, as
# (deployment id, version id, arm, status, latency in ms, rows, None): counted by the flusher all the same.
_unlogged: deque[tuple] = deque()
_flush_lock = threading.Lock()
_flusher: tuple[int, threading.Thread] | None = None


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


# One entry per request and role, named as the PredictionLog columns it fills: request_id, client_request_id,
# deployment_id, model_version_id, role, rows, inputs (column name → values), predictions, scores, latency_ms,
# status_code (absent: 200), error, created_at (a Unix time), shadow_version_id (a version to score the same
# rows in the drain, or None) and explanations (the rows' reasons when the caller asked ``?explain``, else None).
# The bulky parts of an entry travel as JSON text of their own, so that the drain hands them to the database
# without parsing and re-encoding them. 0x1e never occurs in orjson's output (it escapes control characters).
_BULKY = ("inputs", "predictions", "scores", "explanations")
_SEPARATOR = b"\x1e"
# One flush pushes its entries as one Redis item, joined by 0x1d: a single 9 KB entry costs redis-py about 20 µs
# as an item of its own and 4 µs as part of a larger one (measured with 100-row entries).
_ENTRY_SEPARATOR = b"\x1d"
# Entries buffered by a release before the keys were words: still in Redis when the site is upgraded, they are
# read with these names (the bulky parts are told by position, so they need none). To go a release later.
_SPELLED_BEFORE = {
    "rid": "request_id",
    "crid": "client_request_id",
    "n": "rows",
    "dep": "deployment_id",
    "ver": "model_version_id",
    "shadow": "shadow_version_id",
    "lat": "latency_ms",
    "code": "status_code",
    "err": "error",
    "t": "created_at",
}


class RawJSON(str):
    """JSON text that goes to a JSON column as it is."""


def encode(entry: dict) -> bytes:
    head = {key: value for key, value in entry.items() if key not in _BULKY}
    return _SEPARATOR.join([orjson.dumps(head)] + [orjson.dumps(entry.get(key)) for key in _BULKY])


def decode(item: bytes) -> dict:
    head, *bulky = item.split(_SEPARATOR)
    entry = orjson.loads(head)
    if "rid" in entry:  # buffered before the rename (_SPELLED_BEFORE)
        entry = {_SPELLED_BEFORE.get(key, key): value for key, value in entry.items()}
    for key, text in zip(_BULKY, bulky, strict=False):
        entry[key] = None if text == b"null" else RawJSON(text.decode())
    return entry


def new_request_id(at: float | None = None) -> str:
    """32 hex digits: the time in nanoseconds (now, or the Unix time ``at`` of a backdated request), then 64 bits
    no caller can foresee. Ids that grow with time land at the end of the prediction log's unique index instead of
    anywhere in it: measured with COPY into a table with that index, 2,000,000 random UUIDs took 9.7 s (and slowed
    as the table grew), time-ordered ids 3.5 s.

    The 64 bits are a keyed BLAKE2b of a counter, the key drawn from the system's randomness once per process (and
    again in a forked child): as unforeseeable as drawing them from the system each time, without a system call in
    the request, which lets a waiting thread (the flusher) take the interpreter until the request gets it back."""
    nanoseconds = time.time_ns() if at is None else int(at * 1e9)
    tail = hashlib.blake2b(next(_ids).to_bytes(8, "big"), key=_id_key[0], digest_size=8).hexdigest()
    return f"{nanoseconds:016x}{tail}"


_ids = itertools.count()
_id_key = [secrets.token_bytes(32)]
os.register_at_fork(after_in_child=lambda: _id_key.__setitem__(0, secrets.token_bytes(32)))


def log_answer(request_id, n, route, loaded, role, columns, predictions, probabilities, latency, client_id=None,
               at=None, explanations=None):  # fmt: skip
    """Log a scored request: ``at`` is its Unix time (now unless the traffic simulator dates it, ``backdated``).
    With logging switched off (``SERVING_LOG_PREDICTIONS``) the request is only counted."""
    if not settings.SERVING_LOG_PREDICTIONS:
        _unlogged.append((route.deployment_id, loaded.version_id, role, 200, latency, n, None))
        _hand_over()
        return
    record(
        {
            "request_id": request_id,
            "client_request_id": client_id,
            "rows": n,
            "deployment_id": route.deployment_id,
            "model_version_id": loaded.version_id,
            "role": role,
            "shadow_version_id": route.shadow.pk if route.shadow else None,
            "inputs": columns,  # orjson writes NaN (missing) as null
            "predictions": predictions,
            "scores": probabilities if loaded.positive_index is not None else None,
            "explanations": explanations,
            "latency_ms": round(latency, 3),
            "created_at": time.time() if at is None else at,
        }
    )


def log_refusal(route, loaded, role, request_id, exc, started, client_id=None, at=None):
    """Log a refused request (``exc``: its PayloadError; ``started``: its perf_counter at arrival)."""
    record(
        {
            "request_id": request_id,
            "client_request_id": client_id,
            "rows": 0,
            "deployment_id": route.deployment_id,
            "model_version_id": loaded.version_id,
            "role": role,
            "status_code": exc.status,
            "error": exc.as_json()["message"],
            "latency_ms": round((time.perf_counter() - started) * 1000, 3),
            "created_at": time.time() if at is None else at,
        }
    )


def count_refusal(route, version_id, role, status, started):
    """Count a request refused without a log entry (no token, a bad token, a model that cannot be served): for
    /metrics only, so nothing but a tuple for the flusher. ``started``: its perf_counter at arrival."""
    _unlogged.append((route.deployment_id, version_id, role, status, (time.perf_counter() - started) * 1000, 0, None))
    _hand_over()


def record(entry: dict) -> None:
    """Log one request: queued in this process, pushed to Redis by the flusher thread within milliseconds."""
    _pending.append(encode(entry))  # NaN (a missing value) becomes null
    _hand_over()


def _hand_over():
    """Have the flusher pick up what was queued: at once when it does not run in the background (tests)."""
    if not settings.PREDICTION_LOG_BACKGROUND:
        flush()
    elif _flusher is None or _flusher[0] != os.getpid():
        _start_flusher()


def _start_flusher():
    global _flusher
    with _client_lock:
        if _flusher is not None and _flusher[0] == os.getpid():
            return
        thread = threading.Thread(target=_flush_loop, name="prediction-log-flusher", daemon=True)
        _flusher = (os.getpid(), thread)
        thread.start()
        atexit.register(flush)


def _flush_loop():
    stop = threading.Event()
    while not stop.wait(settings.PREDICTION_LOG_FLUSH_S):
        if _pending or _unlogged:
            try:
                flush()
            except Exception:  # noqa: BLE001  (the flusher must outlive any one failure)
                log.exception("flushing prediction logs failed")


def flush() -> int:
    """Push this process's queued entries to Redis (or, Redis down, to the database). Returns how many."""
    with _flush_lock:
        items = []
        while _pending and len(items) < 5000:
            items.append(_pending.popleft())
        _count(items)
        if not items:
            return 0
        try:
            with buffer().pipeline() as push:  # MULTI: the count changes with the buffer, in one round trip
                push.rpush(BUFFER_KEY, _ENTRY_SEPARATOR.join(items)).incrby(BACKLOG_KEY, len(items)).execute()
            return len(items)
        except redis.RedisError:
            log.warning("prediction log buffer unavailable; writing %d entries to the database directly", len(items))
        entries = [decode(item) for item in items]
        try:
            write(entries)
        except DatabaseError:
            log.exception("%d prediction log entries lost", len(entries))
            for entry in entries:
                _lost[entry["deployment_id"]] += max(1, entry.get("rows") or 0)
        return len(items)


def _count(items):
    """Count the flushed entries and the unlogged requests in /metrics (``serving.metrics``): from each entry's
    head only, the part before its first separator."""
    served = [_unlogged.popleft() for _ in range(len(_unlogged))]
    try:
        # Every entry has a head and three bulky parts (``encode``), so the first separator ends the head.
        heads = [orjson.loads(item[: item.find(_SEPARATOR)]) for item in items]
        served += [
            (
                head.get("deployment_id"),
                head.get("model_version_id"),
                head.get("role", "primary"),
                head.get("status_code", 200),
                head.get("latency_ms", 0.0),
                head.get("rows", 0),
                head.get("shadow_version_id"),
            )
            for head in heads
        ]
        metrics.count(served)
    except Exception:  # noqa: BLE001  (counting must never cost a log entry)
        log.exception("counting %d served requests for /metrics failed", len(items) + len(served))


def drain(max_batches: int = 50) -> int:
    """Move buffered entries into the database; returns how many rows were written. One drainer at a time."""
    flush()  # this process's own queue first (the web process answering a feedback call, or a test)
    client = buffer()
    if not client.set(DRAIN_LOCK_KEY, "1", nx=True, ex=60):
        return 0
    written = 0
    try:
        for _ in range(max_batches):
            raw = client.lrange(BUFFER_KEY, 0, DRAIN_BATCH - 1)
            if not raw:
                break
            entries, unreadable = [], 0
            items = [entry for pushed in raw for entry in pushed.split(_ENTRY_SEPARATOR)]
            for item in items:
                try:
                    entries.append(decode(item))
                except (orjson.JSONDecodeError, UnicodeDecodeError):
                    log.error("dropping an unreadable prediction log entry: %r", item[:200])
                    unreadable += 1
            written += write(entries)
            # Trimmed only after the rows are committed: a crash in between writes them again, and the unique
            # (request id, role) key makes that harmless. The id is the server's, unique per request, so that
            # key never merges two different requests.
            with client.pipeline() as trim:
                trim.ltrim(BUFFER_KEY, len(raw), -1).decrby(BACKLOG_KEY, len(items))
                if unreadable:
                    trim.hincrby(DROPPED_KEY, "unreadable", unreadable)
                trim.execute()
    finally:
        client.delete(DRAIN_LOCK_KEY)
    return written


# PredictionLog columns, in the order the rows below are built.
COLUMNS = (
    "request_id",
    "client_request_id",
    "deployment_id",
    "model_version_id",
    "role",
    "rows",
    "inputs",
    "predictions",
    "scores",
    "latency_ms",
    "status_code",
    "error",
    "created_at",
    "explanations",
)
_JSON_COLUMNS = tuple(COLUMNS.index(name) for name in _BULKY)


def write(entries: list[dict]) -> int:
    """Store buffered entries (one PredictionLog per request and role); returns how many were written."""
    from pipelines_app.models import Deployment, ModelVersion

    # A deployment or version removed while its entries waited in the buffer: the entries cannot be stored.
    deployment_ids = {entry["deployment_id"] for entry in entries}
    version_ids = {entry.get("model_version_id") for entry in entries}
    deployments = set(Deployment.objects.filter(pk__in=deployment_ids).values_list("pk", flat=True))
    versions = set(ModelVersion.objects.filter(pk__in=version_ids).values_list("pk", flat=True))
    kept = [e for e in entries if e["deployment_id"] in deployments]
    if len(kept) < len(entries):
        log.warning("dropped %d prediction log entries of deployments that no longer exist", len(entries) - len(kept))
        try:
            buffer().hincrby(DROPPED_KEY, "deployment_gone", len(entries) - len(kept))
        except redis.RedisError:
            log.warning("the count of dropped prediction log entries could not be kept")
    rows = []
    for entry in kept:
        if entry.get("model_version_id") not in versions:
            entry["model_version_id"] = None
        rows += _rows(entry)
    with transaction.atomic():
        _insert(rows)
        for deployment_id, count in list(_lost.items()):
            Deployment.objects.filter(pk=deployment_id).update(logs_lost=F("logs_lost") + count)
            del _lost[deployment_id]
    return len(rows)


def _insert(rows):
    """PostgreSQL: COPY, several times faster than INSERT for this volume. Rows already written (a drain that
    stopped between writing and trimming the buffer) make COPY fail; then an INSERT that skips them.

    Skipping a conflict only ever skips the same entry written again: request ids are the server's own
    (``new_request_id``), never a caller's, so a conflict cannot hide a different request."""
    from pipelines_app.models import PredictionLog

    if connection.vendor == "postgresql":
        try:
            # COPY runs on psycopg's own cursor: wrap_database_errors turns its errors into Django's, so that a
            # refused row is a DatabaseError to the callers, like any other write.
            with transaction.atomic(), connection.cursor() as cursor, connection.wrap_database_errors:
                statement = f"COPY {PredictionLog._meta.db_table} ({', '.join(COLUMNS)}) FROM STDIN"
                with cursor.cursor.copy(statement) as copy:
                    for row in rows:
                        row = list(row)
                        for index in _JSON_COLUMNS:
                            value = row[index]
                            if isinstance(value, RawJSON):
                                row[index] = str(value)
                            elif value is not None:
                                row[index] = orjson.dumps(value).decode()
                        copy.write_row(row)
            return
        except IntegrityError:
            pass  # rows already stored: the insert below skips them
    objects = []
    for row in rows:
        fields = dict(zip(COLUMNS, row, strict=True))
        for name in _BULKY:
            if isinstance(fields[name], RawJSON):
                fields[name] = orjson.loads(str(fields[name]))  # orjson takes exact str only
        objects.append(PredictionLog(**fields))
    PredictionLog.objects.bulk_create(objects, batch_size=1000, ignore_conflicts=True)


def _row(entry, version_id, role, n=0, inputs=None, predictions=None, scores=None, latency=0.0, code=200, error="",
         explanations=None):  # fmt: skip
    return (
        entry["request_id"],
        entry.get("client_request_id"),  # the caller's X-Request-ID, or None (absent from the oldest entries)
        entry["deployment_id"],
        version_id,
        role,
        n,
        inputs if inputs is not None else {},
        predictions if predictions is not None else [],
        scores,
        latency,
        code,
        error[:2000],
        datetime.fromtimestamp(entry["created_at"], tz=UTC),
        explanations,
    )


def _rows(entry):
    if entry.get("status_code", 200) != 200:
        return [
            _row(
                entry,
                entry.get("model_version_id"),
                entry.get("role", "primary"),
                latency=entry.get("latency_ms", 0),
                code=entry["status_code"],
                error=entry.get("error", ""),
            )
        ]
    n = entry["rows"]
    inputs = entry["inputs"]  # JSON text from the buffer; missing values are already null
    version_id, predictions, scores = entry["model_version_id"], entry["predictions"], entry.get("scores")
    rows = [
        _row(
            entry, version_id, entry["role"], n, inputs, predictions, scores, entry["latency_ms"],
            explanations=entry.get("explanations"),
        )
    ]  # fmt: skip
    if entry.get("shadow_version_id"):
        rows.append(_shadow_row(entry, inputs))
    return rows


def _shadow_row(entry, inputs):
    """The shadow version's answers to the same rows: logged, never returned."""
    from pipelines_app.models import ModelVersion
    from pipelines_app.serving import models_cache

    version = ModelVersion.objects.filter(pk=entry["shadow_version_id"]).first()
    if version is None:
        return _row(entry, None, "shadow", code=500, error="the shadow version no longer exists")
    n = entry["rows"]
    inputs = orjson.loads(str(inputs)) if isinstance(inputs, RawJSON) else inputs
    try:
        model = models_cache.load(version)
        columns = {
            name: [math.nan if v is None else v for v in inputs.get(name, [None] * n)] for name in model.features
        }
        started = datetime.now(tz=UTC)
        predictions, scores = model.score(columns, n)
        latency = (datetime.now(tz=UTC) - started).total_seconds() * 1000
    except Exception as exc:  # noqa: BLE001  (a failing shadow is logged as such; the primary's rows stand)
        return _row(entry, version.pk, "shadow", n, inputs, code=500, error=str(exc))
    scores = scores if model.positive_index is not None else None
    return _row(entry, version.pk, "shadow", n, inputs, predictions, scores, latency)
