#!/usr/bin/env python
"""make bench: what ``?explain`` adds to a 1-row request on the fast path (target, issue 17: <= 1 ms at p50).

The demo model (the credit card template's logistic regression) is trained, deployed and served by gunicorn as
`make run` serves it (token auth, schema check, prediction logging on). One client sends the same 1-row
``dataframe_split`` body over a kept-alive connection, alternately without and with ``?explain=3``, in rounds; the
median over rounds of each round's p50 is kept, and the difference is what explaining costs. Beside it, in this
process, the model's own figures: scoring one row, and explaining it (logistic regression, exact; and a histogram
gradient boosting model through SHAP's tree explainer), best of several repeats. Figures are printed, never
asserted. BENCH_EXPLAIN_REQUESTS and BENCH_ROUNDS shorten a run.
"""

import http.client
import json
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
REQUESTS = int(os.environ.get("BENCH_EXPLAIN_REQUESTS", "2000"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "5"))
MODEL, ENVIRONMENT = "bench-explain", "bench"
# Its server helpers, and its isolation (a var folder, database and Redis of the benchmark's own), as load.py does.
from benchmarks import serving  # noqa: E402  (after sys.path; before Django loads settings)
from mlops_site.local_redis import free_port  # noqa: E402


def setup():
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from django.contrib.auth.models import Group, User

    from benchmarks.common import train_demo_version
    from pipelines_app.engine.deployments import deploy_version
    from pipelines_app.models import ApiToken, Environment

    version, result, frame = train_demo_version(MODEL)
    deploy_version(Environment.objects.create(name=ENVIRONMENT), version, "system")
    user = User.objects.create_user("bench")
    user.groups.add(Group.objects.get(name="viewers"))
    _, token = ApiToken.objects.issue(user, predict_only=True)
    return version, token, frame[result.features], frame


def p50s(port, path, body, token, n):
    """Latencies (ms) of ``n`` sequential POSTs on one kept-alive connection."""
    connection = http.client.HTTPConnection("127.0.0.1", port)
    headers = {"Content-Type": "application/json", "Authorization": f"Token {token}"}
    times = []
    for _ in range(n):
        started = time.perf_counter()
        connection.request("POST", path, body, headers)
        response = connection.getresponse()
        response.read()
        times.append((time.perf_counter() - started) * 1000)
        if response.status != 200:
            raise SystemExit(f"{path} answered {response.status}")
    connection.close()
    return statistics.median(times)


def in_process(loaded, columns, repeats=2000):
    """Best-of-5 mean time (µs) to score one row, and to score and explain it."""

    def timed(call):
        best = float("inf")
        for _ in range(5):
            started = time.perf_counter()
            for _ in range(repeats):
                call()
            best = min(best, (time.perf_counter() - started) / repeats * 1e6)
        return best

    def score_and_explain():
        loaded.score(columns, 1)
        loaded.explain(columns, 1, 3)

    return timed(lambda: loaded.score(columns, 1)), timed(score_and_explain)


def tree_model(frame):
    """A histogram gradient boosting model on the demo data, as serving loads it."""
    from pipelines_app.ml import training
    from pipelines_app.ml.datasets import infer_schema
    from pipelines_app.serving import fastpath
    from pipelines_app.serving.models_cache import LoadedModel

    result = training.train_model(
        frame, infer_schema(frame), target="card", estimator_path="sklearn.ensemble.HistGradientBoostingClassifier",
        params={"max_iter": 100}, drop=["share", "expenditure"], random_state=42, positive_label="yes",
    )  # fmt: skip
    kinds = {e["name"]: e["kind"] for e in result.feature_schema}
    classes = [str(c) for c in result.pipeline.classes_]
    fast = fastpath.compile_scorer(result.pipeline)
    return LoadedModel(
        version_id=0, version=0, sha256="", task="classification", features=list(kinds),
        feature_schema=result.feature_schema, kinds=kinds, classes=classes, positive_index=classes.index("yes"),
        scorer=fast, fast_problem="", reference=fast.reference({}),
    )  # fmt: skip


def main():
    version, token, features, frame = setup()
    from pipelines_app.serving import models_cache
    from pipelines_app.serving.payloads import Rows, type_columns

    row = features.head(1)
    body = json.dumps({"dataframe_split": json.loads(row.to_json(orient="split", index=False))})
    port = free_port()
    server = serving.start_gunicorn(port, workers=1)
    try:
        base = f"/serve/{MODEL}/{ENVIRONMENT}/invocations"
        serving.wait_http(f"http://127.0.0.1:{port}/serve/{MODEL}/{ENVIRONMENT}/ping")
        p50s(port, base + "?explain=3", body, token, 200)  # warm: the model loaded, the explainer made
        plain, explained = [], []
        for _ in range(ROUNDS):
            plain.append(p50s(port, base, body, token, REQUESTS))
            explained.append(p50s(port, base + "?explain=3", body, token, REQUESTS))
    finally:
        serving.stop(server)
    loaded = models_cache.load(version)
    columns, _ = type_columns(Rows(records=row.to_dict("records")), loaded.feature_schema)
    score_us, explain_us = in_process(loaded, columns)
    tree = tree_model(frame)
    tree_columns, _ = type_columns(Rows(records=row.to_dict("records")), tree.feature_schema)
    tree.explain(tree_columns, 1, 3)  # the explainer is made on first use
    tree_score_us, tree_explain_us = in_process(tree, tree_columns, repeats=500)
    p_plain, p_explained = statistics.median(plain), statistics.median(explained)
    print("\n=== ?explain on a 1-row request, fast path (issue 17 target: adds <= 1 ms at p50) ===")
    print(f"HTTP, gunicorn 1 worker, 1 client, logging on, median of {ROUNDS} rounds x {REQUESTS} requests:")
    print(f"  without ?explain  p50 {p_plain:.3f} ms")
    print(f"  with ?explain=3   p50 {p_explained:.3f} ms")
    print(f"  explain adds      {p_explained - p_plain:+.3f} ms at p50 ({p_explained / p_plain:.2f}x)")
    print("In this process (best of 5, per row):")
    print(f"  logistic regression: score {score_us:.1f} us, score + explain {explain_us:.1f} us")
    print(f"  histogram boosting (100 iterations, SHAP): score {tree_score_us:.1f} us, "
          f"score + explain {tree_explain_us:.1f} us")  # fmt: skip


if __name__ == "__main__":
    try:
        main()
    finally:
        if serving.private:
            serving.private.stop()
