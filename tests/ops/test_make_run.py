"""`make run` on the embedded defaults: it serves, a demo user logs in, Ctrl-C stops every child."""

import http.cookiejar
import os
import re
import signal
import subprocess
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

from mlops_site.local_redis import free_port
from tests.conftest import ROOT, wait_for

pytestmark = pytest.mark.slow


def descendants(pid):
    """Every live process below pid, read from /proc."""
    children = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            children.setdefault(int(fields[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def fetch(opener, url, data=None, referer=None):
    request = urllib.request.Request(url, data=data, headers={"Referer": referer} if referer else {})
    with opener.open(request, timeout=20) as response:
        return response.geturl(), response.read().decode()


def test_make_run_serves_logs_in_and_stops_everything(tmp_path):
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL")}
    env.update(PORT=str(port), DEMO_PASSWORD="Smoke-pass-123", MLOPS_VAR_DIR=str(tmp_path / "var"))
    log = open(tmp_path / "run.log", "w")
    process = subprocess.Popen(
        ["make", "run"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    try:

        def announced():
            assert process.poll() is None, (tmp_path / "run.log").read_text()[-3000:]
            return "MLOps Site is running" in (tmp_path / "run.log").read_text()

        wait_for(announced, 240, 0.5, "make run to print its address")
        # The address is printed once the site answers: the login page answers at once, and quickly.
        asked = time.monotonic()
        assert urllib.request.urlopen(base + "/accounts/login/", timeout=5).status == 200
        assert time.monotonic() - asked < 10
        output = (tmp_path / "run.log").read_text()
        assert f"http://127.0.0.1:{port}/" in output
        assert "reviewer2" in output and "Smoke-pass-123" in output
        assert "demo only" in output

        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))
        _, html = fetch(opener, base + "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html).group(1)
        form = urllib.parse.urlencode(
            {"username": "editor", "password": "Smoke-pass-123", "csrfmiddlewaretoken": token}
        ).encode()
        url, html = fetch(opener, base + "/accounts/login/", form, referer=base + "/accounts/login/")
        assert url == base + "/"
        assert "<h1>Overview</h1>" in html and "editor" in html
        # Static files come from the web server itself, under names that carry their hash, cached for years.
        script = re.search(r'<script src="(/static/vendor/htmx[^"]+)"', html).group(1)
        assert script != "/static/vendor/htmx-2.0.11.min.js"
        with urllib.request.urlopen(base + script, timeout=10) as answer:
            assert answer.status == 200 and "immutable" in answer.headers["Cache-Control"]
        # The worker started by make run reports in.
        wait_for(lambda: "online" in fetch(opener, base + "/system/workers/")[1], 60, 1, "the worker to report")
        # Prometheus on this machine scrapes without a token; gunicorn's workers count into one shared folder.
        with urllib.request.urlopen(base + "/metrics", timeout=10) as answer:
            assert answer.status == 200 and 'mlops_metrics_source_up{source="database"} 1.0' in answer.read().decode()
        assert (tmp_path / "var" / "prometheus").is_dir()

        started = descendants(process.pid)
        assert len(started) >= 4  # python run_stack, redis, worker, beat, gunicorn …
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            raise
        log.close()
    deadline = time.monotonic() + 10
    while any(alive(pid) for pid in started) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert [pid for pid in started if alive(pid)] == []
    assert "Stopped web server, worker, beat and Redis." in (tmp_path / "run.log").read_text()
