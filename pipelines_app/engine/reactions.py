"""Reacting to outbox events: the one place where a recorded state change turns into what follows from it.

``react(event_id)`` (the ``react_to_event`` task) claims a pending event with a row lock that other workers skip,
performs its reactions and marks it done, all in one transaction: a crash halfway leaves the event pending and
nothing half done, and a second delivery of the message finds it done. A reaction that raises is recorded on
the event (attempts, error) and tried again by ``sweep`` (beat), which also picks up events whose message was
lost; after ``MAX_ATTEMPTS`` the event is left failed for an admin to see on the deliveries page.

| event              | reactions                                                                    |
| ------------------ | ---------------------------------------------------------------------------- |
| approval.requested | tell the approver groups (not the parties to it)                             |
| approval.decided   | supersede older requests, deploy a promotion, resume or end the run, tell the requester |
| run.waiting        | the file's notifications for waiting_for_approval                            |
| run.ended          | the file's notifications for the run's status                                |
| alert.fired        | tell the rule's recipients; start the drift-triggered pipelines               |
| alert.resolved     | tell the rule's recipients                                                   |
| canary.judged      | tell who started the analysis and the environment's approvers                |
"""

import logging
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from pipelines_app.engine import approvals
from pipelines_app.engine.triggers import start_for_drift
from pipelines_app.models import Alert, CanaryAnalysis, Event
from pipelines_app.notifications import notify_alert, notify_canary_verdict, notify_reviewers, notify_run_event

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
# An event still pending this long after it was written lost its message (or its reaction failed): the sweep
# takes it. Long enough that the sweep and the message do not usually meet; harmless when they do.
SWEEP_AFTER = timedelta(seconds=10)


def _approval_requested(event):
    notify_reviewers(event.approval)


def _approval_decided(event):
    approvals.on_decided(event.approval)


def _run_changed(event):
    notify_run_event(event.run)


def _alert_fired(event):
    alert = Alert.objects.select_related("rule__deployment__model", "rule__deployment__environment").get(
        pk=event.alert_id
    )
    notify_alert(alert, f"Alert: {alert.message}")
    if alert.rule.trigger_retraining:
        runs = start_for_drift(alert.rule.deployment.model.name, {"alert": alert.pk, "value": alert.value})
        Alert.objects.filter(pk=alert.pk).update(runs_started=[run.pk for run in runs])


def _alert_resolved(event):
    alert = Alert.objects.select_related("rule__deployment__model", "rule__deployment__environment").get(
        pk=event.alert_id
    )
    notify_alert(alert, f"Resolved: {alert.message}")


def _canary_judged(event):
    analysis = CanaryAnalysis.objects.select_related(
        "deployment__model", "deployment__environment", "canary_version", "run__triggered_by"
    ).get(pk=event.payload["analysis"])
    notify_canary_verdict(analysis)


REACTIONS = {
    Event.Kind.APPROVAL_REQUESTED: _approval_requested,
    Event.Kind.APPROVAL_DECIDED: _approval_decided,
    Event.Kind.RUN_WAITING: _run_changed,
    Event.Kind.RUN_ENDED: _run_changed,
    Event.Kind.ALERT_FIRED: _alert_fired,
    Event.Kind.ALERT_RESOLVED: _alert_resolved,
    Event.Kind.CANARY_JUDGED: _canary_judged,
}


def react(event_id):
    """Perform the reactions to one event, once. Returns what happened: "done", "failed", "retry" or
    "not claimed" (done already, or another worker has it)."""
    with transaction.atomic():
        event = (
            Event.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("run__pipeline", "run__pipeline_version", "approval")
            .filter(pk=event_id, status=Event.Status.PENDING)
            .first()
        )
        if event is None:
            return "not claimed"
        event.attempts += 1
        try:
            with transaction.atomic():
                REACTIONS[event.kind](event)
        except Exception as exc:  # noqa: BLE001  (a failed reaction is recorded on its event and tried again)
            log.exception("reaction to %s failed", event)
            event.error = f"{type(exc).__name__}: {exc}"[:5000]
            event.status = Event.Status.FAILED if event.attempts >= MAX_ATTEMPTS else Event.Status.PENDING
            event.save(update_fields=["attempts", "error", "status"])
            return "failed" if event.status == Event.Status.FAILED else "retry"
        event.status, event.processed_at, event.error = Event.Status.DONE, timezone.now(), ""
        event.save(update_fields=["attempts", "status", "processed_at", "error"])
        return "done"


def sweep(now=None, older_than=SWEEP_AFTER):
    """Beat: react to pending events whose message was lost or whose reaction failed, oldest first."""
    cutoff = (now or timezone.now()) - older_than
    outcomes = [react(pk) for pk in Event.objects.pending().filter(created_at__lte=cutoff).values_list("pk", flat=True)]
    return outcomes.count("done")
