"""What ``GET /metrics`` exposes, in Prometheus' text format (docs/prometheus.md lists every metric).

Two kinds of figures. Serving traffic is counted as it happens, by each web process's prediction-log flusher
(``serving.metrics``). The state of the site (runs and steps by status, pending approvals, Celery queue depths,
the prediction-log backlog and losses, notification deliveries) is read when Prometheus scrapes, by
``SiteState``: four grouped queries and two Redis round trips, however many rows there are.

Each scrape builds a registry of its own: under gunicorn (multiprocess mode) it reads every worker's serving files
and adds ``SiteState`` once, so the state is emitted once, by the worker that answers, not once per process.
"""

from __future__ import annotations

import logging
import os
import threading

import redis
from django.conf import settings
from django.db import DatabaseError
from django.db.models import Count
from prometheus_client import CollectorRegistry, multiprocess
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import choose_encoder

from pipelines_app.dispatch import QUEUES
from pipelines_app.models import ApprovalRequest, Delivery, Deployment, PipelineRun, StepRun
from pipelines_app.models.approvals import ApprovalStatus
from pipelines_app.models.runs import RunStatus, StepStatus
from pipelines_app.serving import metrics as serving_metrics
from pipelines_app.serving import prediction_log

log = logging.getLogger(__name__)
# kombu's Redis transport keeps a queue's messages of priority 0 under the queue's name and the others under
# "<name>\x06\x16<priority step>" (kombu.transport.redis: PRIORITY_STEPS, Channel.sep).
_PRIORITY_SUFFIXES = ("", "\x06\x163", "\x06\x166", "\x06\x169")
_REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
_clients: dict[str, redis.Redis] = {}
_client_lock = threading.Lock()


def render(accept: str = "") -> tuple[bytes, str]:
    """The exposition for one scrape, in the format the ``Accept`` header asks for, and its content type."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.MultiProcessCollector(registry)  # every worker's serving counts, from their files
    else:
        registry.register(serving_metrics.REGISTRY)  # one process: its own
    registry.register(SiteState())
    encoder, content_type = choose_encoder(accept)
    return encoder(registry), content_type


def _client(url):
    """A Redis client with short timeouts: a stalled Redis makes the scrape report it down, not hang."""
    client = _clients.get(url)
    if client is None:
        with _client_lock:
            client = _clients.setdefault(
                url, redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1, health_check_interval=30)
            )
    return client


def _gauge_by(name, documentation, label, counts, values):
    family = GaugeMetricFamily(name, documentation, labels=[label])
    for value in values:
        family.add_metric([value], counts.get(value, 0))
    return family


class SiteState:
    """The site's state, read at scrape time. A source that does not answer is reported down
    (``mlops_metrics_source_up``) and its metrics left out; the rest are still exposed."""

    def collect(self):
        up = GaugeMetricFamily("mlops_metrics_source_up", "Whether /metrics could read a source.", labels=["source"])
        for source, read in (("database", self._database), ("redis", self._buffer), ("broker", self._queues)):
            try:
                families = read()
            except (DatabaseError, redis.RedisError) as exc:
                log.warning("/metrics could not read the %s: %s", source, exc)
                up.add_metric([source], 0)
                continue
            if families is None:  # not a source this site has (a broker other than Redis)
                continue
            up.add_metric([source], 1)
            yield from families
        yield up

    def _database(self):
        def by_status(model):
            return dict(model.objects.order_by().values_list("status").annotate(n=Count("pk")))

        runs, steps, deliveries = by_status(PipelineRun), by_status(StepRun), by_status(Delivery)
        pending = ApprovalRequest.objects.filter(status=ApprovalStatus.PENDING).count()
        lost = Deployment.objects.filter(logs_lost__gt=0).values_list("model__name", "environment__name", "logs_lost")
        lost_family = CounterMetricFamily(
            "mlops_prediction_logs_lost",
            "Prediction log rows (one per scored row, one per refusal) that neither the Redis buffer nor the "
            "database could take, counted once the database answers again.",
            labels=["model", "environment"],
        )
        for model, environment, count in lost:
            lost_family.add_metric([model, environment], count)
        return [
            _gauge_by("mlops_runs", "Pipeline runs by status.", "status", runs, RunStatus.values),
            _gauge_by("mlops_steps", "Step runs by status.", "status", steps, StepStatus.values),
            GaugeMetricFamily("mlops_approval_requests_pending", "Approval requests waiting for a decision.", pending),
            _gauge_by(
                "mlops_notification_deliveries",
                "E-mail and webhook deliveries by status.",
                "status",
                deliveries,
                Delivery.Status.values,
            ),
            lost_family,
        ]

    def _buffer(self):
        with _client(settings.REDIS_URL).pipeline(transaction=False) as read:
            batches, entries, dropped = (
                read.llen(prediction_log.BUFFER_KEY)
                .get(prediction_log.BACKLOG_KEY)
                .hgetall(prediction_log.DROPPED_KEY)
                .execute()
            )
        # Items pushed by a release before the count was kept are trimmed from it too: it may go below zero.
        backlog = max(0, int(entries or 0)) if batches else 0
        dropped_family = CounterMetricFamily(
            "mlops_prediction_logs_dropped",
            "Prediction log entries the drain could not store, by reason (unreadable, deployment_gone).",
            labels=["reason"],
        )
        for reason in ("unreadable", "deployment_gone"):
            dropped_family.add_metric([reason], int(dropped.get(reason.encode(), 0)))
        return [
            GaugeMetricFamily(
                "mlops_prediction_log_backlog",
                "Prediction log entries in the Redis buffer that the drain has not stored yet.",
                backlog,
            ),
            GaugeMetricFamily(
                "mlops_prediction_log_backlog_flushes",
                "Items in the Redis buffer: one per flush of a web process, each holding its entries.",
                batches,
            ),
            dropped_family,
        ]

    def _queues(self):
        url = settings.CELERY_BROKER_URL
        if not url.startswith(_REDIS_SCHEMES):
            return None
        prefix = settings.CELERY_BROKER_TRANSPORT_OPTIONS.get("global_keyprefix", "")
        with _client(url).pipeline(transaction=False) as read:
            for queue in QUEUES:
                for suffix in _PRIORITY_SUFFIXES:
                    read.llen(f"{prefix}{queue}{suffix}")
            lengths = read.execute()
        depth = GaugeMetricFamily("mlops_queue_depth", "Celery messages waiting in each queue.", labels=["queue"])
        steps = len(_PRIORITY_SUFFIXES)
        for index, queue in enumerate(QUEUES):
            depth.add_metric([queue], sum(lengths[index * steps : (index + 1) * steps]))
        return [depth]
