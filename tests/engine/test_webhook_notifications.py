"""Webhook notifications: JSON POSTs to a receiver on loopback, retried on 5xx and refused connections."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines_app.notifications import post_webhook


@pytest.fixture
def receiver():
    """An HTTP server on 127.0.0.1 that answers with the statuses queued in ``answers`` and records bodies."""
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
    assert post_webhook(receiver["url"], {"run": 7}, backoff_s=0) == 200
    assert receiver["bodies"] == [{"run": 7}]


def test_a_5xx_is_retried_then_succeeds(receiver):
    receiver["answers"] = [503, 502]
    assert post_webhook(receiver["url"], {"run": 8}, backoff_s=0) == 200
    assert len(receiver["bodies"]) == 3


def test_a_4xx_is_not_retried(receiver):
    receiver["answers"] = [404]
    assert post_webhook(receiver["url"], {"run": 9}, backoff_s=0) == 404
    assert len(receiver["bodies"]) == 1


def test_nobody_listening_gives_none_after_the_attempts():
    from mlops_site.local_redis import free_port

    assert post_webhook(f"http://127.0.0.1:{free_port()}/hook", {}, attempts=2, backoff_s=0, timeout=2) is None


def test_only_http_urls():
    with pytest.raises(ValueError, match="http"):
        post_webhook("file:///etc/passwd", {})
