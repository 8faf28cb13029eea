"""Automated canary analysis: both arms of a canary split measured over the same window, judged, then promoted
or rolled back by the system (DESIGN §6 ``analysis:``, Harness's continuous verification, Argo Rollouts'
analysis, Flagger).

``judge_running`` (beat, every minute) measures each running ``CanaryAnalysis``: requests, error rate, latency
(p50, p95), positive rate, mean score, the PSI of the canary's scores against the primary's, and realised
accuracy where labels came back, from the prediction logs of each arm since the analysis started. Once each arm
has ``min_requests`` the checks are evaluated (the policy gate's grammar, ``primary.<metric>`` being the stable
arm over the same window); a failed check fails the canary. Not enough traffic by ``max_duration`` fails it too.
Then ``on_pass`` (promote or hold) or ``on_fail`` (rollback or hold) is carried out by ``system``, audited, and a
``canary.judged`` event tells the people concerned (``engine.reactions``).

A check whose value cannot be measured (accuracy with no labels yet, a positive rate for a regression) is
skipped, as a policy gate skips a rule with no production value; a canary is judged by the checks that could be.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import numpy as np
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone

from pipelines_app.engine.deployments import DeploymentRefused, abort_canary, promote_canary
from pipelines_app.engine.outbox import emit
from pipelines_app.models import AuditEvent, CanaryAnalysis, Event, Feedback, PredictionLog
from pipelines_app.monitoring import drift
from pipelines_app.spec.rules import CanaryCheck

log = logging.getLogger(__name__)

# Judged at most this often (beat runs every minute; a late or doubled message does not judge twice).
JUDGE_EVERY = timedelta(seconds=55)
# The most recent requests of an arm that the rates, latencies and scores are read from: enough for a p95 and a
# PSI to a few thousandths, bounded however busy the deployment is. Request counts are always exact.
SAMPLE_REQUESTS = 5_000
SCORE_BINS = 10


def judge_running(now=None) -> list[str]:
    """Judge every running analysis that is due; returns what each came to."""
    ids = CanaryAnalysis.objects.running().values_list("pk", flat=True)
    return [judge(pk, now) for pk in ids]


def judge(analysis_id, now=None, *, force=False) -> str:
    """Measure one analysis and, when it can be, judge it. Returns "running", "passed", "failed", "held",
    "cancelled", "not due" or "not claimed" (another worker has it, or it has ended)."""
    now = now or timezone.now()
    with transaction.atomic():
        analysis = (
            CanaryAnalysis.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("deployment__model", "deployment__environment", "canary_version", "primary_version")
            .filter(pk=analysis_id, status=CanaryAnalysis.Status.RUNNING)
            .first()
        )
        if analysis is None:
            return "not claimed"
        if not force and analysis.measured_at and now - analysis.measured_at < JUDGE_EVERY:
            return "not due"
        deployment = analysis.deployment
        if deployment.canary_version_id != analysis.canary_version_id:
            return _end(analysis, now, CanaryAnalysis.Status.CANCELLED, "", "the canary it judged no longer serves")
        analysis.measured = measure(analysis, now)
        analysis.measured_at = now
        canary, primary = analysis.measured["canary"], analysis.measured["primary"]
        enough = canary["requests"] >= analysis.min_requests and primary["requests"] >= analysis.min_requests
        if enough:
            analysis.results = evaluate(analysis.checks, canary, primary)
            failed = [r["rule"] for r in analysis.results if r["passed"] is False]
            verdict = "fail" if failed else "pass"
            reason = f"failed: {'; '.join(failed)}" if failed else "every check held"
        elif now >= analysis.deadline:
            verdict = "fail"
            reason = (
                f"not enough traffic by {analysis.deadline:%Y-%m-%d %H:%M} UTC: the canary had {canary['requests']} "
                f"and the primary {primary['requests']} requests of the {analysis.min_requests} each needed"
            )
        else:
            analysis.save(update_fields=["measured", "measured_at"])
            return "running"
        return _decide(analysis, verdict, reason, now)


def _decide(analysis, verdict, reason, now) -> str:
    action = analysis.on_pass if verdict == "pass" else analysis.on_fail
    status = {
        ("pass", "promote"): CanaryAnalysis.Status.PASSED,
        ("fail", "rollback"): CanaryAnalysis.Status.FAILED,
    }.get((verdict, action), CanaryAnalysis.Status.HELD)
    _end(analysis, now, status, verdict, reason)
    deployment = analysis.deployment
    try:
        if status == CanaryAnalysis.Status.PASSED:
            promote_canary(deployment, "system")
        elif status == CanaryAnalysis.Status.FAILED:
            abort_canary(deployment, "system")
    except DeploymentRefused as exc:  # the canary went in the meantime (the row lock makes this rare)
        analysis.status, analysis.reason = CanaryAnalysis.Status.CANCELLED, f"{reason}; then: {exc}"
        analysis.save(update_fields=["status", "reason"])
    AuditEvent.objects.record(
        "system",
        "deployment.canary_judged",
        deployment,
        {
            "analysis": analysis.pk,
            "canary": analysis.canary_version.version,
            "primary": analysis.primary_version.version,
            "verdict": verdict,
            "status": analysis.status,
            "reason": reason[:500],
            "checks": analysis.results,
        },
    )
    emit(Event.Kind.CANARY_JUDGED, analysis=analysis.pk)
    return analysis.status


def _end(analysis, now, status, verdict, reason) -> str:
    analysis.status, analysis.verdict, analysis.reason, analysis.decided_at = status, verdict, reason[:2000], now
    analysis.save(update_fields=["status", "verdict", "reason", "decided_at", "measured", "measured_at", "results"])
    return status


def evaluate(checks, canary: dict, primary: dict) -> list[dict]:
    """Each check with its outcome and both arms' values of the metric it reads."""
    results = []
    for stored in checks:
        check = CanaryCheck.model_validate(stored)
        outcome = check.evaluate(canary, primary)
        results.append(
            {
                "rule": outcome.rule,
                "metric": check.metric,
                "passed": outcome.passed,
                "canary": canary.get(check.metric),
                "primary": primary.get(check.metric),
                "threshold": outcome.threshold,
                "reason": outcome.reason,
            }
        )
    return results


def measure(analysis, now) -> dict:
    """Both arms over the same window, from the analysis's start to ``now``."""
    deployment = analysis.deployment
    positive = (analysis.primary_version.target_info or {}).get("positive_label")
    window = PredictionLog.objects.filter(
        deployment=deployment, created_at__gte=analysis.started_at, created_at__lte=now
    )
    arms = {
        "canary": window.filter(role=PredictionLog.Role.CANARY, model_version=analysis.canary_version_id),
        "primary": window.filter(role=PredictionLog.Role.PRIMARY, model_version=analysis.primary_version_id),
    }
    measured = {name: _arm(logs, positive) for name, logs in arms.items()}
    primary_scores = measured["primary"].pop("_scores")
    canary_scores = measured["canary"].pop("_scores")
    measured["primary"]["score_psi"] = 0.0 if len(primary_scores) else None
    measured["canary"]["score_psi"] = score_psi(primary_scores, canary_scores)
    return measured


def _arm(logs, positive) -> dict:
    counts = logs.aggregate(requests=Count("id"), errors=Count("id", filter=~Q(status_code=200)))
    requests = counts["requests"]
    recent = list(
        logs.filter(status_code=200)
        .order_by("-id")
        .values_list("id", "rows", "predictions", "scores", "latency_ms")[:SAMPLE_REQUESTS]
    )
    latencies = np.array([row[4] for row in recent], dtype=np.float64)
    predictions = [str(p) for row in recent for p in (row[2] or [])]
    scores = np.array([s for row in recent for s in (row[3] or []) if isinstance(s, int | float)], dtype=np.float64)
    return {
        "requests": requests,
        "error_rate": counts["errors"] / requests if requests else None,
        "latency_p50_ms": _percentile(latencies, 50),
        "latency_p95_ms": _percentile(latencies, 95),
        "positive_rate": (
            sum(p == str(positive) for p in predictions) / len(predictions)
            if positive is not None and predictions
            else None
        ),
        "mean_score": float(scores.mean()) if len(scores) else None,
        **_realised([row[0] for row in recent]),
        "_scores": scores,
    }


def _percentile(values, q):
    return round(float(np.percentile(values, q)), 3) if len(values) else None


def _realised(log_ids) -> dict:
    """``accuracy`` of the rows whose true label came back (None before any did) and how many did."""
    labelled = Feedback.objects.filter(prediction_log_id__in=log_ids).values_list(
        "label", "row", "prediction_log__predictions"
    )
    right = total = 0
    for label, row, predictions in labelled:
        if predictions and row < len(predictions):
            total += 1
            right += str(predictions[row]) == str(label)
    return {"accuracy": right / total if total else None, "labelled": total}


def score_psi(reference: np.ndarray, current: np.ndarray) -> float | None:
    """PSI of ``current``'s scores against ``reference``'s, over the reference's deciles (equal bins of [0, 1]
    where the reference has too few distinct scores to cut)."""
    if not len(reference) or not len(current):
        return None
    edges = np.unique(np.quantile(reference, np.linspace(0, 1, SCORE_BINS + 1))[1:-1])
    if len(edges) < 2:
        edges = np.linspace(0, 1, SCORE_BINS + 1)[1:-1]
    reference_counts = np.bincount(np.searchsorted(edges, reference, side="right"), minlength=len(edges) + 1)
    current_counts = np.bincount(np.searchsorted(edges, current, side="right"), minlength=len(edges) + 1)
    return round(drift.psi(reference_counts, current_counts), 6)


def describe(analysis) -> dict:
    """An analysis as the deployment API and page show it: status, verdict, each check with both arms' values
    (provisional while it runs, from the latest measurement), and the requests each arm has of those needed."""
    measured = analysis.measured or {}
    canary, primary = measured.get("canary") or {}, measured.get("primary") or {}
    if analysis.results:
        checks = analysis.results
    elif measured:
        checks = evaluate(analysis.checks, canary, primary)
    else:
        checks = [
            {"rule": CanaryCheck.model_validate(c).text, "metric": c["metric"], "passed": None, "canary": None,
             "primary": None, "threshold": None, "reason": "not measured yet"}
            for c in analysis.checks
        ]  # fmt: skip
    return {
        "id": analysis.pk,
        "status": analysis.status,
        "verdict": analysis.verdict or None,
        "reason": analysis.reason,
        "canary_version": analysis.canary_version.version,
        "primary_version": analysis.primary_version.version,
        "min_requests": analysis.min_requests,
        "max_duration_s": analysis.max_duration_s,
        "on_pass": analysis.on_pass,
        "on_fail": analysis.on_fail,
        "requests": {"canary": canary.get("requests", 0), "primary": primary.get("requests", 0)},
        "canary": canary,
        "primary": primary,
        "checks": checks,
        "started_at": analysis.started_at,
        "started_by": analysis.started_by,
        "run": analysis.run_id,
        "measured_at": analysis.measured_at,
        "deadline": analysis.deadline,
        "decided_at": analysis.decided_at,
    }
