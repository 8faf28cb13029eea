"""The loop, with a real worker: drift fires → retraining starts → waits for approval → a reviewer approves →
the new version serves → on new traffic the drift clears and the alert resolves."""

import io
import json

import pandas as pd
import pytest

from pipelines_app.engine.approvals import decide
from pipelines_app.engine.runs import start_run
from pipelines_app.models import (
    Alert,
    AlertRule,
    ApiToken,
    ApprovalRequest,
    DatasetVersion,
    Deployment,
    Pipeline,
    PipelineRun,
)
from pipelines_app.monitoring.alerts import evaluate
from pipelines_app.monitoring.rollups import fold
from pipelines_app.serving import models_cache
from pipelines_app.serving.prediction_log import drain
from tests.conftest import DEMO_CSV, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

RETRAIN = """version: 1
name: credit-retrain
model: credit-loop
triggers: [{type: drift}]
stages:
  - name: data
    steps:
      - {name: load, type: ingest, dataset: credit-card-applications}
  - name: train
    steps:
      - {name: fit, type: train, target: card, positive_label: "yes", drop: [share, expenditure],
         estimator: sklearn.linear_model.LogisticRegression, params: {max_iter: 1000}, random_state: 3}
      - {name: evaluate, type: evaluate}
  - name: review
    steps:
      - {name: approve, type: approval, approvers: [reviewers], timeout: 1h}
  - name: production
    steps:
      - {name: deploy, type: deploy, environment: production}
"""


def finished(run, *statuses):
    return lambda: PipelineRun.objects.get(pk=run.pk).status in statuses


def approve(run, reviewer):
    wait_for(finished(run, "waiting_approval", "failed"), 120, 0.2, "the approval wait")
    decide(ApprovalRequest.objects.get(run=run, status="pending"), reviewer, True, "go")
    wait_for(finished(run, "succeeded", "failed"), 120, 0.2, "the deploy")
    assert PipelineRun.objects.get(pk=run.pk).status == "succeeded"


def shifted_traffic(client, token, rows=150):
    frame = pd.read_csv(DEMO_CSV).drop(columns=["card", "share", "expenditure"]).sample(rows, random_state=1)
    frame["income"] = frame["income"] * 1.6
    for record in frame.to_dict("records"):
        response = client.post(
            "/serve/credit-loop/production/invocations",
            json.dumps({"dataframe_records": [record]}),
            "application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
        assert response.status_code == 200, response.content
    drain()
    while fold():
        pass
    return response["X-Model-Version"]


def test_drift_retrains_and_the_new_version_clears_it(
    client, editor, reviewer, environments, demo_dataset, celery_worker_process
):
    pipeline = Pipeline.objects.create_from_yaml(RETRAIN, editor)
    approve(start_run(pipeline, editor), reviewer)
    token = ApiToken.objects.issue(editor)[1]
    deployment = Deployment.objects.get(environment__name="production", model__name="credit-loop")
    deployment.alert_rules.update(enabled=False)  # this loop follows its own rule; the defaults would fire too
    rule = AlertRule.objects.create(
        deployment=deployment, metric="feature_psi", feature="income", threshold=0.25, window="1h",
        cooldown_minutes=0, trigger_retraining=True,
    )  # fmt: skip
    assert shifted_traffic(client, token) == "1"

    # New applications have arrived meanwhile: the retraining run will learn from them.
    frame = pd.read_csv(DEMO_CSV)
    frame["income"] = frame["income"] * 1.6
    buffer = io.StringIO()
    frame.to_csv(buffer, index=False)
    DatasetVersion.objects.create_from_upload(
        "credit-card-applications", buffer.getvalue().encode(), filename="recent.csv", user=editor
    )

    assert evaluate()[0] == 1
    alert = Alert.objects.get(rule=rule)
    retrain = wait_for(lambda: PipelineRun.objects.filter(trigger="drift").first(), 30, 0.2, "the drift run")
    alert.refresh_from_db()
    assert alert.runs_started == [retrain.pk]
    approve(retrain, reviewer)
    deployment.refresh_from_db()
    assert deployment.primary_version.version == 2

    models_cache.forget()  # routes are re-read every second; no need to wait in a test
    assert shifted_traffic(client, token) == "2"
    _, resolved = evaluate()
    alert.refresh_from_db()
    assert resolved == 1 and alert.state == "resolved", alert.value
