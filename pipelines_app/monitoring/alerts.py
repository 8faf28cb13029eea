"""Alert rules evaluated on the monitoring summary; firing, resolving, acknowledging, and what alerts do.

``evaluate`` (a Celery task on the ``monitoring`` queue, every 30 seconds) reads each enabled rule's window
once, fires an alert when the condition holds and none is open (after the cool-down), updates or resolves open
ones. Firing and resolving write an event in the same transaction; its reaction (``engine.reactions``) notifies
(in-app, e-mail, webhook) and, for rules that say so, starts the pipelines with a drift trigger that produce the
model: the loop back to training.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from pipelines_app.engine.outbox import emit
from pipelines_app.models import Alert, AlertRule, AuditEvent, Event
from pipelines_app.monitoring.summary import WindowInvalid, summary

log = logging.getLogger(__name__)
# Below these a window says too little to alert on: a handful of rows always looks drifted.
MIN_ROWS = 100
MIN_REQUESTS = 20
MIN_LABELS = 30


def value_of(rule, data):
    """The rule's metric in the summary, or None when the window holds too little to judge."""
    realised = data["performance"]["realised"]
    enough_rows, enough_requests = data["rows"] >= MIN_ROWS, data["requests"] >= MIN_REQUESTS
    metric = rule.metric
    if metric == AlertRule.Metric.DRIFT_SHARE:
        return data["share_drifted"] if enough_rows else None
    if metric == AlertRule.Metric.FEATURE_PSI:
        feature = data["drift"].get(rule.feature)
        return feature.get("psi") if enough_rows and isinstance(feature, dict) else None
    if metric == AlertRule.Metric.FEATURE_DRIFT:
        return float(len(features_at_alert(data))) if enough_rows else None
    if metric in (AlertRule.Metric.ROC_AUC, AlertRule.Metric.ACCURACY):
        return realised.get(metric) if realised.get("labelled", 0) >= MIN_LABELS else None
    if metric == AlertRule.Metric.ERROR_RATE:
        return data["error_rate"] if enough_requests else None
    if metric == AlertRule.Metric.LATENCY_P95:
        return data["latency_ms"]["p95"] if enough_requests else None
    if metric == AlertRule.Metric.VOLUME_DROP:
        return float(data["requests"])
    return None


def features_at_alert(data) -> list[str]:
    """The features whose drift in the summary's window is at ``alert`` level, by name."""
    return sorted(name for name, f in data["drift"].items() if isinstance(f, dict) and f.get("level") == "alert")


def evaluate(now=None):
    """Evaluate every enabled rule once; returns (fired, resolved)."""
    now = now or timezone.now()
    summaries = {}
    fired = resolved = 0
    rules = AlertRule.objects.filter(enabled=True).select_related(
        "deployment__environment", "deployment__model", "deployment__primary_version"
    )
    for rule in rules:
        deployment = rule.deployment
        if deployment.primary_version is None:
            continue
        key = (deployment.pk, rule.window)
        if key not in summaries:
            try:
                summaries[key] = summary(deployment, rule.window)
            except WindowInvalid:
                log.warning("alert rule %s has an unreadable window %r", rule.pk, rule.window)
                continue
        value = value_of(rule, summaries[key])
        # Which features, so that the alert says what drifted and not only how many.
        detail = ", ".join(features_at_alert(summaries[key])) if rule.metric == AlertRule.Metric.FEATURE_DRIFT else ""
        outcome = _apply(rule, value, now, detail)
        fired += outcome == "fired"
        resolved += outcome == "resolved"
    return fired, resolved


def _apply(rule, value, now, detail=""):
    with transaction.atomic():
        open_alert = (
            Alert.objects.select_for_update()
            .filter(rule=rule, state__in=[Alert.State.FIRING, Alert.State.ACKNOWLEDGED])
            .first()
        )
        if rule.holds(value):
            if open_alert:
                Alert.objects.filter(pk=open_alert.pk).update(value=value)
                return "open"
            last = Alert.objects.filter(rule=rule, resolved_at__isnull=False).order_by("-resolved_at").first()
            if last and now - last.resolved_at < timedelta(minutes=rule.cooldown_minutes):
                return "cooling down"
            deployment = rule.deployment
            alert = Alert.objects.create(
                rule=rule,
                value=value,
                message=f"{deployment.model.name} in {deployment.environment.name}: {rule} "
                f"(now {value:.4g}{': ' + detail if detail else ''})"[:300],
            )
            AuditEvent.objects.record("system", "alert.fired", alert, {"rule": rule.pk, "value": value})
            emit(Event.Kind.ALERT_FIRED, alert=alert, value=value)
            return "fired"
        if open_alert and value is not None:
            open_alert.state, open_alert.resolved_at, open_alert.value = Alert.State.RESOLVED, now, value
            open_alert.save(update_fields=["state", "resolved_at", "value"])
            AuditEvent.objects.record("system", "alert.resolved", open_alert, {"rule": rule.pk, "value": value})
            emit(Event.Kind.ALERT_RESOLVED, alert=open_alert, value=value)
            return "resolved"
    return "quiet"


def acknowledge(alert, user):
    """Someone is on it: the alert stays open until its condition clears, but stops asking for attention."""
    with transaction.atomic():
        alert = Alert.objects.select_for_update().get(pk=alert.pk)
        if alert.state != Alert.State.FIRING:
            return False
        alert.state, alert.acknowledged_by, alert.acknowledged_at = Alert.State.ACKNOWLEDGED, user, timezone.now()
        alert.save(update_fields=["state", "acknowledged_by", "acknowledged_at"])
        AuditEvent.objects.record(user, "alert.acknowledged", alert, {"rule": alert.rule_id})
    return True
