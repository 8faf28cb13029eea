"""Celery tasks. Thin: they take ids, re-fetch, and call the domain code."""

import socket
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_ready
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from pipelines_app import notifications
from pipelines_app.engine import approvals, reactions, runs, search, triggers
from pipelines_app.models import WorkerHeartbeat
from pipelines_app.models.audit import AuditEvent, append_anchor
from pipelines_app.monitoring import alerts, canary, reports, retention, rollups
from pipelines_app.serving import prediction_log


@shared_task(bind=True)
def record_worker_heartbeat(self):
    """Periodic (beat): the worker that runs it is alive; the overview shows it."""
    beat = WorkerHeartbeat.objects.create(host=self.request.hostname or socket.gethostname())
    return beat.pk


@shared_task
def prune_worker_heartbeats(keep_hours=24):
    """Periodic (beat): heartbeats older than a day tell nobody anything."""
    cutoff = timezone.now() - timedelta(hours=keep_hours)
    deleted, _ = WorkerHeartbeat.objects.filter(seen_at__lt=cutoff).delete()
    return deleted


class AuditChainBroken(Exception):
    """The audit chain did not verify, so no anchor was written (an anchor must only ever vouch for a good chain)."""


@shared_task
def anchor_audit_chain():
    """Periodic (beat, daily): verify the audit chain and append its count and head hash to AUDIT_ANCHOR_PATH,
    so that ``verify_audit --against`` can later tell if its newest events were removed."""
    report = AuditEvent.objects.verify()
    if report.broken is not None:
        raise AuditChainBroken(f"audit chain broken at event {report.broken.pk}: {report.reason}")
    return append_anchor(settings.AUDIT_ANCHOR_PATH, report).line()


@worker_ready.connect
def heartbeat_on_start(sender, **kwargs):
    """A worker that just started reports at once instead of at the next beat."""
    WorkerHeartbeat.objects.create(host=getattr(sender, "hostname", "") or socket.gethostname())


def request_worker_heartbeat():
    """Ask every listening worker to report now (after the current transaction commits)."""
    transaction.on_commit(record_worker_heartbeat.delay)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def execute_step(self, step_run_id, attempt):
    """Run one attempt of one step. Safe to deliver twice: the claim is a conditional update."""
    return runs.execute(step_run_id, attempt, task_id=self.request.id, host=self.request.hostname)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True)
def run_trial(self, trial_id, attempt):
    """One trial of a search (training queue): claimed, cross-validated, recorded; the step resumes after the last."""
    return search.run_trial(trial_id, attempt, host=self.request.hostname)


@shared_task
def advance_run(run_id):
    """Queue whatever may run next in a run (or finish it)."""
    return runs.advance(run_id)


@shared_task
def reap_steps():
    """Periodic (beat): re-queue steps whose worker died and re-send messages that were lost."""
    return runs.reap()


@shared_task
def react_to_event(event_id):
    """Perform the reactions to one outbox event (resume, deploy, notify, retrain). Safe to deliver twice: the
    event is claimed under a row lock and done once."""
    return reactions.react(event_id)


@shared_task
def sweep_events():
    """Periodic (beat): events whose message was lost or whose reaction failed are reacted to now."""
    return reactions.sweep()


@shared_task
def deliver(delivery_id):
    """One attempt at one e-mail or webhook delivery. Safe to deliver twice: the attempt is claimed first."""
    return notifications.deliver(delivery_id)


@shared_task
def requeue_lost_deliveries():
    """Periodic (beat): deliveries whose message was lost, or whose worker died mid-attempt, go out again."""
    return notifications.requeue_lost()


@shared_task
def start_scheduled_run(pipeline_id):
    """Beat (a pipeline's cron trigger): start a run."""
    run = triggers.start_scheduled(pipeline_id)
    return run.pk if run else None


@shared_task
def record_webhook_rejections():
    """Beat, every minute: refused webhook deliveries, counted in the cache, become one audit event per pipeline
    and minute."""
    return triggers.record_webhook_rejections()


@shared_task
def expire_approvals():
    """Periodic (beat): apply on_timeout to approval requests past their deadline."""
    return approvals.expire_due()


@shared_task
def drain_prediction_logs():
    """Periodic (beat, monitoring queue): move buffered prediction logs into the database in bulk."""
    return prediction_log.drain()


@shared_task
def fold_rollups():
    """Periodic (beat, monitoring queue): fold new prediction logs into per-minute rollups."""
    total = 0
    while folded := rollups.fold():
        total += folded
    return total


@shared_task
def evaluate_alerts():
    """Periodic (beat, monitoring queue): fire, update and resolve alerts from the rules."""
    return alerts.evaluate()


@shared_task
def keep_prediction_logs_bounded():
    """Periodic (beat, monitoring queue, hourly): the days ahead partitioned, expired logs and rollups dropped."""
    kept = retention.keep_bounded()
    return {"created": kept.created, "dropped": kept.dropped, "rows_deleted": kept.rows_deleted}


@shared_task
def judge_canaries():
    """Periodic (beat, monitoring queue, every minute): measure and judge the running canary analyses."""
    return canary.judge_running()


@shared_task(acks_late=True, reject_on_worker_lost=True)
def compute_drift_report(report_id):
    """An exact drift report on raw logs (monitoring queue). Safe to deliver twice: claimed conditionally."""
    return reports.compute(report_id)
