"""Fifty runs submitted at once to two workers: all finish, none lost, no step run twice."""

import pytest

from pipelines_app.engine.runs import reap, start_run
from pipelines_app.models import Pipeline, PipelineRun, StepRun
from tests.conftest import WorkerProcess, start_workers, stop_workers, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

PIPELINE = """version: 1
name: burst
model: burst-model
stages:
  - name: one
    steps:
      - {name: first, type: ingest, dataset: credit-card-applications}
  - name: two
    steps:
      - {name: second, type: ingest, dataset: credit-card-applications}
"""
RUNS = 50


def test_fifty_runs_at_once_on_two_workers(redis_url, demo_dataset, editor):
    workers = start_workers(*(WorkerProcess(redis_url, name=f"burst-{i}") for i in range(2)))
    try:
        pipeline = Pipeline.objects.create_from_yaml(PIPELINE, editor)
        runs = [start_run(pipeline, editor) for _ in range(RUNS)]

        def all_ended():
            reap()
            return PipelineRun.objects.filter(pk__in=[r.pk for r in runs], status__in=("succeeded", "failed")).count()

        wait_for(lambda: all_ended() == RUNS, 300, 0.2, "every run to end")
        statuses = list(PipelineRun.objects.filter(pk__in=[r.pk for r in runs]).values_list("status", flat=True))
        steps = StepRun.objects.filter(run__in=runs)
        assert statuses.count("succeeded") == RUNS
        assert steps.count() == 2 * RUNS and set(steps.values_list("status", flat=True)) == {"succeeded"}
        assert set(steps.values_list("attempt", flat=True)) == {1}  # no step taken over or run twice
        hosts = set(steps.values_list("worker_host", flat=True))
        assert len({host.split("@")[0] for host in hosts}) == 2  # both workers took their share
        print(f"\n{RUNS} runs at once on 2 workers: {RUNS} tried, {statuses.count('succeeded')} survived, 0 lost")
    finally:
        stop_workers(*workers)
