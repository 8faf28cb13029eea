#!/usr/bin/env python
"""make bench: the engine's step-to-step hop and a burst of runs, next to bare Celery measured in the same run.

Targets (the engine issue): hop median <= 25 ms and p95 <= 100 ms on a pipeline of 20 no-op steps; 200 runs of
8 no-op steps submitted at once all finish within 30 s on 2 worker processes, none lost, none run twice.
Uses DATABASE_URL / REDIS_URL when set (PostgreSQL and Redis, as in production), else SQLite and a private
Redis in a temporary folder. Figures are printed, never asserted.
"""

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
VAR = Path(tempfile.mkdtemp(prefix="mlops-bench."))
os.environ.update(
    MLOPS_VAR_DIR=str(VAR),
    DJANGO_SETTINGS_MODULE="mlops_site.settings",
    PIPELINE_STEP_TYPES=json.dumps({"noop": "benchmarks.noop.NoopStep"}),
)
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{VAR / 'bench.sqlite3'}"
elif "postgres" in os.environ["DATABASE_URL"]:
    base = os.environ["DATABASE_URL"].rsplit("/", 1)[0]
    os.environ["DATABASE_URL"] = base + "/mlops_bench"

private = None
if not os.environ.get("REDIS_URL"):
    from mlops_site.local_redis import PrivateRedis

    private = PrivateRedis(VAR / "redis")
    os.environ["REDIS_URL"] = private.start()
else:
    os.environ["REDIS_URL"] = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/14"
os.environ["CELERY_BROKER_URL"] = os.environ["REDIS_URL"]


def percentile(values, q):
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main():
    from benchmarks.common import ensure_database

    ensure_database()
    import django

    django.setup()
    import redis
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from pipelines_app.engine.runs import start_run
    from pipelines_app.models import Pipeline, PipelineRun, StepRun

    worker = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "mlops_site",
            "worker",
            "-Q",
            "default,training,monitoring,celery",
            "--concurrency",
            "2",
            "-I",
            "benchmarks.noop",
            "--loglevel",
            "WARNING",
            "-n",
            "bench@%h",
        ],
        cwd=ROOT,
        env=os.environ.copy(),
    )
    r = redis.Redis.from_url(os.environ["REDIS_URL"])
    try:
        from benchmarks.noop import hop

        r.delete("bench:hops")
        hop.apply_async(args=[1, time.time()])  # warm-up: wait for the worker
        deadline = time.time() + 120
        while r.llen("bench:hops") < 1 and time.time() < deadline:
            time.sleep(0.1)
        r.delete("bench:hops")
        hop.apply_async(args=[200, time.time()])
        while r.llen("bench:hops") < 200 and time.time() < deadline + 60:
            time.sleep(0.05)
        bare = [float(x) * 1000 for x in r.lrange("bench:hops", 0, -1)]

        stages = "\n".join(f"  - name: s{i}\n    steps:\n      - {{name: n{i}, type: noop}}" for i in range(20))
        chain = Pipeline.objects.create_from_yaml(
            f"version: 1\nname: bench-chain\nmodel: bench\nstages:\n{stages}\n", None
        )
        hops = []
        for _ in range(5):
            run = start_run(chain, None)
            while PipelineRun.objects.get(pk=run.pk).status not in ("succeeded", "failed"):
                time.sleep(0.05)
            steps = list(StepRun.objects.filter(run=run).order_by("position"))
            hops += [
                (b.started_at - a.finished_at).total_seconds() * 1000 for a, b in zip(steps, steps[1:], strict=False)
            ]

        # Reference for the burst: the same number of empty Celery tasks (200 x 8) sent at once, drained by the
        # same worker.
        from benchmarks.noop import empty

        r.delete("bench:empty")
        t0 = time.time()
        for _ in range(1600):
            empty.apply_async(args=["bench:empty"])
        while int(r.get("bench:empty") or 0) < 1600 and time.time() - t0 < 300:
            time.sleep(0.02)
        bare_burst_s = time.time() - t0

        wide = "\n".join(f"  - name: w{i}\n    steps:\n      - {{name: m{i}, type: noop}}" for i in range(8))
        burst_pipeline = Pipeline.objects.create_from_yaml(
            f"version: 1\nname: bench-burst\nmodel: bench\nstages:\n{wide}\n", None
        )
        t0 = time.time()
        runs = [start_run(burst_pipeline, None) for _ in range(200)]
        ids = [run.pk for run in runs]
        while PipelineRun.objects.filter(pk__in=ids, status__in=["queued", "running"]).exists():
            if time.time() - t0 > 600:
                break
            time.sleep(0.2)
        burst_s = time.time() - t0
        finished = PipelineRun.objects.filter(pk__in=ids, status="succeeded").count()
        twice = StepRun.objects.filter(run_id__in=ids, attempt__gt=1).count()
    finally:
        worker.terminate()
        worker.wait(30)
        if private:
            private.stop()

    engine_median, bare_median = statistics.median(hops), statistics.median(bare)
    print(f"database: {os.environ['DATABASE_URL'].split(':')[0]}, broker: Redis, worker: 1 process group of 2")
    print(
        f"bare Celery hop (task sends the next): median {bare_median:.1f} ms, p95 {percentile(bare, 0.95):.1f} ms "
        f"({len(bare)} hops)"
    )
    print(
        f"engine step-to-step hop, 20 no-op steps x 5 runs: median {engine_median:.1f} ms "
        f"(target 25; {engine_median / bare_median:.1f}x bare Celery), p95 {percentile(hops, 0.95):.1f} ms "
        f"(target 100)"
    )
    print(
        f"200 runs x 8 no-op steps submitted at once: {finished}/200 succeeded in {burst_s:.1f} s (target 30 s), "
        f"lost {200 - finished}, steps run twice {twice}"
    )
    print(
        f"  reference: 1,600 empty Celery tasks sent at once drained in {bare_burst_s:.1f} s "
        f"({1600 / bare_burst_s:.0f} tasks/s); the engine ran {1600 / burst_s:.0f} steps/s, "
        f"{burst_s / bare_burst_s:.1f}x the bare time"
    )


if __name__ == "__main__":
    main()
