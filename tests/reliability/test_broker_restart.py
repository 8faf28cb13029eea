"""Redis stopped for 10 s in the middle of a run, then started again: the run finishes, nothing lost or doubled;
a deployed model answers every request meanwhile and its prediction logs reach the database."""

import json
import time

import pytest

from mlops_site.celery import app
from mlops_site.local_redis import PrivateRedis
from pipelines_app.engine.runs import start_run
from pipelines_app.models import ApiToken, Deployment, ModelVersion, Pipeline, PredictionLog, StepRun
from tests.conftest import WorkerProcess, deploy_demo_model, wait_for, wait_for_run_to_end

pytestmark = pytest.mark.django_db(transaction=True)

PIPELINE = """version: 1
name: through-outage
model: outage-model
stages:
  - name: data
    steps:
      - {name: load, type: ingest, dataset: credit-card-applications}
  - name: train
    steps:
      - name: fit
        type: train
        target: card
        positive_label: "yes"
        estimator: sklearn.ensemble.RandomForestClassifier
        params: {n_estimators: 600, n_jobs: 1}
      - {name: evaluate, type: evaluate, sensitive_features: [owner]}
  - name: after
    steps:
      - {name: reload, type: ingest, dataset: credit-card-applications}
"""


def use_broker(url):
    """Point this process's Celery app at another broker (its connection pools are made anew)."""
    app.conf.broker_url = url
    app._pool = None
    app.amqp._producer_pool = None


@pytest.fixture
def own_redis(tmp_path, redis_url):
    redis = PrivateRedis(tmp_path / "redis")
    url = redis.start()
    use_broker(url)
    yield redis
    redis.stop()
    use_broker(redis_url)


def test_a_broker_outage_mid_run_loses_nothing(own_redis, environments, demo_dataset, editor, settings, client):
    settings.STEP_STALE_AFTER_S = 5
    settings.STEP_REQUEUE_AFTER_S = 3
    # A model already serves; its prediction logs go through the same Redis.
    settings.REDIS_URL = own_redis.url
    settings.PREDICTION_LOG_BACKGROUND = False  # each request flushes: an outage shows at once
    deploy_demo_model(demo_dataset, "outage-serving", "staging")
    token = ApiToken.objects.issue(editor, predict_only=True)[1]
    record = {"reports": 0, "age": 30.0, "income": 3.0, "owner": "no", "selfemp": "no", "dependents": 0,
              "months": 12, "majorcards": 1, "active": 5}  # fmt: skip

    def score():
        return client.post(
            "/serve/outage-serving/staging/invocations",
            json.dumps({"dataframe_records": [record]}),
            "application/json",
            HTTP_AUTHORIZATION=f"Token {token}",
        )

    worker = WorkerProcess(own_redis.url, name="outage", STEP_HEARTBEAT_S="0.5").start()
    try:
        run = start_run(Pipeline.objects.create_from_yaml(PIPELINE, editor), editor)
        wait_for(
            lambda: StepRun.objects.filter(run=run, name="fit", status="running").exists(),
            90,
            0.05,
            "training to start",
        )
        port = int(own_redis.url.rsplit(":", 1)[1].split("/")[0])
        own_redis.stop()
        outage_ends = time.monotonic() + 10  # the outage itself: Redis is down for 10 s while the step trains
        answers = []
        while time.monotonic() < outage_ends:
            answers.append(score())
            time.sleep(0.1)
        own_redis.start(port=port)
        use_broker(own_redis.url)

        wait_for_run_to_end(run, 180)
        assert run.status == "succeeded", run.error
        assert ModelVersion.objects.filter(run=run).count() == 1
        assert StepRun.objects.filter(run=run, status="succeeded").count() == 4
        # Serving answered throughout; with the buffer down each log went to the database directly.
        assert answers and {a.status_code for a in answers} == {200}
        ids = [a["X-Request-ID"] for a in answers]
        logged = PredictionLog.objects.filter(request_id__in=ids).count()
        lost = Deployment.objects.get(model__name="outage-serving").logs_lost
        assert logged + lost == len(ids) and lost == 0
        print("\nRedis down 10 s mid-run: 1 tried, 1 survived, 0 lost")
        print(f"serving during the outage: {len(ids)} requests, {len(ids)} answered 200, {logged} logged, 0 lost")
    finally:
        worker.stop()
