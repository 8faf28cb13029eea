"""The exact drift report: a Celery job that reads a window's raw logs and the training data, and tests each
feature with scipy on the raw values (``drift.exact_feature_drift``)."""

from __future__ import annotations

import logging
import math

import orjson
from django.conf import settings
from django.db import transaction
from django.db.models import TextField
from django.db.models.functions import Cast
from django.utils import timezone

from pipelines_app import dispatch
from pipelines_app.engine.context import format_exception
from pipelines_app.models import AuditEvent, DriftReport, PredictionLog
from pipelines_app.monitoring import drift, retention

log = logging.getLogger(__name__)


class ReportRefused(ValueError):
    """A report that cannot be made (its window reaches before the logs kept); the message says why."""


def request_report(deployment, since, until, user):
    """Queue a report of ``deployment``'s primary version over [since, until); the job runs on commit. A window
    that starts before the oldest prediction log kept is refused: its report would silently miss the days dropped
    (the dashboards, which read rollups, reach further back)."""
    cutoff = retention.log_cutoff()
    if since < cutoff:
        raise ReportRefused(
            f"Prediction logs are kept for {settings.PREDICTION_LOG_RETENTION_DAYS} days (from "
            f"{cutoff:%Y-%m-%d} UTC), and an exact report reads them: choose a window within that. The dashboard "
            "shows drift further back from its rollups."
        )
    with transaction.atomic():
        report = DriftReport.objects.create(
            deployment=deployment,
            model_version=deployment.primary_version,
            window_start=since,
            window_end=until,
            requested_by=user,
        )
        AuditEvent.objects.record(user, "drift_report.requested", report, {"since": since, "until": until})
        dispatch.compute_drift_report(report.pk)
    return report


def current_values(report) -> tuple[dict[str, list], int]:
    """The window's logged inputs of the report's version, by feature (shadow traffic and refusals aside)."""
    features = report.model_version.features
    columns = {name: [] for name in features}
    rows = 0
    logs = (
        PredictionLog.objects.filter(
            deployment=report.deployment,
            model_version=report.model_version,
            status_code=200,
            created_at__gte=report.window_start,
            created_at__lt=report.window_end,
        )
        .exclude(role="shadow")
        # The JSON as text, parsed by orjson: several times faster than the json module Django uses.
        .annotate(inputs_text=Cast("inputs", TextField()))
        .values_list("inputs_text", "rows")
    )
    for text, n in logs.iterator(chunk_size=5000):
        rows += n
        inputs = orjson.loads(text) if text else {}
        for name in features:
            columns[name].extend(inputs.get(name) or [None] * n)
    return columns, rows


def reference_values(version) -> tuple[dict[str, list], int]:
    """The training data's values by feature, typed as in training."""
    from pipelines_app.ml.datasets import apply_schema

    frame = version.dataset_version.read_frame()
    kinds = {entry["name"]: entry["kind"] for entry in version.feature_schema}
    typed = apply_schema(frame[list(kinds)], kinds)
    columns = {
        name: [None if (isinstance(v, float) and math.isnan(v)) else v for v in typed[name].tolist()] for name in kinds
    }
    return columns, len(typed)


def compute(report_id):
    """Run one report (the Celery task calls this). Claimed with a conditional update: run once."""
    if not DriftReport.objects.filter(pk=report_id, status=DriftReport.Status.QUEUED).update(
        status=DriftReport.Status.RUNNING, started_at=timezone.now()
    ):
        return "not claimed"
    report = DriftReport.objects.select_related("model_version__dataset_version", "deployment__model").get(pk=report_id)
    try:
        if report.model_version.dataset_version is None:
            raise ValueError(f"{report.model_version} names no training dataset to compare with")
        reference, reference_rows = reference_values(report.model_version)
        current, rows = current_values(report)
        kinds = {entry["name"]: entry["kind"] for entry in report.model_version.feature_schema}
        thresholds = report.deployment.model.drift_thresholds()
        results = {
            name: drift.exact_feature_drift(kinds[name], reference[name], current[name], thresholds) for name in kinds
        }
        results["_overall"] = drift.overall(results, thresholds["share"])
    except Exception as exc:  # noqa: BLE001  (a failed report says why on its page)
        DriftReport.objects.filter(pk=report_id).update(
            status=DriftReport.Status.FAILED, finished_at=timezone.now(), error=format_exception(exc)[-5000:]
        )
        return "failed"
    DriftReport.objects.filter(pk=report_id).update(
        status=DriftReport.Status.SUCCEEDED,
        finished_at=timezone.now(),
        rows=rows,
        reference_rows=reference_rows,
        results=results,
    )
    return "succeeded"
