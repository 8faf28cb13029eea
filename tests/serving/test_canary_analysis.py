"""Automated canary analysis with a real worker: traffic is split between the primary and a canary, logged, and the
worker's ``judge_canaries`` task measures both arms and acts. A canary that answers one class for everyone is
rolled back by the system; a canary equal to the primary is promoted."""

import json

import pandas as pd
import pytest
from django.core.files.base import ContentFile

from pipelines_app.engine.deployments import deploy_version
from pipelines_app.ml import artifacts, training
from pipelines_app.models import (
    ApiToken,
    AuditEvent,
    CanaryAnalysis,
    Deployment,
    DeploymentEvent,
    Environment,
    ModelVersion,
    Notification,
)
from pipelines_app.serving import models_cache
from pipelines_app.serving.prediction_log import drain
from pipelines_app.spec.steps import CanaryAnalysis as AnalysisSpec
from pipelines_app.tasks import judge_canaries
from tests.conftest import DEMO_CSV, api_client, deploy_demo_model, wait_for

pytestmark = pytest.mark.django_db(transaction=True)
MODEL = "credit-canary"
ROWS_PER_REQUEST = 25


@pytest.fixture
def primary(demo_dataset, environments):
    return deploy_demo_model(demo_dataset, MODEL, "staging")


def second_version(v1, estimator=None):
    """v2 of the model: the same model file as v1, or one trained with ``estimator`` on the same data."""
    if estimator is None:
        with v1.artifact.open("rb") as f:
            data = f.read()
    else:
        result = training.train_model(
            v1.dataset_version.read_frame(), v1.dataset_version.schema, target="card", estimator_path=estimator,
            params={}, drop=["share", "expenditure"], random_state=42, positive_label="yes",
        )  # fmt: skip
        data = artifacts.dump_model(result.pipeline)
    fields = ("task", "target", "target_info", "estimator", "features", "feature_schema", "reference_profile")
    v2 = ModelVersion(model=v1.model, version=2, dataset_version=v1.dataset_version, sha256=artifacts.sha256_of(data),
                      **{name: getattr(v1, name) for name in fields})  # fmt: skip
    v2.artifact.save("v2.skops", ContentFile(data), save=False)
    v2.save()
    return v2


def send_traffic(client, token, requests):
    frame = pd.read_csv(DEMO_CSV).drop(columns=["card", "share", "expenditure"])
    for i in range(requests):
        rows = frame.sample(ROWS_PER_REQUEST, random_state=i)
        response = client.post(
            f"/serve/{MODEL}/staging/invocations",
            json.dumps({"dataframe_split": json.loads(rows.to_json(orient="split", index=False))}),
            "application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )
        assert response.status_code == 200, response.content
    drain()


def judged_by_the_worker(analysis):
    judge_canaries.delay()
    return wait_for(
        lambda: CanaryAnalysis.objects.exclude(status="running").filter(pk=analysis.pk).first(),
        60,
        0.2,
        "the worker to judge the canary",
    )


# DESIGN §6's checks, but the latency one with room for a shared, busy test machine: with 40-odd requests per arm a
# p95 is the second-slowest request, and one pause of the test process decides it (a run of the whole suite failed
# the equal canary on latency alone). Production analyses judge on min_requests 200 and more.
CHECKS = [
    "error_rate <= primary.error_rate + 0.01",
    "latency_p95_ms <= primary.latency_p95_ms * 2 + 20",
    "score_psi <= 0.2",
    "positive_rate >= primary.positive_rate - 0.1",
    "positive_rate <= primary.positive_rate + 0.1",
]


def start_canary(primary, v2, editor, **analysis):
    staging = Environment.objects.get(name="staging")
    spec = AnalysisSpec.model_validate({"min_requests": 20, "checks": CHECKS, **analysis})
    deployment = deploy_version(staging, v2, editor, "canary", 50, analysis=spec)
    for version in (primary, v2):  # loaded before the traffic: a first load's time is not the model's latency
        models_cache.load(version)
    return deployment, deployment.analyses.get()


def test_a_canary_answering_one_class_for_everyone_is_rolled_back(primary, client, editor, celery_worker_process):
    v2 = second_version(primary, "sklearn.dummy.DummyClassifier")
    deployment, analysis = start_canary(primary, v2, editor)
    send_traffic(client, ApiToken.objects.issue(editor)[1], 80)

    analysis = judged_by_the_worker(analysis)
    assert (analysis.status, analysis.verdict) == ("failed", "fail"), analysis.reason
    deployment = Deployment.objects.get(pk=deployment.pk)
    assert deployment.canary_version is None and deployment.primary_version == primary
    rolled_back = DeploymentEvent.objects.filter(deployment=deployment, action="abort_canary").get()
    assert rolled_back.actor_name == "system" and rolled_back.version == v2
    failed = {r["metric"] for r in analysis.results if r["passed"] is False}
    assert "score_psi" in failed and "positive_rate" in failed, analysis.results
    canary, first = analysis.measured["canary"], analysis.measured["primary"]
    assert canary["positive_rate"] == 1.0 and first["positive_rate"] < 0.95
    assert canary["requests"] >= 20 and first["requests"] >= 20 and canary["requests"] + first["requests"] == 80
    judged = AuditEvent.objects.get(verb="deployment.canary_judged")
    assert judged.actor_name == "system" and judged.payload["verdict"] == "fail"
    # The reaction to the verdict tells the editor who started it, on the worker too.
    note = wait_for(lambda: Notification.objects.filter(user=editor, message__contains="rolled the canary v2").first())
    assert note.url == f"/deployments/staging/{MODEL}/"


def test_a_canary_equal_to_the_primary_is_promoted(primary, client, editor, celery_worker_process):
    v2 = second_version(primary)
    deployment, analysis = start_canary(primary, v2, editor)
    send_traffic(client, ApiToken.objects.issue(editor)[1], 80)

    analysis = judged_by_the_worker(analysis)
    assert (analysis.status, analysis.verdict) == ("passed", "pass"), analysis.results
    deployment = Deployment.objects.get(pk=deployment.pk)
    assert deployment.primary_version == v2 and deployment.canary_version is None
    assert analysis.measured["canary"]["score_psi"] < 0.05
    body = api_client(editor).get(f"/api/v1/deployments/staging/{MODEL}/").json()
    assert body["primary_version"] == 2
    assert body["analysis"]["status"] == "passed" and body["analysis"]["decided_at"]
    assert all(c["passed"] is True and c["canary"] is not None for c in body["analysis"]["checks"])
    assert {c["rule"] for c in body["analysis"]["checks"]} >= {"score_psi <= 0.2"}
    promoted = body["history"][0]
    assert (promoted["event"], promoted["actor"], promoted["version"]) == ("canary_promoted", "system", 2)
