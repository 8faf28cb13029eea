"""The outbox on real workers: a state change is an event row, a task reacts to it; notifications are delivery
rows sent by the notifier, so that a receiver that hangs holds up no step, and each delivery shows how it went."""

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from pipelines_app.engine.runs import start_run
from pipelines_app.models import Delivery, Event, Pipeline
from tests.conftest import WorkerProcess, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

HANG_S = 4
TIMEOUT_S = 2


class HangingReceiver:
    """A loopback HTTP server that takes every request and answers nothing for HANG_S seconds."""

    def __init__(self):
        self.arrivals = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (the name http.server calls)
                receiver.arrivals.append(time.monotonic())
                time.sleep(HANG_S)
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    receiver = HangingReceiver()
    yield receiver
    receiver.close()


@pytest.fixture
def workers(redis_url):
    """A step worker and a notifier, as ``make run`` starts them, allowed to call the loopback receiver."""
    env = {
        "NOTIFY_ALLOWED_HOSTS": "127.0.0.1",
        "NOTIFY_TIMEOUT_S": str(TIMEOUT_S),
        "NOTIFY_RETRY_BACKOFF_S": "0.5",
        "NOTIFY_MAX_ATTEMPTS": "2",
        "STEP_HEARTBEAT_S": "1",
    }
    started = [
        WorkerProcess(redis_url, name="outbox-steps", **env).start(),
        WorkerProcess(redis_url, queues="notifications", name="outbox-notifier", **env).start(),
    ]
    yield started
    for worker in started:
        worker.stop()


def test_a_webhook_that_hangs_delays_no_step_is_retried_and_shows_its_final_status(
    demo_dataset, editor, receiver, workers, settings
):
    settings.NOTIFY_ALLOWED_HOSTS = ["127.0.0.1"]
    pipeline = Pipeline.objects.create_from_yaml(
        f"""version: 1
name: hooked
model: hooked-model
notifications:
  - {{on: [succeeded], to: ["webhook:{receiver.url}"]}}
stages:
  - name: tell
    steps:
      - {{name: tell, type: notify, channels: [webhook], to: ["webhook:{receiver.url}"], message: started}}
  - name: data
    steps:
      - {{name: load, type: ingest, dataset: credit-card-applications}}
""",
        editor,
    )
    run = start_run(pipeline, editor)

    def ended():
        run.refresh_from_db()
        return run.status in ("succeeded", "failed")

    wait_for(ended, 120, 0.2, "the run to end")
    assert run.status == "succeeded", run.error
    tell, load = run.steps.order_by("position")
    # The notify step queued its call and finished; it did not wait on the receiver, nor did the next step.
    assert (tell.finished_at - tell.started_at).total_seconds() < TIMEOUT_S
    assert load.status == "succeeded"
    # The run's own notification is a reaction to its run.ended event, done once.
    assert Event.objects.get(run=run, kind="run.ended").status == "done"

    def gave_up():
        return not Delivery.objects.filter(run=run, status__in=["queued", "sending"]).exists()

    wait_for(gave_up, 60, 0.5, "both deliveries to give up")
    deliveries = list(Delivery.objects.filter(run=run).order_by("id"))
    assert [d.purpose for d in deliveries] == ["notify_step", "run"]
    for delivery in deliveries:
        assert (delivery.status, delivery.attempts) == ("failed", 2)
        assert "gave up after 2" in delivery.error and "timed out" in delivery.error
    assert len(receiver.arrivals) == 4  # two deliveries, tried twice each
    # The run was over well before the notify step's call gave up: nothing waited for it.
    assert run.finished_at < deliveries[0].finished_at
