"""The monitoring pages' figures (``monitoring.dashboard``): what they show, and that their queries do not grow with
the number of deployments, buckets or features."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from pipelines_app.engine.deployments import deploy_version
from pipelines_app.models import Alert, AlertRule, Deployment, Environment, Feedback, PredictionLog
from pipelines_app.monitoring.rollups import fold
from pipelines_app.monitoring.summary import summary
from tests.conftest import deploy_demo_model

DATA_URL = "/monitoring/credit-card-approval/staging/data/?window=1h"
FEATURE_URL = "/monitoring/credit-card-approval/staging/features/income/?window=1h"
RECORD = {"reports": 0.0, "age": 37.7, "income": 4.52, "owner": "yes", "selfemp": "no", "dependents": 3.0,
          "months": 54.0, "majorcards": 1.0, "active": 12.0}  # fmt: skip


@pytest.fixture
def version(demo_dataset, environments):
    return deploy_demo_model(demo_dataset, "credit-card-approval", "staging")


def serve(deployment, requests=6, minutes=1, tag="a"):
    """Scored requests spread over ``minutes`` minutes, one refused, two labels (one right, one wrong) and one
    firing alert for ``deployment``, folded into rollups; ``tag`` tells the request ids of each call apart."""
    now = timezone.now()
    logs = PredictionLog.objects.bulk_create(
        PredictionLog(
            deployment=deployment, model_version=deployment.primary_version, request_id=f"{deployment.pk}-{tag}{i}",
            inputs={name: [value] for name, value in RECORD.items()}, predictions=["yes" if i % 2 else "no"],
            scores=[0.8 if i % 2 else 0.3], latency_ms=2.0 + i, created_at=now - timedelta(minutes=i % minutes),
        )
        for i in range(requests)
    )  # fmt: skip
    PredictionLog.objects.create(
        deployment=deployment, model_version=deployment.primary_version, request_id=f"{deployment.pk}-{tag}-refused",
        status_code=400,
    )  # fmt: skip
    for log in logs[:2]:
        Feedback.objects.create(request_id=log.request_id, prediction_log=log, label="no")
    Alert.objects.create(rule=AlertRule.objects.filter(deployment=deployment).first(), value=0.5, message="errors")
    while fold():
        pass


def deployments(version, count):
    """Staging and as many more environments as make ``count`` deployments of ``version``, each with traffic."""
    made = list(Deployment.objects.filter(primary_version=version).order_by("pk"))
    for deployment in made:
        if not deployment.predictions.exists():
            serve(deployment)
    while len(made) < count:
        made.append(deploy_version(Environment.objects.create(name=f"region-{len(made)}"), version, "system"))
        serve(made[-1])
    return made


def queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:500]
    return len(captured), response


def test_the_overview_reads_as_many_queries_for_five_deployments_as_for_one(version, client_for, viewer):
    client = client_for(viewer)
    deployments(version, 1)
    one, _ = queries(client, "/monitoring/")
    deployments(version, 5)
    five, page = queries(client, "/monitoring/")
    assert five == one
    text = page.content.decode()
    assert text.count('href="/monitoring/credit-card-approval/') == 5
    assert "region-4" in text and "0.500 <small" in text and "(2 labels)" in text


def test_each_overview_row_shows_what_the_deployments_summary_says(version, client_for, viewer):
    made = deployments(version, 3)
    rows = client_for(viewer).get("/monitoring/").context["rows"]
    assert [row["deployment"] for row in rows] == sorted(made, key=lambda d: d.environment.name)
    for row in rows:
        expected, shown = summary(row["deployment"], "24h"), row["data"]
        for key in ("version", "requests", "rows", "errors", "error_rate", "positive_rate", "latency_ms"):
            assert shown[key] == expected[key], key
        assert shown["share_drifted"] == expected["share_drifted"]
        assert shown["performance"]["estimated"] == expected["performance"]["estimated"]
        realised = {
            k: v for k, v in expected["performance"]["realised"].items() if k in shown["performance"]["realised"]
        }
        assert shown["performance"]["realised"] == realised and realised["accuracy"] == 0.5
        assert row["last_alert"].rule.deployment == row["deployment"]


def test_labels_not_yet_due_count_on_no_overview_row(version, client_for, viewer):
    deployments(version, 2)
    version.model.label_latency_hours = 24
    version.model.save()
    rows = client_for(viewer).get("/monitoring/").context["rows"]
    assert [row["data"]["performance"]["realised"]["labelled"] for row in rows] == [0, 0]


def test_the_dashboard_data_keeps_its_shape_and_a_fixed_number_of_queries(version, client_for, viewer):
    client = client_for(viewer)
    deployments(version, 1)
    few, data = queries(client, DATA_URL)
    serve(deployments(version, 3)[0], requests=30, minutes=10, tag="b")  # more buckets, more deployments
    many, data = queries(client, DATA_URL)
    assert many == few <= 9
    body = data.json()
    # What static/js/monitoring_dashboard.js reads.
    for key in ("version", "requests", "rows", "error_rate", "latency_ms", "positive_rate", "share_drifted",
                "dataset_drift", "versions", "events", "granularity", "series", "scores", "reference_scores",
                "prediction_drift", "label_drift", "drift", "thresholds", "features", "fairness", "fairness_series",
                "performance_series", "performance"):  # fmt: skip
        assert key in body, key
    assert len(body["series"]) >= 10 and sum(point["requests"] for point in body["series"]) == 38
    assert set(body["series"][0]) == {"t", "requests", "error_rate", "positive_rate", "p50", "p95", "p99"}
    assert sum(body["features"]["income"]["current"]) == 36
    assert set(body["fairness_series"]) == {"owner", "selfemp"}
    assert body["fairness_series"]["owner"]["points"][0]["rates"]
    assert body["events"][0]["action"] == "deploy"


def test_the_feature_page_reads_a_fixed_number_of_queries(version, client_for, viewer):
    client = client_for(viewer)
    deployments(version, 1)
    few, page = queries(client, FEATURE_URL)
    assert len(page.context["chart"]["over_time"]) == 1
    serve(deployments(version, 2)[0], requests=30, minutes=10, tag="b")
    many, page = queries(client, FEATURE_URL)
    assert many == few <= 10
    chart = page.context["chart"]
    assert len(chart["over_time"]) >= 10 and sum(chart["current"]) == 36
    assert list(chart["psi_limits"]) == [0.1, 0.25]
    assert 'id="feature-level">' in page.content.decode() and page.context["result"]["rows"] == 36
