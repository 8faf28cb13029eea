"""The exact drift report on raw logs: numbers equal scipy's on the same data; queued, claimed once, shown."""

import numpy as np
import pytest
from django.utils import timezone
from scipy import stats

from pipelines_app.models import Deployment, DriftReport
from pipelines_app.monitoring.reports import compute, current_values, reference_values, request_report


@pytest.fixture
def report(traffic, editor):
    deployment = Deployment.objects.get(environment__name="staging")
    now = timezone.now()
    return request_report(deployment, now - timezone.timedelta(hours=1), now, editor)


def test_the_report_agrees_with_scipy_and_finds_the_shift(report):
    assert compute(report.pk) == "succeeded"
    report.refresh_from_db()
    assert report.status == "succeeded" and report.rows == 624 and report.reference_rows == 1319
    reference, _ = reference_values(report.model_version)
    current, _ = current_values(report)
    income = report.results["income"]
    expected = stats.ks_2samp(
        [v for v in reference["income"] if v is not None], [v for v in current["income"] if v is not None]
    )
    assert income["ks"] == pytest.approx(expected.statistic) and income["ks_p_value"] == pytest.approx(expected.pvalue)
    assert income["level"] in ("warn", "alert")
    owner = report.results["owner"]
    categories = sorted(set(reference["owner"]) | set(current["owner"]))
    ref = np.array([reference["owner"].count(c) for c in categories], dtype=float)
    cur = np.array([current["owner"].count(c) for c in categories], dtype=float)
    chi = stats.chisquare(cur, ref / ref.sum() * cur.sum())
    assert owner["chi2"] == pytest.approx(chi.statistic) and owner["chi2_p_value"] == pytest.approx(chi.pvalue)
    assert report.results["_overall"]["share_drifted"] < 0.5


def test_a_report_runs_once(report):
    assert compute(report.pk) == "succeeded"
    assert compute(report.pk) == "not claimed"


def test_a_report_without_training_data_fails_with_the_reason(report):
    version = report.model_version
    version.dataset_version = None
    version.save()
    assert compute(report.pk) == "failed"
    report.refresh_from_db()
    assert report.status == "failed" and "names no training dataset" in report.error


def test_editors_ask_for_reports_in_the_browser(traffic, client_for, editor, viewer):
    url = "/monitoring/credit-card-approval/staging/reports/"
    assert client_for(viewer).post(url, {"window": "1h"}).status_code == 403
    assert client_for(editor).post(url, {"window": "soon"}).status_code == 400
    response = client_for(editor).post(url, {"window": "1h"})
    report = DriftReport.objects.get()
    assert response.status_code == 302 and response["Location"] == report.get_absolute_url()
    waiting = client_for(viewer).get(report.get_absolute_url()).content.decode()
    assert 'hx-trigger="every 2s"' in waiting
    compute(report.pk)
    done = client_for(viewer).get(report.get_absolute_url()).content.decode()
    assert 'data-feature="income"' in done and "hx-trigger" not in done
