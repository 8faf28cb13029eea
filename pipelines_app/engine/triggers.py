"""Triggers other than a person: cron schedules (django-celery-beat rows kept in step with the file),
signed webhooks, and the hook monitoring calls when drift is detected."""

import hashlib
import hmac

from pipelines_app.engine.runs import start_run
from pipelines_app.models import AuditEvent, Pipeline, Trigger


def start_scheduled(pipeline_id):
    pipeline = Pipeline.objects.filter(pk=pipeline_id).select_related("current_version").first()
    if pipeline is None or pipeline.archived:
        return None
    return start_run(pipeline, None, {}, Trigger.SCHEDULE)


def signature_for(secret, body):
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def has_trigger(pipeline, kind):
    spec = pipeline.current_version.spec if pipeline.current_version else {}
    return any(t.get("type") == kind for t in spec.get("triggers") or [])


def verify_webhook(pipeline, body, header, address=""):
    """True when the X-Signature-256 header is the HMAC of the body with the pipeline's secret.

    A wrong or missing signature is an audit event."""
    expected = signature_for(pipeline.webhook_secret, body)
    if header and hmac.compare_digest(expected, header.strip()):
        return True
    AuditEvent.objects.record(
        "anonymous",
        "webhook.rejected",
        pipeline,
        {"reason": "missing signature" if not header else "wrong signature", "ip": address},
    )
    return False


def start_for_drift(model_name, alert_payload=None):
    """Called when a drift alert fires on a model: start every pipeline that produces it and has a drift trigger."""
    started = []
    for pipeline in Pipeline.objects.active().filter(model_name=model_name).select_related("current_version"):
        if has_trigger(pipeline, "drift"):
            run = start_run(pipeline, None, {}, Trigger.DRIFT)
            AuditEvent.objects.record("system", "run.drift_triggered", run, alert_payload or {})
            started.append(run)
    return started
