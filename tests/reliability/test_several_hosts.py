"""Two hosts on one machine (DESIGN.md §3): a training worker in a network namespace of its own, with its own
address on a virtual link, reaching PostgreSQL, Redis and the object storage (an S3-API server) over that link and
consuming only the ``training`` queue, with a var folder of its own: the hosts share no directory, the model file
goes from the training host to the others through the bucket. The other steps run on the first host. Killed
mid-train, the training host's worker is started again, the step is retried there and the run finishes.

Network namespaces need root and iproute2; without them the test is skipped with the reason (CI has both).
PostgreSQL and Redis listen on loopback here, so a small TCP relay on the host's side of the link stands in for
the network path a second machine would take.
"""

import os
import shutil
import signal
import socket
import subprocess
import threading
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.db import connection

from pipelines_app.engine.runs import start_run
from pipelines_app.models import DatasetVersion, ModelVersion, Pipeline, StepRun
from tests.conftest import (
    DEMO_CSV,
    S3_BUCKET,
    WorkerProcess,
    database_url_for_workers,
    start_workers,
    stop_workers,
    wait_for,
    wait_for_run_to_end,
)
from tests.reliability.pipelines import small_pipeline

pytestmark = pytest.mark.django_db(transaction=True)

NAMESPACE = "mlops-training-host"
HOST_SIDE, TRAINING_HOST = "10.231.7.1", "10.231.7.2"


def ip(*args):
    subprocess.run(["ip", *args], check=True, capture_output=True, text=True)


class Relay:
    """Accepts connections on an address of the virtual link and pipes each to a loopback service."""

    def __init__(self, listen_host, target_port):
        self.server = socket.create_server((listen_host, 0))
        self.port = self.server.getsockname()[1]
        self.target_port = target_port
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.server.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.target_port))
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source, sink):
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass

    def close(self):
        self.server.close()


@pytest.fixture
def training_host():
    if os.geteuid() != 0 or not shutil.which("ip"):
        pytest.skip("a network namespace needs root and iproute2")
    if connection.vendor != "postgresql":
        pytest.skip("another host needs a database server to reach (PostgreSQL), not an SQLite file")
    subprocess.run(["ip", "netns", "del", NAMESPACE], capture_output=True)  # what an aborted run left
    try:
        ip("netns", "add", NAMESPACE)
        ip("link", "add", "mlops-h1", "type", "veth", "peer", "name", "mlops-h2")
        ip("link", "set", "mlops-h2", "netns", NAMESPACE)
        ip("addr", "add", f"{HOST_SIDE}/24", "dev", "mlops-h1")
        ip("link", "set", "mlops-h1", "up")
        ip("netns", "exec", NAMESPACE, "ip", "addr", "add", f"{TRAINING_HOST}/24", "dev", "mlops-h2")
        ip("netns", "exec", NAMESPACE, "ip", "link", "set", "mlops-h2", "up")
        ip("netns", "exec", NAMESPACE, "ip", "link", "set", "lo", "up")
    except subprocess.CalledProcessError as exc:
        subprocess.run(["ip", "netns", "del", NAMESPACE], capture_output=True)
        pytest.skip(f"no network namespace could be made here: {exc.stderr.strip()}")
    yield NAMESPACE
    subprocess.run(["ip", "link", "del", "mlops-h1"], capture_output=True)
    subprocess.run(["ip", "netns", "del", NAMESPACE], capture_output=True)


def over_the_link(url, relay):
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    address = f"{HOST_SIDE}:{relay.port}"
    return urlunsplit(parts._replace(netloc=f"{netloc[0]}@{address}" if len(netloc) == 2 else address))


class Link:
    """The two hosts' shared services, the training host's side of them over the link, and its own var folder."""

    BEATS = {"STEP_HEARTBEAT_S": "0.5"}

    def __init__(self, redis_url, storage, var_dir):
        self.redis_url, self.storage, self.var_dir = redis_url, storage, var_dir
        self.database = Relay(HOST_SIDE, int(connection.settings_dict.get("PORT") or 5432))
        self.redis = Relay(HOST_SIDE, urlsplit(redis_url).port or 6379)
        self.s3 = Relay(HOST_SIDE, urlsplit(storage["AWS_S3_ENDPOINT_URL"]).port)

    def main_worker(self, queues):
        return WorkerProcess(self.redis_url, queues=queues, name="main-host", **self.storage, **self.BEATS)

    def training_worker(self, name, **extra):
        """A worker on the training host: only the training queue, the services over the link, its own var."""
        storage = {**self.storage, "AWS_S3_ENDPOINT_URL": over_the_link(self.storage["AWS_S3_ENDPOINT_URL"], self.s3)}
        worker = WorkerProcess(over_the_link(self.redis_url, self.redis), queues="training", name=name,
                               var_dir=self.var_dir, **storage, **self.BEATS, **extra)  # fmt: skip
        worker.env["DATABASE_URL"] = over_the_link(database_url_for_workers(), self.database)
        worker.args = ["ip", "netns", "exec", NAMESPACE, *worker.args]
        return worker

    def close(self):
        for relay in (self.database, self.redis, self.s3):
            relay.close()


@pytest.fixture
def link(training_host, redis_url, environments, s3, editor, settings, tmp_path):
    """Both hosts' services (the applications uploaded to the bucket), the reaper quick to see a lost worker."""
    settings.STEP_STALE_AFTER_S = 3
    DatasetVersion.objects.create_from_upload(
        "credit-card-applications", DEMO_CSV.read_bytes(), filename="credit.csv", user=editor
    )
    joined = Link(redis_url, s3[1], tmp_path / "training-host-var")
    yield joined
    joined.close()


def test_training_runs_on_its_own_host_and_survives_losing_it(link, s3, editor):
    bucket, _ = s3
    training_var = link.var_dir
    main, trainer = start_workers(
        link.main_worker("default,monitoring"), link.training_worker("training-host", faults={"train": 60})
    )
    again = None
    try:
        run = start_run(
            Pipeline.objects.create_from_yaml(small_pipeline("two-hosts", evaluate="check"), editor), editor
        )
        fit = wait_for(
            lambda: StepRun.objects.filter(run=run, name="fit", status="running", log__contains="pausing").first(),
            90,
            0.05,
            "the train step to run on the training host",
        )
        assert fit.worker_host.startswith("training-host@")
        os.kill(trainer.process.pid, signal.SIGKILL)  # the training host goes down mid-train
        trainer.process.wait(10)
        again = link.training_worker("training-host-again").start()
        wait_for_run_to_end(run, 180)
        assert run.status == "succeeded", run.error
        hosts = dict(StepRun.objects.filter(run=run).values_list("name", "worker_host"))
        assert hosts["fit"].startswith("training-host-again@")
        assert hosts["load"].startswith("main-host@") and hosts["check"].startswith("main-host@")
        fit.refresh_from_db()
        assert fit.attempt == 2 and ModelVersion.objects.filter(run=run).count() == 1
        # The model went from the training host to the main host (its evaluate step) through the bucket only.
        version = ModelVersion.objects.get(run=run)
        stored = [item["Key"] for item in bucket.list_objects_v2(Bucket=S3_BUCKET)["Contents"]]
        assert version.artifact.name in stored
        assert not any(path.is_file() for path in (training_var / "artifacts").rglob("*"))
        assert "roc_auc" in version.metrics
        print("\ntraining host lost mid-train: 1 tried, 1 survived, 0 lost")
    finally:
        stop_workers(*(worker for worker in (main, trainer, again) if worker))


SEARCH_PIPELINE = small_pipeline(
    "searched-on-two-hosts",
    estimator="sklearn.ensemble.RandomForestClassifier",
    params="{n_estimators: 300}",
    search="{method: random, trials: 8, cv: 3, metric: roc_auc, "
    "space: {max_depth: [3, 5, 8, null], min_samples_leaf: {int_uniform: [1, 10]}}}",
)


def test_a_search_spreads_its_trials_over_both_hosts_and_finishes_when_one_is_lost(link, editor):
    from pipelines_app.models import SearchTrial

    main, trainer = start_workers(
        link.main_worker("default,training,monitoring"), link.training_worker("training-host")
    )
    try:
        run = start_run(Pipeline.objects.create_from_yaml(SEARCH_PIPELINE, editor), editor)
        on_training_host = SearchTrial.objects.filter(step_run__run=run, worker_host__startswith="training-host@")
        wait_for(lambda: on_training_host.filter(status="succeeded").exists(), 120, 0.05, "a trial done there")
        running = wait_for(lambda: on_training_host.filter(status="running").first(), 60, 0.02, "a trial running there")
        os.kill(trainer.process.pid, signal.SIGKILL)  # the training host goes down mid-trial
        trainer.process.wait(10)
        wait_for_run_to_end(run, 240)
        assert run.status == "succeeded", run.error
        trials = list(SearchTrial.objects.filter(step_run__run=run))
        assert len(trials) == 8 and all(t.status == "succeeded" for t in trials)
        hosts = {t.worker_host.split("@")[0] for t in trials}
        assert hosts == {"main-host", "training-host"}
        lost = SearchTrial.objects.get(pk=running.pk)
        assert lost.attempt == 2 and lost.worker_host.startswith("main-host@")
        assert "stopped answering during attempt 1" in lost.error
        print(f"\nsearch over two hosts, one lost mid-trial: {len(trials)} trials, hosts {sorted(hosts)}, 1 re-run")
    finally:
        stop_workers(*(worker for worker in (main, trainer) if worker))
