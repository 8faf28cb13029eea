#!/usr/bin/env python
"""make bench: serving under load, dashboards while it serves, and a soak with memory sampled.

1. 64 concurrent clients for 60 s of 1-row requests (wrk, loopback, 2 gunicorn workers, token auth, logging on
   and drained as in production): requests/s, p50/p99, and every non-2xx or socket error counted (target: none).
2. Meanwhile a logged-in viewer reloads the deployment's dashboard data over HTTP: its p95 under load.
3. A soak: 4 clients for BENCH_SOAK_MINUTES (default 30) minutes, the resident memory of the web workers and of
   this process (which drains the logs, as a monitoring worker does) sampled every 30 s; growth from the first
   sample after warm-up to the last (target: under 10%).

Everything stays on loopback and ends by itself. BENCH_LOAD_SECONDS and BENCH_SOAK_MINUTES shorten it.
"""

import http.cookiejar
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("BENCH_DURATION", os.environ.get("BENCH_LOAD_SECONDS", "60") + "s")
import benchmarks.serving as serving  # noqa: E402  (sets up the environment this benchmark shares)

SOAK_MINUTES = float(os.environ.get("BENCH_SOAK_MINUTES", "30"))
CLIENTS = 64


def rss_mb(pid):
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def children(pid):
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [int(p) for p in out]


def viewer_session(base):
    """An HTTP session of a viewer, logged in through the login form as a browser would."""
    from django.contrib.auth.models import Group, User

    password = secrets.token_urlsafe(16)
    user = User.objects.create_user("load-viewer", password=password)
    user.groups.add(Group.objects.get(name="viewers"))
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(base + "/accounts/login/").read()
    csrf = next(c.value for c in jar if c.name == "csrftoken")
    form = {"username": "load-viewer", "password": password, "csrfmiddlewaretoken": csrf}
    request = urllib.request.Request(
        base + "/accounts/login/", data=urllib.parse.urlencode(form).encode(), headers={"Referer": base + "/"}
    )
    opener.open(request).read()
    return opener


def main():
    if not serving.shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    from benchmarks.common import ensure_database, p95

    ensure_database()
    _, token, rows, _ = serving.train_and_deploy()
    body = serving.body_for(rows, 1)
    stop = threading.Event()
    threading.Thread(target=serving.drain_in_background, args=(stop,), daemon=True).start()
    threading.Thread(target=fold_in_background, args=(stop,), daemon=True).start()
    port = serving.free_port()
    base = f"http://127.0.0.1:{port}"
    server = serving.start_gunicorn(port, 2)
    try:
        serving.wait_http(base + "/serve/bench-credit/bench/ping")
        url = base + "/serve/bench-credit/bench/invocations"
        serving.wrk(url, body, 1, token)  # warm-up

        # 1 and 2: 64 clients, and a viewer's dashboard meanwhile.
        opener = viewer_session(base)
        dashboard_ms, done = [], threading.Event()

        def watch():
            while not done.is_set():
                started = time.perf_counter()
                with opener.open(base + "/monitoring/bench-credit/bench/data/?window=1h") as response:
                    response.read()
                    assert response.status == 200
                dashboard_ms.append((time.perf_counter() - started) * 1000)
                time.sleep(0.5)

        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        seconds = int(serving.DURATION.rstrip("s"))
        print(f"serving: {CLIENTS} clients for {seconds} s, a viewer's dashboard meanwhile", flush=True)
        load = serving.run_wrk(url, body, CLIENTS, token, f"{seconds}s")
        done.set()
        watcher.join(10)
        serving.wait_drained()

        # 3: the soak.
        pids = children(server.pid)
        samples = []
        soak = threading.Thread(
            target=serving.run_wrk, args=(url, body, 4, token, f"{max(1, int(SOAK_MINUTES * 60))}s"), daemon=True
        )
        soak.start()
        print(f"soak: 4 clients for {SOAK_MINUTES:g} min, memory every 30 s", flush=True)
        started = time.monotonic()
        while soak.is_alive():
            web = sum(rss_mb(pid) or 0 for pid in pids)
            samples.append((web, rss_mb(os.getpid())))
            minutes = (time.monotonic() - started) / 60
            print(f"  {minutes:5.1f} min: web workers {web:.0f} MB, log drain {samples[-1][1]:.0f} MB", flush=True)
            soak.join(30)
        serving.wait_drained()
    finally:
        serving.stop(server)
        stop.set()
        if serving.private:
            serving.private.stop()

    print(f"serving, {CLIENTS} clients for {seconds} s, 1-row requests, 2 workers, logging on:")
    print(f"  {load['total']:,} requests, {load['rps']:,.0f} req/s, p50 {load['p50']:.2f} ms, "
          f"p99 {load['p99']:.2f} ms, failed {load['failed']} (target 0)")  # fmt: skip
    print(f"  dashboard data meanwhile: {len(dashboard_ms)} loads, p95 {p95(dashboard_ms):.0f} ms, "
          f"median {statistics.median(dashboard_ms):.0f} ms")  # fmt: skip
    if len(samples) >= 3:
        first, last = samples[1], samples[-1]  # the first sample after warm-up
        web_growth = 100 * (last[0] - first[0]) / first[0]
        drain_growth = 100 * (last[1] - first[1]) / first[1]
        print(f"soak, 4 clients for {SOAK_MINUTES:g} min: web workers {first[0]:.0f} -> {last[0]:.0f} MB "
              f"({web_growth:+.1f}%), log drain {first[1]:.0f} -> {last[1]:.0f} MB ({drain_growth:+.1f}%) "
              "(target under +10%)")  # fmt: skip
    else:
        print("soak too short to compare memory samples (BENCH_SOAK_MINUTES)")


def fold_in_background(stop):
    """What the monitoring worker does every 5 s: fold the drained logs into the rollups dashboards read."""
    from pipelines_app.monitoring.rollups import fold

    while not stop.wait(5.0):
        while fold():
            pass


if __name__ == "__main__":
    main()
