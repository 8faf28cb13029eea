"""A worker killed with SIGKILL in the middle of each kind of step (ingest, train, evaluate, deploy): the step is
taken over by a live worker once the dead one stops beating, the run finishes, one model version per training
step, one deployment."""

import os
import signal

import pytest

from pipelines_app.engine.runs import start_run
from pipelines_app.models import DeploymentEvent, ModelVersion, Pipeline, StepRun
from tests.conftest import WorkerProcess, wait_for, wait_for_run_to_end
from tests.reliability.pipelines import small_pipeline

pytestmark = pytest.mark.django_db(transaction=True)

STEP_OF = {"ingest": "load", "train": "fit", "evaluate": "check", "deploy": "to-staging"}
FAST_BEATS = {"STEP_HEARTBEAT_S": "0.5"}


@pytest.mark.parametrize("kind", list(STEP_OF))
def test_sigkill_in_the_middle_of_a_step(kind, redis_url, environments, demo_dataset, editor, settings):
    settings.STEP_STALE_AFTER_S = 3
    doomed = WorkerProcess(redis_url, name=f"doomed-{kind}", faults={kind: 60}, **FAST_BEATS).start()
    survivor = None
    try:
        run = start_run(
            Pipeline.objects.create_from_yaml(
                small_pipeline(f"kill-{kind}", evaluate="check", deploy_to="staging"), editor
            ),
            editor,
        )
        step = wait_for(
            lambda: StepRun.objects.filter(run=run, name=STEP_OF[kind], status="running", log__contains="pausing")
            .first(),
            90,
            0.05,
            f"the {kind} step to be running",
        )  # fmt: skip
        assert step.worker_host.startswith(f"doomed-{kind}@")
        os.kill(doomed.process.pid, signal.SIGKILL)
        doomed.process.wait(10)
        survivor = WorkerProcess(redis_url, name=f"survivor-{kind}", **FAST_BEATS).start()

        wait_for_run_to_end(run, 180)
        assert run.status == "succeeded", run.error
        step.refresh_from_db()
        assert step.attempt == 2 and step.worker_host.startswith(f"survivor-{kind}@")
        assert "stopped answering" in step.log
        assert ModelVersion.objects.filter(run=run).count() == 1
        assert DeploymentEvent.objects.filter(version__run=run, action="deploy").count() == 1
        print(f"\nworker killed during {kind}: 1 tried, 1 survived, 0 lost")
    finally:
        for worker in (doomed, survivor):
            if worker:
                worker.stop()
