"""/metrics under gunicorn as `make run` starts it: two worker processes, one scrape that sums them both."""

import json
import os
import signal
import subprocess
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from functools import partial

import pytest
from django.conf import settings
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.parser import text_string_to_metric_families

from mlops_site.local_redis import free_port
from pipelines_app.management.commands.run_stack import gunicorn_command
from pipelines_app.models import ApiToken
from tests.conftest import ROOT, database_url_for_workers, deploy_demo_model, stop_server, wait_for
from tests.serving.conftest import RECORD

pytestmark = pytest.mark.django_db(transaction=True)
REQUESTS = "mlops_serving_requests"


def scraped_requests(base):
    with urllib.request.urlopen(f"{base}/metrics", timeout=10) as response:
        text = response.read().decode()
    return sum(
        sample.value
        for family in text_string_to_metric_families(text)
        if family.name == REQUESTS
        for sample in family.samples
        if sample.name == f"{REQUESTS}_total" and sample.labels["arm"] == "primary"
    )


def requests_per_process(folder):
    """What each process's own file holds: {pid: requests it counted}."""
    counted = {}
    for path in folder.glob("counter_*.db"):
        pid = int(path.stem.split("_")[1])
        for family in MultiProcessCollector.merge([str(path)]):
            if family.name == REQUESTS:
                counted[pid] = sum(s.value for s in family.samples if s.name == f"{REQUESTS}_total")
    return counted


def counted(folder, sent):
    return sum(requests_per_process(folder).values()) == sent


@pytest.fixture
def gunicorn(redis_url, tmp_path):
    port = free_port()
    # A folder of its own (the default, var/prometheus/, may be a running `make run`'s, which starting would wipe).
    folder = tmp_path / "prometheus"
    env = dict(
        os.environ,
        DATABASE_URL=database_url_for_workers(),
        REDIS_URL=redis_url,
        CELERY_BROKER_URL=redis_url,
        MLOPS_VAR_DIR=str(settings.VAR_DIR),
        PROMETHEUS_MULTIPROC_DIR=str(folder),
        PYTHONUNBUFFERED="1",
    )
    folder.mkdir()
    (folder / "counter_1.db").write_bytes(b"left by an earlier server")  # wiped at start
    log = open(tmp_path / "gunicorn.log", "w")
    process = subprocess.Popen(gunicorn_command(port, 2), cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"

    def answering():
        assert process.poll() is None, (tmp_path / "gunicorn.log").read_text()[-3000:]
        try:
            return urllib.request.urlopen(f"{base}/serve/credit-card-approval/staging/ping", timeout=5).status == 200
        except (urllib.error.URLError, OSError):
            return False

    try:
        wait_for(answering, 90, 0.2, "gunicorn to answer")
        yield base, folder, process
    finally:
        stop_server(process, log)


@pytest.fixture
def served(environments, demo_dataset, editor):
    deploy_demo_model(demo_dataset, "credit-card-approval", "staging")
    return ApiToken.objects.issue(editor, predict_only=True)[1]


def test_one_scrape_sums_every_workers_counts(served, gunicorn):
    base, folder, master = gunicorn
    body = json.dumps({"dataframe_records": [RECORD]}).encode()

    def score(_):
        request = urllib.request.Request(
            f"{base}/serve/credit-card-approval/staging/invocations",
            data=body,
            headers={"Content-Type": "application/json", "Authorization": f"Token {served}"},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status

    sent = 0
    with ThreadPoolExecutor(8) as pool:
        # Eight clients at once on two workers: both serve; sent again (a bounded number of times) until both have.
        for _ in range(10):
            assert set(pool.map(score, range(40))) == {200}
            sent += 40
            wait_for(partial(counted, folder, sent), 10, 0.05, "the flushers to count")
            if len(requests_per_process(folder)) >= 2:
                break
    per_worker = requests_per_process(folder)
    assert len(per_worker) == 2 and all(per_worker.values()), per_worker
    assert 1 not in per_worker  # the stale file from "an earlier server" was wiped at start
    # Whichever worker answers the scrape reports both workers' requests.
    assert [scraped_requests(base) for _ in range(6)] == [sent] * 6

    # A worker that exits (gunicorn starts another) keeps its counts in the sum.
    gone = next(iter(per_worker))
    os.kill(gone, signal.SIGTERM)

    def replaced():
        workers = live_workers(master.pid)
        return master.poll() is None and len(workers) == 2 and gone not in workers

    wait_for(replaced, 30, 0.2, "gunicorn to replace the worker")
    assert scraped_requests(base) == sent


def live_workers(master_pid):
    """The master's child processes, from /proc."""
    children = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as stat:
                    fields = stat.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == master_pid and fields[0] != "Z":
                children.append(int(entry))
    return children
