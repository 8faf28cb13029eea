"""Triggers other than a person: cron schedules (django-celery-beat rows kept in step with the file),
signed webhooks, and the hook monitoring calls when drift is detected.

A webhook delivery is signed with the pipeline's secret: ``X-Signature-256: sha256=<hex HMAC-SHA256>`` of the
body, or, with ``X-Signature-Timestamp: <unix seconds>``, of ``"<timestamp>." + body``. A timestamped signature
is accepted within ±5 minutes of the server's clock and only once; an untimestamped one (kept for senders
written before timestamps) can be replayed, unless WEBHOOK_REQUIRE_TIMESTAMP refuses it.

Refusals cost the caller and nobody else: they are counted in the cache (not one audit row each, every one of
which would take the audit chain's lock), written to the audit log as one event per pipeline and minute by
``record_webhook_rejections``, and limited per address and per pipeline (429 past the limit). An unknown slug
is answered exactly like a wrong signature, so that the answers do not tell which pipelines exist.
"""

import datetime
import hashlib
import hmac
import re
import secrets
import time

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

from pipelines_app.engine.runs import start_run
from pipelines_app.models import AuditEvent, Pipeline, Trigger
from pipelines_app.models.runs import RUN_FINISHED

TIMESTAMP_TOLERANCE_S = 5 * 60
# Unix seconds; the bound keeps a 5,000-digit "timestamp" from ever reaching int().
TIMESTAMP = re.compile(r"[0-9]{1,12}")
REJECTION_REASONS = ("missing signature", "wrong signature", "stale timestamp", "replayed signature", "no timestamp")
# Counters outlive their minute so that record_webhook_rejections still finds them when beat runs late.
COUNTER_TTL_S = 15 * 60
RECORD_LOOKBACK_MINUTES = 10

WRONG_SIGNATURE = "Missing or wrong X-Signature-256, or no such pipeline."
STALE_TIMESTAMP = (
    "X-Signature-Timestamp is more than 5 minutes from the server's clock: sign each delivery as it is sent."
)
REPLAYED = "This signature was used already: sign each delivery with a new X-Signature-Timestamp."
NO_TIMESTAMP = "This site accepts timestamped signatures only: add X-Signature-Timestamp and sign '<timestamp>.<body>'."
TOO_MANY = "Too many refused webhook deliveries; try again later."


class WebhookRefused(Exception):
    """A delivery that may not start a run. ``retry_after`` (seconds) is set when the caller is rate-limited."""

    def __init__(self, detail, retry_after=None):
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after


def start_scheduled(pipeline_id):
    pipeline = Pipeline.objects.filter(pk=pipeline_id).select_related("current_version").first()
    if pipeline is None or pipeline.archived:
        return None
    return start_run(pipeline, None, {}, Trigger.SCHEDULE)


def signature_for(secret, body, timestamp=None):
    """The X-Signature-256 value a sender puts on ``body`` (signed with ``timestamp`` when one is given)."""
    message = body if timestamp is None else f"{timestamp}.".encode() + body
    return "sha256=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def has_trigger(pipeline, kind):
    spec = pipeline.current_version.spec if pipeline.current_version else {}
    return any(t.get("type") == kind for t in spec.get("triggers") or [])


def verify_webhook(slug, body, signature, timestamp="", address=""):
    """The pipeline when the delivery is signed with one of its secrets (see the module's docstring); otherwise
    raises ``WebhookRefused``, counting the refusal."""
    pipeline = Pipeline.objects.select_related("current_version").filter(slug=slug).first()
    signature, timestamp = (signature or "").strip(), (timestamp or "").strip()
    if not signature:
        _refuse(slug, pipeline, address, "missing signature", WRONG_SIGNATURE)
    # Headers arrive as Latin-1 text; compare_digest refuses non-ASCII str, and no valid signature has any.
    if not signature.isascii() or (timestamp and not TIMESTAMP.fullmatch(timestamp)):
        _refuse(slug, pipeline, address, "wrong signature", WRONG_SIGNATURE)
    # An unknown slug still goes through an HMAC check (with a throwaway secret), so it answers no quicker.
    candidates = pipeline.webhook_secrets() if pipeline else [secrets.token_hex(32)]
    signed = [hmac.compare_digest(signature_for(s, body, timestamp or None), signature) for s in candidates]
    if pipeline is None or not any(signed):
        _refuse(slug, pipeline, address, "wrong signature", WRONG_SIGNATURE)
    # From here the caller holds a valid signature, so naming the problem reveals nothing new.
    if not timestamp:
        if settings.WEBHOOK_REQUIRE_TIMESTAMP:
            _refuse(slug, pipeline, address, "no timestamp", NO_TIMESTAMP)
        return pipeline
    if abs(time.time() - int(timestamp)) > TIMESTAMP_TOLERANCE_S:
        _refuse(slug, pipeline, address, "stale timestamp", STALE_TIMESTAMP)
    # Remembered until its timestamp has left the window for good; cache.add is atomic, so of two
    # simultaneous replays exactly one gets through.
    seen = f"webhook:seen:{pipeline.pk}:{hashlib.sha256(signature.encode()).hexdigest()}"
    if not cache.add(seen, 1, timeout=2 * TIMESTAMP_TOLERANCE_S + 60):
        _refuse(slug, pipeline, address, "replayed signature", REPLAYED)
    return pipeline


def _bump(key):
    cache.add(key, 0, timeout=COUNTER_TTL_S)
    return cache.incr(key)


def _rejection_key(pipeline_id, minute):
    return f"webhook:rejected:{pipeline_id}:{minute}"


def _reason_key(key, reason):
    # Cache keys without spaces: memcached, were it the cache, refuses them.
    return f"{key}:{reason.replace(' ', '-')}"


def _refuse(slug, pipeline, address, reason, detail):
    now = time.time()
    minute = int(now // 60)
    if pipeline is not None:
        key = _rejection_key(pipeline.pk, minute)
        if _bump(key) == 1:
            cache.set(f"{key}:first-address", address, COUNTER_TTL_S)
        _bump(_reason_key(key, reason))
        cache.set(f"{key}:last-address", address, COUNTER_TTL_S)
    # Keyed by the slug, not the pipeline, so that an unknown slug is limited exactly like a known one.
    slug_key = hashlib.sha256(slug.encode()).hexdigest()[:32]
    limit = settings.WEBHOOK_BAD_SIGNATURES_PER_MINUTE
    from_address = _bump(f"webhook:refused-from:{address}:{minute}")
    for_pipeline = _bump(f"webhook:refused-for:{slug_key}:{minute}")
    if max(from_address, for_pipeline) > limit:
        raise WebhookRefused(TOO_MANY, retry_after=max(1, 60 - int(now) % 60))
    raise WebhookRefused(detail)


def record_webhook_rejections(now=None):
    """One audit event per pipeline and ended minute of refused deliveries, with their count and reasons.

    Called by beat every minute; looks back RECORD_LOOKBACK_MINUTES so that a late beat loses nothing, and
    deletes the counters it recorded. Returns the number of events written."""
    current = int((now if now is not None else time.time()) // 60)
    minutes = range(current - RECORD_LOOKBACK_MINUTES, current)
    pipelines = Pipeline.objects.only("pk", "name").in_bulk()
    keys = {_rejection_key(pk, minute): (minute, pk) for minute in minutes for pk in pipelines}
    counts = cache.get_many(list(keys))
    written = 0
    for key in sorted(counts, key=keys.get):
        minute, pipeline_id = keys[key]
        detail_keys = [_reason_key(key, reason) for reason in REJECTION_REASONS]
        detail_keys += [f"{key}:first-address", f"{key}:last-address"]
        detail = cache.get_many(detail_keys)
        AuditEvent.objects.record(
            "anonymous",
            "webhook.rejected",
            pipelines[pipeline_id],
            {
                "count": counts[key],
                "minute": datetime.datetime.fromtimestamp(minute * 60, datetime.UTC).isoformat(),
                "reasons": {r: detail[_reason_key(key, r)] for r in REJECTION_REASONS if _reason_key(key, r) in detail},
                "first_address": detail.get(f"{key}:first-address", ""),
                "last_address": detail.get(f"{key}:last-address", ""),
            },
        )
        cache.delete_many([key, *detail_keys])
        written += 1
    return written


def start_for_drift(model_name, alert_payload=None):
    """Called when a drift alert fires on a model: start every pipeline that produces it and has a drift trigger,
    unless a drift run of that pipeline is still under way (two drift rules firing together, or one firing again
    while the retrained version waits for its reviewer, retrain once)."""
    started = []
    with transaction.atomic():
        # Locked, so that two alerts reacted to at once cannot both find no run under way.
        pipelines = (
            Pipeline.objects.active()
            .filter(model_name=model_name)
            .select_related("current_version")
            .select_for_update(of=("self",))
            .order_by("pk")
        )
        for pipeline in pipelines:
            if not has_trigger(pipeline, "drift"):
                continue
            under_way = pipeline.runs.filter(trigger=Trigger.DRIFT).exclude(status__in=RUN_FINISHED).first()
            if under_way:
                AuditEvent.objects.record(
                    "system", "run.drift_trigger_skipped", under_way, {**(alert_payload or {}), "under_way": True}
                )
                continue
            run = start_run(pipeline, None, {}, Trigger.DRIFT)
            AuditEvent.objects.record("system", "run.drift_triggered", run, alert_payload or {})
            started.append(run)
    return started
