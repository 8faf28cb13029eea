"""Webhook notifications: JSON POSTs to a receiver on loopback (allowed explicitly, as loopback is refused by
default), retried on 5xx and refused connections."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from mlops_site.local_redis import free_port
from pipelines_app.outbound import post_json


@pytest.fixture
def receiver(settings):
    """An HTTP server on 127.0.0.1 that answers with the statuses queued in ``answers`` and records bodies."""
    settings.NOTIFY_ALLOWED_HOSTS = ["127.0.0.1"]
    state = {"answers": [], "bodies": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (the name http.server calls)
            state["bodies"].append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(state["answers"].pop(0) if state["answers"] else 200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    state["url"] = f"http://127.0.0.1:{server.server_address[1]}/hook"
    yield state
    server.shutdown()


def test_it_posts_json(receiver):
    assert post_json(receiver["url"], {"run": 7}, backoff_s=0).http_status == 200
    assert receiver["bodies"] == [{"run": 7}]


def test_a_5xx_is_retried_then_succeeds(receiver):
    receiver["answers"] = [503, 502]
    outcome = post_json(receiver["url"], {"run": 8}, backoff_s=0)
    assert (outcome.status, outcome.http_status, outcome.attempts) == ("delivered", 200, 3)
    assert len(receiver["bodies"]) == 3


def test_a_4xx_is_not_retried(receiver):
    receiver["answers"] = [404]
    outcome = post_json(receiver["url"], {"run": 9}, backoff_s=0)
    assert (outcome.status, outcome.http_status) == ("failed", 404)
    assert len(receiver["bodies"]) == 1


def test_nobody_listening_fails_after_the_attempts(settings):
    settings.NOTIFY_ALLOWED_HOSTS = ["127.0.0.1"]
    outcome = post_json(f"http://127.0.0.1:{free_port()}/hook", {}, attempts=2, backoff_s=0, timeout=2)
    assert (outcome.status, outcome.http_status, outcome.attempts) == ("failed", None, 2)


def test_only_http_urls():
    outcome = post_json("file:///etc/passwd", {})
    assert outcome.status == "refused"
    assert "http" in outcome.error
