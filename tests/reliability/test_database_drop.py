"""The database drops a worker's connections in the middle of a step: the attempt fails cleanly, is retried, and
the run finishes."""

import pytest
from django.db import connection

from pipelines_app.engine.runs import start_run
from pipelines_app.models import ModelVersion, Pipeline, StepRun
from tests.conftest import WorkerProcess, wait_for, wait_for_run_to_end
from tests.reliability.pipelines import small_pipeline

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="terminating a worker's connections needs PostgreSQL's server"
    ),
]


def test_a_dropped_database_connection_fails_the_attempt_and_the_retry_finishes(redis_url, demo_dataset, editor):
    worker = WorkerProcess(redis_url, name="dropped", faults={"train": 4}, STEP_HEARTBEAT_S="0.5").start()
    try:
        run = start_run(Pipeline.objects.create_from_yaml(small_pipeline("dropped"), editor), editor)
        step = wait_for(
            lambda: StepRun.objects.filter(run=run, name="fit", status="running", log__contains="pausing").first(),
            90,
            0.05,
            "the train step to be running",
        )
        with connection.cursor() as cursor:  # what a database restart or a failover does to the worker
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
            dropped = cursor.fetchone()[0]
        assert dropped >= 1

        wait_for_run_to_end(run, 120, reaping=False)
        assert run.status == "succeeded", run.error
        step.refresh_from_db()
        assert step.attempt == 2, step.log
        # Recorded and retried at once by the worker itself, not found later by the reaper.
        assert "lost its database connection" in step.log and "stopped answering" not in step.log
        assert ModelVersion.objects.filter(run=run).count() == 1
        print(f"\ndatabase connections dropped mid-step ({dropped}): 1 tried, 1 survived, 0 lost")
    finally:
        worker.stop()
