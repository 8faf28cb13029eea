"""What the benchmarks share: the demo model, trained here and registered as version 1 of a model of their own."""

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DEMO_CSV = ROOT / "pipelines_app" / "demo" / "credit_card_applications.csv"


def isolate(name):
    """Point this process (and what it starts) at a var folder, a database and a Redis of the benchmark's own:
    DATABASE_URL's server under the name ``mlops_bench_<name>`` (else SQLite in the folder), REDIS_URL's server on
    database 13 (else a private redis-server). Call before Django loads its settings. Returns (var folder, the
    private Redis to stop, or None)."""
    var = Path(tempfile.mkdtemp(prefix=f"mlops-bench-{name}."))
    os.environ.update(MLOPS_VAR_DIR=str(var), DJANGO_SETTINGS_MODULE="mlops_site.settings")
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = f"sqlite:///{var / 'bench.sqlite3'}"
    elif "postgres" in os.environ["DATABASE_URL"]:
        os.environ["DATABASE_URL"] = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + f"/mlops_bench_{name}"
    private = None
    if not os.environ.get("REDIS_URL"):
        from mlops_site.local_redis import PrivateRedis

        private = PrivateRedis(var / "redis")
        os.environ["REDIS_URL"] = private.start()
    else:
        os.environ["REDIS_URL"] = os.environ["REDIS_URL"].rsplit("/", 1)[0] + "/13"
    os.environ["CELERY_BROKER_URL"] = os.environ["REDIS_URL"]
    return var, private


def ensure_venv(folder, requirements, probe):
    """The Python of a virtualenv of the benchmark's own under ``folder`` (what it compares with is never a product
    dependency), created on first use with pip's pinned ``requirements``; ``probe`` is Python code that fails
    until they are installed as pinned. A virtualenv whose probe fails (older pins, or files changed since) is made
    anew, since pip would leave whatever it finds installed as it is."""
    python = Path(folder) / "bin" / "python"
    if python.exists() and subprocess.run([str(python), "-c", probe], capture_output=True).returncode == 0:
        return python
    print(f"installing {', '.join(requirements)} into {folder} (once)", flush=True)
    subprocess.run([sys.executable, "-m", "venv", "--clear", str(folder)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", *requirements], check=True)
    return python


def p95(values):
    """The 95th percentile of a list of timings (nearest rank); NaN for none."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))] if ordered else float("nan")


def ensure_database():
    """A fresh PostgreSQL database of the name DATABASE_URL gives (SQLite files start empty anyway)."""
    url = os.environ["DATABASE_URL"]
    if "postgres" in url:
        import psycopg

        base, name = url.rsplit("/", 1)
        with psycopg.connect(base.replace("postgres://", "postgresql://") + "/postgres", autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')


def django_ready():
    """A fresh database (``ensure_database``), Django set up and every migration applied."""
    ensure_database()
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def train_demo_version(model_name, *, dataset_version=None, sensitive=()):
    """The credit card template's model (logistic regression without the leaking columns) as ``model_name`` v1,
    trained on ``dataset_version`` (else the demo CSV); with ``sensitive`` features it is also evaluated, as the
    evaluate step would (test-split scores and fairness, which monitoring compares with).

    Returns ``(version, training result, frame)``; needs Django set up and migrated."""
    from django.core.files.base import ContentFile

    from pipelines_app.ml import artifacts, training
    from pipelines_app.ml.datasets import infer_schema, read_csv_checked
    from pipelines_app.ml.metrics import evaluate_model
    from pipelines_app.models import ModelVersion, RegisteredModel

    if dataset_version is not None:
        frame, schema = dataset_version.read_frame(), dataset_version.schema
    else:
        frame = read_csv_checked(DEMO_CSV.read_bytes(), max_bytes=10**8)
        schema = infer_schema(frame)
    result = training.train_model(
        frame,
        schema,
        target="card",
        estimator_path="sklearn.linear_model.LogisticRegression",
        params={"max_iter": 1000},
        drop=["share", "expenditure"],
        random_state=42,
        positive_label="yes",
    )
    data = artifacts.dump_model(result.pipeline)
    evaluation = {}
    if sensitive:
        report = evaluate_model(
            result.pipeline,
            result.X_test,
            result.y_test,
            task=result.task,
            target_info=result.target_info,
            sensitive=list(sensitive),
        )
        evaluation = {key: value for key, value in report.items() if key != "metrics"}
    version = ModelVersion(
        model=RegisteredModel.objects.create(name=model_name),
        version=1,
        dataset_version=dataset_version,
        evaluation=evaluation,
        sha256=artifacts.sha256_of(data),
        task=result.task,
        target="card",
        target_info=result.target_info,
        estimator=result.estimator,
        features=result.features,
        feature_schema=result.feature_schema,
        reference_profile=result.reference_profile,
        train_rows=result.train_rows,
        test_rows=result.test_rows,
    )
    version.artifact.save("v1.skops", ContentFile(data), save=False)
    version.save()
    return version, result, frame
