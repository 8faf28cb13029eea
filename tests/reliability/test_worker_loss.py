"""A worker killed with SIGKILL mid-train: the step runs again on a live worker, the run finishes, and the
training step produces exactly one model version."""

import os
import signal

import pytest

from pipelines_app.engine.runs import start_run
from pipelines_app.models import ModelVersion, Pipeline, StepRun
from tests.conftest import WorkerProcess, wait_for, wait_for_run_to_end

pytestmark = pytest.mark.django_db(transaction=True)

SLOW_TRAIN = """version: 1
name: slow-train
model: slow-model
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
        params: {n_estimators: 1500, n_jobs: 1}
      - {name: evaluate, type: evaluate}
"""

FAST_BEATS = {"STEP_HEARTBEAT_S": "0.5"}


def test_sigkill_during_train_retries_on_another_worker(redis_url, environments, demo_dataset, editor, settings):
    settings.STEP_STALE_AFTER_S = 3
    first = WorkerProcess(redis_url, name="doomed", **FAST_BEATS).start()
    second = None
    try:
        run = start_run(Pipeline.objects.create_from_yaml(SLOW_TRAIN, editor), editor)
        fit = wait_for(
            lambda: StepRun.objects.filter(run=run, name="fit", status="running", progress__gt=0).first(),
            90,
            0.05,
            "the train step to be running",
        )
        assert fit.worker_host.startswith("doomed@")
        os.kill(first.process.pid, signal.SIGKILL)
        first.process.wait(10)
        second = WorkerProcess(redis_url, name="survivor", **FAST_BEATS).start()

        wait_for_run_to_end(run, 180)
        assert run.status == "succeeded", run.error
        fit.refresh_from_db()
        assert fit.attempt == 2 and fit.worker_host.startswith("survivor@")
        assert "stopped answering" in fit.log
        assert ModelVersion.objects.filter(run=run).count() == 1
        print("\nworker loss during train: 1 tried, 1 survived, 0 lost")
    finally:
        for worker in (first, second):
            if worker:
                worker.stop()
