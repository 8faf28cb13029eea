#!/usr/bin/env python
"""make bench: serving throughput and latency next to a bare-Django floor, `mlflow models serve` and Seldon's
MLServer on the same fitted model, in the same run.

The demo model (the credit card template's logistic regression on one-hot + scaled features) is trained here,
deployed, and served by gunicorn with token auth, schema checks, canary routing (a canary at 0% is routed
through) and prediction logging on (and, to price the logging, off), over MLflow's JSON (`dataframe_split` at
/invocations) and the Open Inference Protocol (V2: one input tensor per column). Beside it, under the same gunicorn
settings: the floor, a bare Django view answering constant JSON (benchmarks/floor.py) to the same bytes. MLflow
serves the same fitted pipeline from its own virtualenv (benchmarks/.mlflow-venv), and MLServer with its
scikit-learn runtime over V2 from another (benchmarks/.mlserver-venv, benchmarks/mlserver_model.py), at each of its
parallel_workers settings: both are created on first use and are never product dependencies. wrk drives every
server over loopback with 1 and 16 connections and 1-row and 100-row bodies, the servers alternated in rounds and
the median of each figure kept.

Targets (issue 16), logging on, both protocols: >= 0.7 of the floor for 1-row bodies and >= 0.5 for 100-row
bodies; p99 <= 5 ms at 1 client for 1 row; >= 5x MLServer's best setting; logging costs <= 10% in every cell.
Figures are printed, never asserted. BENCH_DURATION (wrk seconds per run), BENCH_ROUNDS, BENCH_SERVERS (some of
ours,floor,mlflow,mlserver) and BENCH_MLSERVER_WORKERS shorten a run while diagnosing.
"""

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
MLFLOW_VENV = ROOT / "benchmarks" / ".mlflow-venv"
MLFLOW_VERSION = "3.17.2"
MLSERVER_VENV = ROOT / "benchmarks" / ".mlserver-venv"
MLSERVER_VERSION = "1.7.1"
# MLServer's parallel_workers: 0 scores in its HTTP process, 1 (its default) in one worker process, 2 in one per core.
MLSERVER_WORKERS = [int(n) for n in os.environ.get("BENCH_MLSERVER_WORKERS", "0,1,2").split(",")]
DURATION = os.environ.get("BENCH_DURATION", "5s")
WARM_UP = "2s"
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
SERVERS = [kind for kind in os.environ.get("BENCH_SERVERS", "ours,floor,mlflow,mlserver").split(",") if kind]
MODEL, ENVIRONMENT = "bench-credit", "bench"
# Ours and the floor both run under start_gunicorn: two sync workers (gunicorn's default worker class), one request
# at a time each.
WORKERS = 2
CELLS = ((1, 1), (1, 16), (100, 1), (100, 16))
JSON_ON, JSON_OFF = "ours, JSON, logging on", "ours, JSON, logging off"
V2_ON, V2_OFF = "ours, V2, logging on", "ours, V2, logging off"
FLOOR = "bare Django floor"
MLFLOW_SETTINGS = {"MLflow, its default (1 worker)": None, "MLflow, 2 workers": 2}
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
from benchmarks.common import ensure_venv, isolate  # noqa: E402  (after sys.path; before Django loads settings)
from mlops_site.local_redis import free_port  # noqa: E402

VAR, private = isolate("serving")


def wait_http(url, timeout=120, ok=False):
    """Return once ``url`` answers (with 200, if ``ok``)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            urllib.request.urlopen(url, timeout=2)
            return
        except urllib.error.HTTPError:
            if not ok:
                return
            time.sleep(0.3)
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"{url} did not answer{' 200' if ok else ''} in {timeout} s")


def ensure_mlflow():
    import sklearn
    import skops

    requirements = [f"mlflow=={MLFLOW_VERSION}", f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}"]
    probe = f"import mlflow, skops; assert mlflow.__version__ == {MLFLOW_VERSION!r}"
    return ensure_venv(MLFLOW_VENV, requirements, probe)


def ensure_mlserver():
    import sklearn
    import skops

    requirements = [
        f"mlserver=={MLSERVER_VERSION}",
        f"mlserver-sklearn=={MLSERVER_VERSION}",
        "uvloop==0.21.0",  # MLServer 1.7.1's worker crashes with newer uvloop
        f"scikit-learn=={sklearn.__version__}",
        f"skops=={skops.__version__}",
    ]
    probe = f"import mlserver, mlserver_sklearn, skops; assert mlserver.__version__ == {MLSERVER_VERSION!r}"
    return ensure_venv(MLSERVER_VENV, requirements, probe)


def train_and_deploy():
    """The demo model, registered and deployed to an open environment; returns (version, token, rows)."""
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group, User

    from benchmarks.common import train_demo_version
    from pipelines_app.engine.deployments import deploy_version
    from pipelines_app.models import ApiToken, Environment

    version, result, frame = train_demo_version(MODEL)
    environment = Environment.objects.create(name=ENVIRONMENT)
    deploy_version(environment, version, "system")
    # A canary at 0%: every request goes through the canary routing, none is sent to it.
    deploy_version(environment, version, "system", strategy="canary", canary_percent=0)
    user = User.objects.create_user("bench")
    user.groups.add(Group.objects.get(name="viewers"))
    _, token = ApiToken.objects.issue(user, predict_only=True)
    rows = frame[result.features].head(100)
    return version, token, rows, result.pipeline


def body_for(rows, n):
    data = [[None if v != v else (v.item() if hasattr(v, "item") else v) for v in row] for row in rows.head(n).values]
    return json.dumps({"dataframe_split": {"columns": list(rows.columns), "data": data}})


def v2_tensors(version):
    """The V2 input tensors the model takes, in its feature order: numbers as FP64, categories as BYTES (text)."""
    return [
        {"name": feature["name"], "datatype": "FP64" if feature["kind"] == "numeric" else "BYTES"}
        for feature in version.feature_schema
    ]


def v2_body_for(rows, tensors, n):
    """An Open Inference Protocol request: one input tensor per column, of shape [n]."""
    head = rows.head(n)
    inputs = []
    for tensor in tensors:
        cast = float if tensor["datatype"] == "FP64" else str
        data = [cast(value) for value in head[tensor["name"]].tolist()]
        inputs.append({**tensor, "shape": [n], "data": data})
    return json.dumps({"inputs": inputs})


def run_wrk(url, body, connections, token=None, duration=None):
    """One wrk run of POSTs: requests/s, p50 and p99 in ms, requests sent, and requests failed (non-2xx answers
    and socket errors)."""
    script = VAR / f"wrk-{connections}-{len(body)}.lua"
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Token {token}"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(body)}"]
    lines += [f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()]
    script.write_text("\n".join(lines) + "\n")
    threads = str(min(connections, 2))
    # A 10 s timeout (wrk's is 2 s): an overloaded server's slowest answers count as latency, not as failures.
    args = ["wrk", "-t", threads, "-c", str(connections), "-d", duration or DURATION, "--timeout", "10s", "--latency"]
    out = subprocess.run(
        [*args, "-s", str(script), url],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    failed = int((re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out) or [0, 0])[1])
    errors = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),
        "p50": _ms(re.search(r"50%\s+([\d.]+\w+)", out).group(1)),
        "p99": _ms(re.search(r"99%\s+([\d.]+\w+)", out).group(1)),
        "total": int(re.search(r"(\d+) requests in", out).group(1)),
        "failed": failed + (sum(int(n) for n in errors.groups()) if errors else 0),
        "output": out,
    }


def wrk(url, body, connections, token=None, duration=None):
    """One run's requests/s, p50 and p99; any failed request stops the benchmark (a fast error is no figure)."""
    result = run_wrk(url, body, connections, token, duration)
    if result["failed"]:
        raise SystemExit(f"{url} answered errors under load:\n{result['output']}")
    return result


def _ms(text):
    value, unit = re.match(r"([\d.]+)(\w+)", text).groups()
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def start_gunicorn(
    port, workers=WORKERS, extra_env=None, app="mlops_site.wsgi", config="python:mlops_site.gunicorn_conf"
):
    """gunicorn as ours and the floor are both measured: ``workers`` sync workers, one request at a time each; ours
    with the site's gunicorn settings file (``make run``'s: /metrics counts every worker), the floor with none."""
    env = {**os.environ, **(extra_env or {})}
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            *(["--config", config] if config else []),
            app,
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
        start_new_session=True,
    )


def start_mlflow(python, model_dir, port, workers):
    env = {**os.environ, "PATH": f"{python.parent}:{os.environ['PATH']}", "MLFLOW_DISABLE_TELEMETRY": "true"}
    args = [str(python.parent / "mlflow"), "models", "serve", "-m", str(model_dir), "--env-manager", "local"]
    args += ["-h", "127.0.0.1", "-p", str(port)]
    if workers:
        args += ["--workers", str(workers)]
    return subprocess.Popen(args, env=env, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def start_mlserver(python, model_dir, port, workers):
    """MLServer as one would run it for speed: access logs off (its debug setting is on by default), its metrics
    server off (ours has none in the request path either), gRPC on a port of its own (unused)."""
    env = {
        **os.environ,
        "PATH": f"{python.parent}:{os.environ['PATH']}",
        "MLSERVER_HOST": "127.0.0.1",
        "MLSERVER_HTTP_PORT": str(port),
        "MLSERVER_GRPC_PORT": str(free_port()),
        "MLSERVER_PARALLEL_WORKERS": str(workers),
        "MLSERVER_DEBUG": "false",
        "MLSERVER_METRICS_ENDPOINT": "",
    }
    with open(VAR / f"mlserver-{workers}.log", "wb") as log:  # its own output, read when it fails to start
        return subprocess.Popen(
            [str(python.parent / "mlserver"), "start", str(model_dir)],
            cwd=VAR,
            env=env,
            start_new_session=True,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def stop(process):
    if process and process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


def drain_in_background(stop_event):
    """What the monitoring worker does in production: move the buffered logs into the database."""
    from pipelines_app.serving.prediction_log import drain

    while not stop_event.wait(1.0):
        drain()


def wait_drained(timeout=300):
    import redis

    from pipelines_app.serving.prediction_log import BUFFER_KEY

    client = redis.Redis.from_url(os.environ["REDIS_URL"])
    deadline = time.time() + timeout
    while client.llen(BUFFER_KEY) and time.time() < deadline:
        time.sleep(0.5)


def in_process_reference(pipeline, version, rows):
    from pipelines_app.serving import models_cache
    from pipelines_app.serving.payloads import Rows, type_columns

    one = rows.head(1)
    timings = []
    for _ in range(300):
        t0 = time.perf_counter()
        pipeline.predict_proba(one)
        timings.append((time.perf_counter() - t0) * 1000)
    sklearn_ms = statistics.median(timings)
    loaded = models_cache.load(version)
    typed, n = type_columns(Rows(names=list(one.columns), values=one.values.tolist()), loaded.feature_schema)
    timings = []
    for _ in range(3000):
        t0 = time.perf_counter()
        loaded.score(typed, n)
        timings.append((time.perf_counter() - t0) * 1000)
    return sklearn_ms, statistics.median(timings), loaded.scoring_path


@dataclass
class Target:
    """One server and protocol under load: its URL, its body for each row count, and whether it logs to the
    buffer (the next run then waits for the drain)."""

    label: str
    url: str
    bodies: dict
    token: str | None = None
    logs: bool = False


def post_status(url, body, token=None):
    """The status and body of one POST, answered with an error or not."""
    headers = {"Content-Type": "application/json", **({"Authorization": f"Token {token}"} if token else {})}
    request = urllib.request.Request(url, data=body.encode(), headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")


def start_ours(token, json_bodies, v2_bodies, processes, notes):
    """Ours with logging on and off; the V2 targets only where the endpoint answers a V2 request with 200."""
    targets = []
    for logs, env in ((True, {}), (False, {"SERVING_LOG_PREDICTIONS": "0"})):
        port = free_port()
        processes.append(start_gunicorn(port, extra_env=env))
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/serve/{MODEL}/{ENVIRONMENT}/ping")
        json_label, v2_label = (JSON_ON, V2_ON) if logs else (JSON_OFF, V2_OFF)
        targets.append(Target(json_label, f"{base}/serve/{MODEL}/{ENVIRONMENT}/invocations", json_bodies, token, logs))
        v2_url = f"{base}/v2/models/{MODEL}/versions/{ENVIRONMENT}/infer"
        status, answer = post_status(v2_url, v2_bodies[1], token)
        if status == 200:
            targets.append(Target(v2_label, v2_url, v2_bodies, token, logs))
        elif logs:
            notes.append(f"V2 cells skipped: POST {v2_url.removeprefix(base)} answered {status} ({answer[:120]!r})")
    return targets


def start_floor(json_bodies, token, processes):
    port = free_port()
    processes.append(start_gunicorn(port, app="benchmarks.floor:application", config=None))
    url = f"http://127.0.0.1:{port}/serve/{MODEL}/{ENVIRONMENT}/invocations"
    wait_http(url)
    return [Target(FLOOR, url, json_bodies, token)]


def start_mlflow_targets(version, json_bodies, processes):
    python = ensure_mlflow()
    model_dir = VAR / "mlflow-model"
    subprocess.run(
        [str(python), str(ROOT / "benchmarks" / "mlflow_model.py"), version.artifact.path, str(model_dir)],
        check=True,
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
    )
    targets = []
    for label, workers in MLFLOW_SETTINGS.items():
        port = free_port()
        processes.append(start_mlflow(python, model_dir, port, workers))
        wait_http(f"http://127.0.0.1:{port}/ping")
        targets.append(Target(label, f"http://127.0.0.1:{port}/invocations", json_bodies))
    return targets


def start_mlserver_targets(version, tensors, v2_bodies, expected, processes):
    """MLServer at each parallel_workers setting; ``expected``: the pipeline's probabilities for the 1-row body,
    which MLServer must answer (the same model, decoded as it should be)."""
    python = ensure_mlserver()
    model_dir = VAR / MODEL  # MLServer warns when a model is named otherwise than its folder
    subprocess.run(
        [
            str(python),
            str(ROOT / "benchmarks" / "mlserver_model.py"),
            version.artifact.path,
            str(model_dir),
            MODEL,
            json.dumps(tensors),
        ],
        check=True,
    )
    targets = []
    for workers in MLSERVER_WORKERS:
        port = free_port()
        processes.append(start_mlserver(python, model_dir, port, workers))
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/v2/models/{MODEL}/ready", ok=True)
        url = f"{base}/v2/models/{MODEL}/infer"
        status, answer = post_status(url, v2_bodies[1])
        if status != 200:
            raise SystemExit(f"MLServer (parallel_workers={workers}) answered {status}: {answer[:500]}")
        answered = json.loads(answer)["outputs"][0]["data"]
        if max(abs(a - b) for a, b in zip(answered, expected, strict=True)) > 1e-9:
            raise SystemExit(f"MLServer answered {answered} where the pipeline gives {expected}")
        targets.append(Target(f"MLServer, parallel_workers={workers}", url, v2_bodies))
    return targets


def measure(targets, notes):
    """Every target in every cell, alternated ROUNDS times, the median of each figure kept: a shared machine drifts
    by 10-15% from one minute to the next, as much as some of the differences measured. A run with failed requests
    is no figure (a fast error is not a fast answer): it is left out and noted, and the rest goes on."""
    results = {}
    for n in (1, 100):
        for target in targets:
            run_wrk(target.url, target.bodies[n], 1, target.token, WARM_UP)  # models load, caches fill
        wait_drained()
        for connections in (1, 16):
            runs = {target.label: [] for target in targets}
            for _ in range(ROUNDS):
                for target in targets:
                    run = run_wrk(target.url, target.bodies[n], connections, target.token)
                    if run["failed"]:
                        notes.append(f"{target.label}, {n} x {connections}: {run['failed']} of {run['total']} failed")
                    else:
                        runs[target.label].append(run)
                    if target.logs:
                        wait_drained()  # the next run is measured without this one's backlog
            print(f"{n} row(s) x {connections} client(s):", flush=True)
            for label, measured in runs.items():
                if measured:
                    figures = {key: statistics.median(run[key] for run in measured) for key in ("rps", "p50", "p99")}
                    results[(label, n, connections)] = figures
                    print(f"  {label:34} {figures['rps']:>9.0f} req/s, p50 {figures['p50']:.2f} ms, "
                          f"p99 {figures['p99']:.2f} ms", flush=True)  # fmt: skip
    return results


def main():
    # A kill stops the servers this started, as Ctrl-C does (they run in sessions of their own).
    signal.signal(signal.SIGTERM, lambda signum, frame: sys.exit(1))
    if not shutil.which("wrk"):
        raise SystemExit("wrk is needed: apt-get install wrk")
    from benchmarks.common import ensure_database

    ensure_database()
    version, token, rows, pipeline = train_and_deploy()
    sklearn_ms, fast_ms, path = in_process_reference(pipeline, version, rows)
    tensors = v2_tensors(version)
    json_bodies = {n: body_for(rows, n) for n in (1, 100)}
    v2_bodies = {n: v2_body_for(rows, tensors, n) for n in (1, 100)}
    stop_event = threading.Event()
    drainer = threading.Thread(target=drain_in_background, args=(stop_event,), daemon=True)
    if os.environ.get("BENCH_NO_DRAIN") != "1":  # diagnosis: how much of the logging cost is the drain's
        drainer.start()
    processes, targets, notes = [], [], []
    try:
        if "ours" in SERVERS:
            targets += start_ours(token, json_bodies, v2_bodies, processes, notes)
        if "floor" in SERVERS:
            targets += start_floor(json_bodies, token, processes)
        if "mlflow" in SERVERS:
            targets += start_mlflow_targets(version, json_bodies, processes)
        if "mlserver" in SERVERS:
            expected = pipeline.predict_proba(rows.head(1))[0].tolist()
            targets += start_mlserver_targets(version, tensors, v2_bodies, expected, processes)
        for note in notes:
            print(note, flush=True)
        print(f"measuring {len(targets)} servers: {', '.join(t.label for t in targets)}", flush=True)
        results = measure(targets, notes)
    finally:
        for process in processes:
            stop(process)
        stop_event.set()
        if private:
            private.stop()
    report(results, sklearn_ms, fast_ms, path, notes)


def _best(results, labels, n, connections):
    """(label, figures) of the fastest of ``labels`` in a cell, or (None, None) when none was measured."""
    measured = [label for label in labels if (label, n, connections) in results]
    if not measured:
        return None, None
    label = max(measured, key=lambda label: results[(label, n, connections)]["rps"])
    return label, results[(label, n, connections)]


def report(results, sklearn_ms, fast_ms, path, notes):
    def rps(label, n, connections):
        figures = results.get((label, n, connections))
        return figures["rps"] if figures else None

    def ratio(a, b):
        return f"{a / b:.2f}" if a and b else "-"

    def number(value):
        return f"{value:,.0f}" if value else "-"

    def latency(label, n, connections):
        figures = results.get((label, n, connections))
        return f"{figures['p50']:.2f}/{figures['p99']:.2f}" if figures else "-"

    def cost(on, off, n, connections):
        a, b = rps(on, n, connections), rps(off, n, connections)
        return f"{100 * (1 - a / b):.1f}%" if a and b else "-"

    print(
        f"\ndatabase: {os.environ['DATABASE_URL'].split(':')[0]}; wrk {DURATION} per run over loopback, "
        f"median of {ROUNDS} alternated rounds; ours and the floor: gunicorn, {WORKERS} sync workers"
    )
    print(
        f"in process, 1 row: scikit-learn predict_proba on a DataFrame {sklearn_ms:.3f} ms; "
        f"our {path} scorer {fast_ms:.3f} ms ({sklearn_ms / fast_ms:.0f}x faster)"
    )
    for note in notes:
        print(note)
    print(f"{'server':34} {'rows':>4} {'clients':>7} {'req/s':>9} {'p50 ms':>8} {'p99 ms':>8}")
    for (label, n, connections), figures in results.items():
        print(
            f"{label:34} {n:>4} {connections:>7} {figures['rps']:>9.0f} {figures['p50']:>8.2f} {figures['p99']:>8.2f}"
        )
    mlservers = sorted({label for label, _, _ in results if label.startswith("MLServer")})
    columns = (
        f"{'cell':8} {'ours':>7} {'ours V2':>7} {'floor':>7} {'MLflow':>7} {'MLServer':>8} {'best at':>9} "
        f"{'ours/floor':>10} {'V2/floor':>8} {'ours/MLS':>8} {'V2/MLS':>7} "
        f"{'p50/p99 ms':>13} {'V2 p50/p99':>13} {'log cost':>8} {'V2 log':>7}"
    )
    print("\nours: JSON /invocations, logging on; MLflow and MLServer: each at its fastest setting in the cell")
    print(columns)
    for n, connections in CELLS:
        ours, v2, floor = rps(JSON_ON, n, connections), rps(V2_ON, n, connections), rps(FLOOR, n, connections)
        _, mlflow = _best(results, MLFLOW_SETTINGS, n, connections)
        best_label, mlserver = _best(results, mlservers, n, connections)
        mlflow, mlserver = (mlflow or {}).get("rps"), (mlserver or {}).get("rps")
        setting = f"pw={best_label.rsplit('=', 1)[1]}" if best_label else "-"
        print(
            f"{f'{n} x {connections}':8} {number(ours):>7} {number(v2):>7} {number(floor):>7} {number(mlflow):>7} "
            f"{number(mlserver):>8} {setting:>9} {ratio(ours, floor):>10} {ratio(v2, floor):>8} "
            f"{ratio(ours, mlserver):>8} {ratio(v2, mlserver):>7} {latency(JSON_ON, n, connections):>13} "
            f"{latency(V2_ON, n, connections):>13} {cost(JSON_ON, JSON_OFF, n, connections):>8} "
            f"{cost(V2_ON, V2_OFF, n, connections):>7}"
        )
    print(
        "targets (issue 16), logging on, both protocols: >= 0.70 of the floor for 1-row bodies, >= 0.50 for "
        "100-row; p99 <= 5 ms at 1 client, 1 row; >= 5x MLServer's best; logging cost <= 10% in every cell"
    )


if __name__ == "__main__":
    main()
