"""Bounded prediction logs (DESIGN §3): at the measured 2,000–4,000 requests/s a log kept forever grows by
hundreds of millions of rows a day. ``keep_bounded`` (beat, hourly) keeps it to ``PREDICTION_LOG_RETENTION_DAYS``:

- on PostgreSQL, where the log is partitioned by day (``models.partitions``), it makes the partitions of today and
  the next two days ahead, and drops each day's partition once the whole day is older than the retention: a
  catalogue change that takes milliseconds however many rows the day holds. Rows that landed in the default
  partition (a day that had none: backdated traffic, a clock far off) are deleted by age;
- elsewhere (SQLite, the one-machine default) the expired rows are deleted.

Rollups, which the dashboards, alerts and drift read, are kept for ``ROLLUP_RETENTION_DAYS`` (400 by default), so
a year of history stays on the dashboards after its logs are gone. Labels (feedback) whose log was dropped keep
their row and request id; their reference to the log is cleared.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from pipelines_app.models import Feedback, PredictionLog, Rollup, partitions

log = logging.getLogger(__name__)
DAYS_AHEAD = 2
DELETE_BATCH = 10_000


@dataclass
class Kept:
    """What one pass did."""

    created: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)
    rows_deleted: int = 0
    rollups_deleted: int = 0
    feedback_detached: int = 0


def log_cutoff(now: datetime | None = None) -> datetime:
    """The oldest time a prediction log is kept from: the start of the UTC day ``PREDICTION_LOG_RETENTION_DAYS``
    days before today (whole days, as partitions are)."""
    today = (now or timezone.now()).astimezone(UTC).date()
    return datetime.combine(today - timedelta(days=settings.PREDICTION_LOG_RETENTION_DAYS), time(), tzinfo=UTC)


def keep_bounded(now: datetime | None = None) -> Kept:
    now = now or timezone.now()
    kept = Kept()
    cutoff = log_cutoff(now)
    if partitions.is_partitioned(connection):
        _partitions(now.astimezone(UTC).date(), cutoff, kept)
    else:
        kept.rows_deleted = _delete_older(PredictionLog.objects.all(), cutoff)
    rollup_cutoff = now - timedelta(days=settings.ROLLUP_RETENTION_DAYS)
    kept.rollups_deleted = _delete_older(Rollup.objects.all(), rollup_cutoff, field_name="bucket")
    if kept.dropped or kept.rows_deleted:
        kept.feedback_detached = _detach_feedback()
    if kept.dropped or kept.rows_deleted or kept.rollups_deleted:
        log.info("prediction logs kept bounded: %s", kept)
    return kept


def _partitions(today: date, cutoff: datetime, kept: Kept) -> None:
    existing = partitions.days(connection)
    with connection.cursor() as cursor:
        for offset in range(DAYS_AHEAD + 1):
            day = today + timedelta(days=offset)
            if day in existing:
                continue
            try:
                with transaction.atomic():
                    cursor.execute(partitions.create_sql(day))
                kept.created.append(partitions.name_for(day))
            except Exception:  # noqa: BLE001  (rows of that day already sit in the default partition: they stay there)
                log.warning("could not make the partition of %s; its rows stay in the default partition", day)
        for day, name in sorted(existing.items()):
            if partitions.bounds(day)[1] <= cutoff:
                with transaction.atomic():
                    cursor.execute(f"DROP TABLE IF EXISTS {name}")
                kept.dropped.append(name)
        with transaction.atomic():
            cursor.execute(f"DELETE FROM {partitions.DEFAULT} WHERE created_at < %s", [cutoff])  # noqa: S608  (a constant)
            kept.rows_deleted = cursor.rowcount


def _delete_older(queryset, cutoff, field_name="created_at") -> int:
    """Delete rows older than ``cutoff`` in batches (each a short transaction), without loading them."""
    deleted = 0
    while True:
        ids = list(queryset.filter(**{f"{field_name}__lt": cutoff}).values_list("pk", flat=True)[:DELETE_BATCH])
        if not ids:
            return deleted
        with transaction.atomic():
            if queryset.model is PredictionLog:
                Feedback.objects.filter(prediction_log_id__in=ids).update(prediction_log=None)
            deleted += queryset.model.objects.filter(pk__in=ids)._raw_delete(connection.alias)


def _detach_feedback() -> int:
    """Labels whose log is gone (its day dropped) keep their row; their reference to the log is cleared. One
    probe of the log's primary key per label (NOT EXISTS), only after a pass that removed logs."""
    log_kept = PredictionLog.objects.filter(pk=OuterRef("prediction_log_id"))
    return Feedback.objects.filter(prediction_log__isnull=False).filter(~Exists(log_kept)).update(prediction_log=None)
