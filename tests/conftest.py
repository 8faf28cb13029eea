"""Shared fixtures: users per role, the test Redis, a real Celery worker process, Chromium."""

import importlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.db import OperationalError, connection
from django.db.backends.postgresql.operations import DatabaseOperations as PostgresOperations
from django.db.backends.sqlite3.base import DatabaseWrapper as SQLiteWrapper
from django.test import override_settings

from mlops_site.local_redis import PrivateRedis, url_answers
from pipelines_app.permissions import Role
from tests.parallel import redis_db

ROOT = Path(__file__).resolve().parent.parent
PASSWORD = "Test-pass-1234"


def deploy_demo_model(dataset, model_name, environment):
    """The demo model (logistic regression, evaluated with owner and selfemp as sensitive features) trained in
    this process on ``dataset``, registered as ``model_name`` v1 and deployed to ``environment``: serving
    without a run. The benchmarks train the same one."""
    from benchmarks.common import train_demo_version
    from pipelines_app.engine.deployments import deploy_version
    from pipelines_app.models import Environment
    from tests.trained_once import trained_once

    with trained_once():
        version, _, _ = train_demo_version(model_name, dataset_version=dataset, sensitive=["owner", "selfemp"])
    deploy_version(Environment.objects.get(name=environment), version, "system")
    return version


def wait_for_run_to_end(run, timeout=180, reaping=True):
    """Poll until ``run`` succeeds or fails, calling the reaper each time as beat would (re-queues what a dead
    worker held); returns the run, refreshed."""
    from pipelines_app.engine.runs import reap

    def ended():
        if reaping:
            reap()
        run.refresh_from_db()
        return run.status in ("succeeded", "failed")

    wait_for(ended, timeout, 0.2, f"run #{run.pk} to finish")
    return run


def wait_for(condition, timeout=30.0, interval=0.1, message="condition"):
    """Poll until condition() is truthy; return its value or fail naming what was awaited."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f}s waiting for {message}")
        time.sleep(interval)


def _with_db(url, db):
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """REDIS_URL's server on a database of its own, else a private redis-server for the session."""
    base = os.environ.get("REDIS_URL")
    private = None
    if not base or not url_answers(base):
        private = PrivateRedis(tmp_path_factory.mktemp("redis"))
        base = private.start()
    url = _with_db(base, redis_db())  # its own database, flushed at the start
    import redis

    redis.Redis.from_url(url).flushdb()
    from django.test.utils import override_settings

    from mlops_site.celery import app

    app.conf.broker_url = url
    caches = {"default": {**settings.CACHES["default"], "LOCATION": url}}
    override = override_settings(REDIS_URL=url, CELERY_BROKER_URL=url, CACHES=caches)
    override.enable()
    yield url
    override.disable()
    if private:
        private.stop()


def database_url_for_workers():
    """The test database, as a DATABASE_URL another process can use."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] or ""
    if db.get("PASSWORD"):
        auth += f":{db['PASSWORD']}"
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgres://{auth}@{host}{port}/{db['NAME']}"


class WorkerProcess:
    """A real ``celery worker`` subprocess against the test database and Redis.

    ``faults`` (step type → seconds) starts the test-only entry point ``tests.fault_worker`` instead of the
    project's app: the first attempt of a step of that type then pauses that long once running, so that a test can
    strike in the middle of it."""

    def __init__(self, redis_url, queues="default,training,monitoring", name="testworker", faults=None, var_dir=None,
                 **extra_env):  # fmt: skip
        if faults:
            extra_env["FAULT_PAUSE_STEPS"] = ",".join(f"{kind}={seconds:g}" for kind, seconds in faults.items())
        self.env = dict(
            os.environ,
            **extra_env,
            DATABASE_URL=database_url_for_workers(),
            REDIS_URL=redis_url,
            CELERY_BROKER_URL=redis_url,
            MLOPS_VAR_DIR=str(var_dir or settings.VAR_DIR),  # another host's: a folder of its own
            PYTHONUNBUFFERED="1",
        )
        self.args = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.fault_worker" if faults else "mlops_site",
            "worker",
            "-Q",
            queues,
            "--pool",
            "solo",
            "--loglevel",
            "INFO",
            "-n",
            f"{name}@%h",
            "--without-mingle",
            "--without-gossip",
        ]
        self.log_path = Path(var_dir or settings.VAR_DIR) / f"{name}.log"
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self.process = None

    def start(self):
        return self.launch().wait_until_ready()

    def launch(self):
        """Start the process without waiting for it (``start_workers`` starts several side by side)."""
        self.log = open(self.log_path, "w")
        self.process = subprocess.Popen(self.args, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def wait_until_ready(self):
        wait_for(
            lambda: "ready." in self.log_path.read_text() or self.process.poll() is not None,
            60,
            message="the Celery worker to be ready",
        )
        assert self.process.poll() is None, f"worker exited: {self.log_path.read_text()[-2000:]}"
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.log.close()

    def output(self):
        return self.log_path.read_text()


def stop_server(process, log):
    """SIGTERM a server started by a test (gunicorn, say), SIGKILL after 30 s; then close its log."""
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    log.close()


def start_workers(*workers):
    """Launch every worker, then wait for each to be ready: a worker takes seconds to import the project, and
    side by side they take the time of one."""
    for worker in workers:
        worker.launch()
    try:
        return [worker.wait_until_ready() for worker in workers]
    except BaseException:
        stop_workers(*workers)
        raise


def stop_workers(*workers):
    """Ask every worker to stop, then wait for each (a warm shutdown takes a moment; these overlap)."""
    for worker in workers:
        if worker.process and worker.process.poll() is None:
            worker.process.terminate()
    for worker in workers:
        worker.stop()


@pytest.fixture(scope="module")
def celery_worker_process(django_db_setup, django_db_blocker, redis_url):
    # Per module, so that modules that start and kill workers of their own have the queues to themselves.
    with django_db_blocker.unblock():
        worker = WorkerProcess(redis_url).start()
    yield worker
    worker.stop()


def make_user(username, role):
    user = User.objects.create_user(username=username, password=PASSWORD, email=f"{username}@example.com")
    if role is not None:
        user.groups.add(Group.objects.get_or_create(name=Role.parse(role).group)[0])
    if role == Role.ADMIN:
        user.is_staff = user.is_superuser = True
        user.save(update_fields=["is_staff", "is_superuser"])
    return user


@pytest.fixture
def viewer(db):
    return make_user("vera-viewer", Role.VIEWER)


@pytest.fixture
def editor(db):
    return make_user("eddie-editor", Role.EDITOR)


@pytest.fixture
def reviewer(db):
    return make_user("rita-reviewer", Role.REVIEWER)


@pytest.fixture
def admin_user(db):
    return make_user("ada-admin", Role.ADMIN)


@pytest.fixture
def users(viewer, editor, reviewer, admin_user):
    return {"viewer": viewer, "editor": editor, "reviewer": reviewer, "admin": admin_user}


@pytest.fixture
def client_for(client):
    """client_for(user) → a test client logged in as that user."""
    from django.test import Client

    def make(user):
        c = Client()
        c.force_login(user)
        return c

    return make


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright; skipped (or failed under E2E_REQUIRED=1) without it."""
    path = CHROMIUM if os.path.exists(CHROMIUM) else shutil.which("chromium")
    if not path:
        reason = "Chromium not found: install it with 'apt-get install chromium' (Debian) to run the browser tests"
        if os.environ.get("E2E_REQUIRED") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")  # Playwright's sync API runs an event loop
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=path, headless=True, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


@pytest.fixture(scope="session", autouse=True)
def _static_files_without_a_manifest():
    """The site's static storage names files by the hashes collectstatic writes to its manifest; the tests serve
    the files from static/ as they are (the live server through the finders), so names stay plain. The manifest,
    compression and cache headers are tested in tests/e2e/test_page_weight.py, after a collectstatic of its own."""
    from django.test import override_settings

    storages = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
    }
    with override_settings(STORAGES=storages):
        yield


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher is slow on purpose; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(scope="session", autouse=True)
def _sqlite_flush_lifts_the_audit_delete_guard():
    """Transactional tests empty every table after themselves. PostgreSQL does it with TRUNCATE, which the audit
    table's DELETE trigger does not see; SQLite with DELETE, which it refuses. So on SQLite the flush drops the
    trigger first and creates it again last, in the flush's own transaction: every test still meets the guard."""
    guard = importlib.import_module("pipelines_app.migrations.0018_audit_guard_delete")
    original = SQLiteWrapper.ops_class.sql_flush

    def sql_flush(self, style, tables, **kwargs):
        statements = original(self, style, tables, **kwargs)
        if not any("pipelines_app_auditevent" in sql for sql in statements):
            return statements
        return [*guard.ALLOW_DELETE["sqlite"], *statements, *guard.FORBID_DELETE["sqlite"]]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SQLiteWrapper.ops_class, "sql_flush", sql_flush)
        yield


@pytest.fixture(scope="session", autouse=True)
def _flush_outlasts_a_worker_still_reacting():
    """A worker of a transactional test may still be reacting to the test's last events while the flush after the
    test empties the tables: TRUNCATE and the worker's transaction can deadlock, and PostgreSQL ends the flush.
    The flush is tried again (the worker's transaction has ended by then)."""
    original = PostgresOperations.execute_sql_flush

    def execute_sql_flush(self, sql_list):
        for attempt in range(5):
            try:
                return original(self, sql_list)
            except OperationalError as exc:
                if "deadlock" not in str(exc) or attempt == 4:
                    raise
                time.sleep(0.5)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PostgresOperations, "execute_sql_flush", execute_sql_flush)
        yield


@pytest.fixture(scope="session", autouse=True)
def _postgresql_flush_deletes_rows():
    """The flush after each transactional test, on PostgreSQL: TRUNCATE makes new files for every table and index,
    0.2 to 1.5 s for our 45 tables, a few hundred times a session; DELETE takes milliseconds on tables this small.
    The flush first locks every table as TRUNCATE would (so it still waits for a worker's open transaction and
    no worker writes while it empties them), then deletes every row. The audit table, whose trigger refuses
    DELETE, is still truncated, when it holds rows."""
    original = PostgresOperations.sql_flush
    audit = "pipelines_app_auditevent"

    def sql_flush(self, style, tables, *, reset_sequences=False, allow_cascade=False):
        if reset_sequences or allow_cascade or not tables:
            return original(self, style, tables, reset_sequences=reset_sequences, allow_cascade=allow_cascade)
        # The table names are Django's own list of its tables, quoted.
        statements = [
            "SET CONSTRAINTS ALL DEFERRED",
            f"LOCK TABLE {', '.join(map(self.quote_name, tables))} IN ACCESS EXCLUSIVE MODE",
            *(f"DELETE FROM {self.quote_name(table)}" for table in tables if table != audit),  # noqa: S608
        ]
        if audit in tables:
            statements.append(f"DO $$ BEGIN IF EXISTS (SELECT 1 FROM {audit}) THEN TRUNCATE {audit}; END IF; END $$")  # noqa: S608
        return statements

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(PostgresOperations, "sql_flush", sql_flush)
        yield


DEMO_CSV = ROOT / "pipelines_app" / "demo" / "credit_card_applications.csv"
TEMPLATE_DIR = ROOT / "pipelines_app" / "pipeline_templates"


@pytest.fixture
def demo_dataset(editor):
    """The credit card data uploaded as dataset ``credit-card-applications`` v1.

    Stored in the default artifact storage, which the worker processes share."""
    from pipelines_app.models import DatasetVersion

    return DatasetVersion.objects.create_from_upload(
        "credit-card-applications", DEMO_CSV.read_bytes(), filename="credit_card_applications.csv", user=editor
    )


@pytest.fixture
def environments(db):
    """staging and production as seeded (transactional tests empty the seeded rows)."""
    from pipelines_app.models import Environment

    Environment.objects.get_or_create(name="staging")
    Environment.objects.get_or_create(
        name="production", defaults={"approver_groups": ["reviewers"], "min_approvals": 1}
    )
    for name in ("viewers", "editors", "reviewers", "admins"):
        Group.objects.get_or_create(name=name)


def api_client(user):
    """A DRF test client authenticated with a fresh token of the user's."""
    from rest_framework.test import APIClient

    from pipelines_app.models import ApiToken

    client = APIClient()
    _, raw = ApiToken.objects.issue(user)
    client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


@pytest.fixture
def credit_pipeline(editor, demo_dataset, environments):
    """The demo pipeline from its template (logistic regression, gate, staging, approval, canary to production)."""
    from pipelines_app.models import Pipeline

    return Pipeline.objects.create_from_yaml((TEMPLATE_DIR / "credit_card_approval.yaml").read_text(), editor)


@pytest.fixture
def run_inline(settings):
    """Drive a run in this process, step after step, until it waits or ends: the real steps, the real engine
    bookkeeping and the real reactions to its events, without a worker or broker (for page and rule tests; the
    worker tests live in tests/engine and tests/reliability). A model is fitted and evaluated once per session for
    the same data and settings, then copied (tests/trained_once.py)."""
    from pipelines_app.engine.runs import advance, execute
    from pipelines_app.models import StepRun
    from tests.trained_once import trained_once

    # The step heartbeat thread would write on a second connection the test transaction cannot share.
    settings.STEP_HEARTBEAT_S = 3600

    def drive(run):
        with trained_once():
            while True:
                settle()
                advance(run.pk)
                step = StepRun.objects.filter(run=run, status="queued").order_by("position").first()
                if step is None:
                    break
                execute(step.pk, step.attempt, host="inline")
            settle()
        run.refresh_from_db()
        return run

    return drive


def settle():
    """What the workers would do with the outbox, done here: react to every pending event (reactions may write
    more) and make one attempt at every queued delivery that is due. A test's transaction never commits, so
    the messages queued on commit are never sent; this reads the rows instead. Returns the deliveries tried."""
    from pipelines_app import notifications
    from pipelines_app.engine import reactions
    from pipelines_app.models import Delivery, Event

    while pending := list(Event.objects.pending().filter(attempts=0).values_list("pk", flat=True)):
        for pk in pending:
            reactions.react(pk)
    tried = []
    for pk in Delivery.objects.due().values_list("pk", flat=True):
        notifications.deliver(pk)
        tried.append(Delivery.objects.get(pk=pk))
    return tried


# Object storage (ARTIFACT_STORAGE=s3): a real S3-API server, moto in server mode, in a process of its own.
S3_BUCKET = "mlops-artifacts"
S3_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "test-key",
    "AWS_SECRET_ACCESS_KEY": "test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="session")
def s3_server(tmp_path_factory):
    """moto's S3 API in a process of its own, on a free port; its address."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    log = open(tmp_path_factory.mktemp("moto") / "moto.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}"

    def answers():
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return True
        except OSError:
            return process.poll() is not None

    wait_for(answers, 30, 0.1, "the S3 server")
    assert process.poll() is None, "the S3 server did not start"
    yield url
    process.terminate()
    process.wait(10)
    log.close()


@pytest.fixture
def s3(s3_server, monkeypatch):
    """This process's artifacts on the S3 server, in a bucket of their own; the boto3 client to look inside."""
    for name, value in S3_CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    import boto3

    from mlops_site.settings import artifact_storage
    from pipelines_app.serving import models_cache

    client = boto3.client("s3", endpoint_url=s3_server, **_boto_credentials())
    client.create_bucket(Bucket=S3_BUCKET)
    environment = {"ARTIFACT_STORAGE": "s3", "AWS_STORAGE_BUCKET_NAME": S3_BUCKET, "AWS_S3_ENDPOINT_URL": s3_server}
    storages = {**settings.STORAGES, "default": artifact_storage(environment)}
    with override_settings(STORAGES=storages):
        models_cache.forget()
        yield client, {**environment, **S3_CREDENTIALS}
    models_cache.forget()
    for item in client.list_objects_v2(Bucket=S3_BUCKET).get("Contents", []):
        client.delete_object(Bucket=S3_BUCKET, Key=item["Key"])
    client.delete_bucket(Bucket=S3_BUCKET)


def _boto_credentials():
    return {
        "aws_access_key_id": S3_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": S3_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
        "region_name": S3_CREDENTIALS["AWS_DEFAULT_REGION"],
    }
