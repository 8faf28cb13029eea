#!/usr/bin/env python
"""make bench: monitoring at volume. 1,000,000 logged predictions over 30 days, folded into rollups, then the
dashboard's data requests and the binned drift timed on them.

Targets (the monitoring issue): rollups fold >= 20,000 logged predictions per second on one worker; each
dashboard data request p95 <= 300 ms and the full page <= 1 s; the binned drift <= 50 ms for any window.
Figures are printed, never asserted. BENCH_ROWS changes the volume (default 1,000,000).
"""

import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
ROWS = int(os.environ.get("BENCH_ROWS", "1000000"))
VAR = Path(tempfile.mkdtemp(prefix="mlops-bench-monitoring."))
os.environ.update(MLOPS_VAR_DIR=str(VAR), DJANGO_SETTINGS_MODULE="mlops_site.settings", PREDICTION_LOG_BACKGROUND="0")
if not os.environ.get("DATABASE_URL"):
    os.environ["DATABASE_URL"] = f"sqlite:///{VAR / 'bench.sqlite3'}"
elif "postgres" in os.environ["DATABASE_URL"]:
    os.environ["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/mlops_bench_monitoring"
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/11")


def main():
    from benchmarks.common import django_ready

    django_ready()
    import numpy as np
    from django.contrib.auth.models import Group, User
    from django.test import Client
    from django.utils import timezone

    from benchmarks.common import p95, train_demo_version
    from pipelines_app.engine.deployments import deploy_version
    from pipelines_app.models import Deployment, Environment
    from pipelines_app.monitoring import bins, drift, rollups
    from pipelines_app.monitoring.summary import summary
    from pipelines_app.serving.prediction_log import write

    # Evaluated with the template's sensitive features, so that folding also counts selection by group.
    version, result, frame = train_demo_version("bench-credit", sensitive=["owner", "selfemp"])
    deployment = deploy_version(Environment.objects.create(name="bench"), version, "system")
    deployment = Deployment.objects.select_related("environment", "model", "primary_version").get(pk=deployment.pk)

    # A million single-row requests over 30 days, sampled from the data; income drifts in the last week.
    rng = np.random.default_rng(0)
    records = frame[result.features].astype(object).where(frame[result.features].notna(), None).to_dict("records")
    now = time.time()
    start = now - 30 * 86400
    t0 = time.perf_counter()
    batch = []
    for i in range(ROWS):
        row = records[rng.integers(len(records))]
        at = start + (i / ROWS) * 30 * 86400
        income = row["income"] * (1.5 if at > now - 7 * 86400 else 1.0)
        cols = {name: [income if name == "income" else row[name]] for name in result.features}
        score = float(rng.random())
        batch.append(
            {"request_id": f"r{i}", "rows": 1, "deployment_id": deployment.pk, "model_version_id": version.pk,
             "role": "primary", "inputs": cols, "predictions": ["yes" if score >= 0.5 else "no"], "scores": [score],
             "latency_ms": float(rng.gamma(2, 0.4)), "created_at": at}
        )  # fmt: skip
        if len(batch) == 10_000:
            write(batch)
            batch = []
    if batch:
        write(batch)
    logged_s = time.perf_counter() - t0

    t0 = time.perf_counter()
    folded = 0
    while n := rollups.fold():
        folded += n
    fold_s = time.perf_counter() - t0

    user = User.objects.create_user("bench-viewer")  # force_login below: no password needed
    user.groups.add(Group.objects.get(name="viewers"))
    client = Client()
    client.force_login(user)
    data_url = "/monitoring/bench-credit/bench/data/"
    timings = {}
    for window in ("1h", "24h", "7d", "30d"):
        samples = []
        for _ in range(15):
            t = time.perf_counter()
            response = client.get(data_url, {"window": window})
            samples.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, response.content[:300]
        timings[window] = samples
    page = []
    for _ in range(10):
        t = time.perf_counter()
        client.get("/monitoring/bench-credit/bench/")
        client.get(data_url, {"window": "30d"})
        page.append((time.perf_counter() - t) * 1000)

    totals = rollups.window(deployment, timezone.now() - timezone.timedelta(days=30), version=version)
    specs = bins.reference_bins(version.reference_profile, version.feature_schema)
    drift_ms = []
    for _ in range(50):
        t = time.perf_counter()
        for name, spec in specs.items():
            drift.feature_drift(
                spec["kind"], spec["reference"], totals.features[name], edges=spec.get("edges"), std=spec.get("std")
            )
        drift_ms.append((time.perf_counter() - t) * 1000)
    flagged = summary(deployment, "7d")["drift"]["income"]["level"]

    # The exact report's first half: the window's raw inputs read back from the logs (benchmarks/drift.py times
    # the tests on them against Evidently).
    from pipelines_app.models import DriftReport
    from pipelines_app.monitoring.reports import current_values

    report = DriftReport(
        deployment=deployment,
        model_version=version,
        window_start=timezone.now() - timezone.timedelta(days=31),
        window_end=timezone.now() + timezone.timedelta(minutes=1),
    )
    t0 = time.perf_counter()
    _, read_rows = current_values(report)
    read_s = time.perf_counter() - t0

    print(f"database: {os.environ['DATABASE_URL'].split(':')[0]}; {ROWS:,} logged single-row predictions over 30 days")
    print(f"logging them in bulk (COPY on PostgreSQL): {ROWS / logged_s:,.0f} rows/s")
    print(f"folding into rollups: {folded:,} logs in {fold_s:.1f} s = {folded / fold_s:,.0f} logs/s (target 20,000)")
    for window, samples in timings.items():
        print(f"dashboard data, window {window:>3}: p95 {p95(samples):.0f} ms, median "
              f"{statistics.median(samples):.0f} ms (target p95 300 ms)")  # fmt: skip
    print(f"full dashboard page (HTML + 30-day data): p95 {p95(page):.0f} ms (target 1,000 ms)")
    print(f"binned drift, all {len(specs)} features, 30 days ({totals.rows:,} rows): median "
          f"{statistics.median(drift_ms):.1f} ms (target 50 ms); income over the last 7 days: {flagged}")  # fmt: skip
    print(f"exact report, reading the raw inputs back: {read_rows:,} rows in {read_s:.1f} s")


if __name__ == "__main__":
    main()
