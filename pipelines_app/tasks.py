"""Celery tasks. Thin: they take ids, re-fetch, and call the domain code."""

import socket
from datetime import timedelta

from celery import shared_task
from celery.signals import worker_ready
from django.db import transaction
from django.utils import timezone

from pipelines_app.models import WorkerHeartbeat


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


@worker_ready.connect
def heartbeat_on_start(sender, **kwargs):
    """A worker that just started reports at once instead of at the next beat."""
    WorkerHeartbeat.objects.create(host=getattr(sender, "hostname", "") or socket.gethostname())


def request_worker_heartbeat():
    """Ask every listening worker to report now (after the current transaction commits)."""
    transaction.on_commit(record_worker_heartbeat.delay)
