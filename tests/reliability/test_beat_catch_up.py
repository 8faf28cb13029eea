"""Beat down for hours, then started again: a schedule it missed three times starts one run, not three."""

import subprocess
import sys
import time
from datetime import timedelta

import pytest
from django.utils import timezone
from django_celery_beat.models import PeriodicTask

from pipelines_app.models import Pipeline, PipelineRun
from tests.conftest import ROOT, WorkerProcess, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def test_missed_schedules_start_one_run_when_beat_returns(redis_url, demo_dataset, editor, tmp_path):
    minute = (timezone.now() - timedelta(minutes=5)).minute  # hourly, last due five minutes ago
    pipeline = Pipeline.objects.create_from_yaml(
        f"""version: 1
name: hourly
model: hourly-model
triggers:
  - {{type: schedule, cron: "{minute} * * * *"}}
stages:
  - name: data
    steps:
      - {{name: load, type: ingest, dataset: credit-card-applications}}
""",
        editor,
    )
    task = PeriodicTask.objects.get(name__startswith=f"pipeline-schedule:{pipeline.pk}:")
    # Beat was last up three hours ago: the schedule was due three times while it was down.
    PeriodicTask.objects.filter(pk=task.pk).update(last_run_at=timezone.now() - timedelta(hours=3))
    worker = WorkerProcess(redis_url, name="beat-worker").start()
    beat_log = open(tmp_path / "beat.log", "w")
    beat = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mlops_site",
            "beat",
            "--loglevel",
            "INFO",
            "--schedule",
            str(tmp_path / "beat-schedule"),
        ],  # fmt: skip
        cwd=ROOT,
        env=worker.env,
        stdout=beat_log,
        stderr=subprocess.STDOUT,
    )
    try:
        runs = PipelineRun.objects.filter(pipeline=pipeline)
        wait_for(lambda: runs.exists(), 90, 0.5, "beat to start the missed schedule")
        time.sleep(10)  # several beat ticks: a catch-up that repeated itself would show by now
        assert runs.count() == 1, f"{runs.count()} runs: {(tmp_path / 'beat.log').read_text()[-2000:]}"
        assert runs.get().trigger == "schedule"
        print("\nbeat down 3 h, schedule missed 3 times: 1 run started, 0 duplicated")
    finally:
        beat.terminate()
        beat.wait(15)
        beat_log.close()
        worker.stop()
