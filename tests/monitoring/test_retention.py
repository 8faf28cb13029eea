"""Bounded prediction logs (DESIGN §3): on PostgreSQL the log is partitioned by day, days ahead are made and expired
days dropped whole; elsewhere expired rows are deleted. Rollups are kept longer; labels of dropped logs keep their
row; an exact drift report refuses a window older than the logs kept."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from pipelines_app.models import Deployment, Feedback, PredictionLog, Rollup, partitions
from pipelines_app.monitoring import retention
from pipelines_app.monitoring.reports import ReportRefused, request_report
from pipelines_app.serving.prediction_log import write

pytestmark = pytest.mark.django_db
postgres_only = pytest.mark.skipif("connection.vendor != 'postgresql'", reason="partitions are PostgreSQL's")


@pytest.fixture
def deployment(demo_dataset, environments):
    from tests.conftest import deploy_demo_model

    deploy_demo_model(demo_dataset, "kept-model", "staging")
    return Deployment.objects.get(model__name="kept-model")


def logged(deployment, days_ago, n=3, now=None):
    """``n`` requests logged ``days_ago`` days before ``now``, through the drain's own writer."""
    at = (now or timezone.now()) - timedelta(days=days_ago)
    entries = [
        {"request_id": f"r{days_ago}-{i}-{at.timestamp()}", "rows": 1, "deployment_id": deployment.pk,
         "model_version_id": deployment.primary_version_id, "role": "primary", "inputs": {"age": [30.0]},
         "predictions": ["yes"], "scores": [0.8], "latency_ms": 1.0, "created_at": at.timestamp()}
        for i in range(n)
    ]  # fmt: skip
    write(entries)
    return [e["request_id"] for e in entries]


@postgres_only
def test_the_log_is_partitioned_by_day_and_the_days_ahead_are_made(deployment):
    assert partitions.is_partitioned(connection)
    kept = retention.keep_bounded()
    today = timezone.now().astimezone(UTC).date()
    days = partitions.days(connection)
    assert {today, today + timedelta(days=1), today + timedelta(days=2)} <= set(days)
    assert retention.keep_bounded().created == []  # a second pass has nothing to make
    logged(deployment, 0)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT count(*) FROM {partitions.name_for(today)}")  # noqa: S608
        assert cursor.fetchone()[0] == 3
    assert kept.dropped == []


@postgres_only
def test_expired_days_are_dropped_whole_and_the_kept_ones_stay(deployment, settings, editor):
    settings.PREDICTION_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    old_day = (now - timedelta(days=40)).astimezone(UTC).date()
    with connection.cursor() as cursor:
        cursor.execute(partitions.create_sql(old_day))  # as the hourly pass made it 40 days ago
    expired = logged(deployment, 40, now=now)
    in_default = logged(deployment, 35, now=now)  # a backdated day with no partition: the default holds it
    recent = logged(deployment, 29, now=now) + logged(deployment, 0, now=now)
    Feedback.objects.create(request_id=expired[0], label="yes", prediction_log=PredictionLog.objects.get(
        request_id=expired[0]), created_by=editor)  # fmt: skip
    Feedback.objects.create(request_id=recent[0], label="no", prediction_log=PredictionLog.objects.get(
        request_id=recent[0]), created_by=editor)  # fmt: skip

    with connection.cursor() as cursor:  # the drain commits its rows; this test's transaction checks them now
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    kept = retention.keep_bounded(now)
    assert kept.dropped == [partitions.name_for(old_day)] and kept.rows_deleted == len(in_default)
    assert old_day not in partitions.days(connection)
    assert set(PredictionLog.objects.values_list("request_id", flat=True)) == set(recent)
    # The label of a dropped log keeps its row and id; its reference to the log is cleared.
    old_label = Feedback.objects.get(request_id=expired[0])
    assert old_label.prediction_log_id is None and old_label.label == "yes"
    assert Feedback.objects.get(request_id=recent[0]).prediction_log is not None


def test_rollups_outlive_the_logs_and_expire_in_their_turn(deployment, settings):
    settings.PREDICTION_LOG_RETENTION_DAYS, settings.ROLLUP_RETENTION_DAYS = 30, 400
    now = timezone.now()
    for days in (40, 399, 401):
        Rollup.objects.create(deployment=deployment, model_version=deployment.primary_version,
                              granularity="day", bucket=now - timedelta(days=days), requests=1)  # fmt: skip
    kept = retention.keep_bounded(now)
    assert kept.rollups_deleted == 1
    ages = sorted(round((now - bucket).days) for bucket in Rollup.objects.values_list("bucket", flat=True))
    assert ages == [40, 399]


def test_an_exact_report_refuses_a_window_older_than_the_logs(deployment, editor, settings, client_for):
    settings.PREDICTION_LOG_RETENTION_DAYS = 7
    until = timezone.now()
    with pytest.raises(ReportRefused, match="kept for 7 days"):
        request_report(deployment, until - timedelta(days=10), until, editor)
    page = client_for(editor).post("/monitoring/kept-model/staging/reports/", {"window": "30d"})
    assert page.status_code == 400 and "Prediction logs are kept for 7 days" in page.content.decode()
    assert request_report(deployment, until - timedelta(days=6), until, editor).pk  # within: made


def test_without_partitions_expired_rows_are_deleted(deployment, settings, monkeypatch):
    """SQLite (the one-machine default), or a PostgreSQL log not partitioned: a delete by age."""
    monkeypatch.setattr(partitions, "is_partitioned", lambda connection: False)
    settings.PREDICTION_LOG_RETENTION_DAYS = 30
    now = timezone.now()
    logged(deployment, 45, now=now)
    recent = logged(deployment, 1, now=now)
    kept = retention.keep_bounded(now)
    assert set(PredictionLog.objects.values_list("request_id", flat=True)) == set(recent)
    assert kept.dropped == [] and kept.rows_deleted == 3


def test_a_buffer_drained_twice_still_writes_each_request_once(deployment):
    """The log's unique key holds the time now (a partitioned table's keys hold its partition key); an entry
    written again comes with its own time, so it is still written once."""
    now = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
    first = logged(deployment, 0, now=now)
    again = logged(deployment, 0, now=now)
    assert first == again and PredictionLog.objects.filter(request_id__in=first).count() == 3
