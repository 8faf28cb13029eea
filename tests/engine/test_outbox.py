"""The outbox on real workers: a state change is an event row, a task reacts to it; notifications are delivery
rows sent by the notifier, so that a receiver that hangs holds up no step, and each delivery shows how it went."""

import pytest

from pipelines_app.engine.runs import start_run
from pipelines_app.models import Delivery, Event, Pipeline
from tests.conftest import WorkerProcess, start_workers, stop_workers, wait_for
from tests.receivers import Receiver

pytestmark = pytest.mark.django_db(transaction=True)

HANG_S = 4
TIMEOUT_S = 2


@pytest.fixture
def receiver():
    receiver = Receiver(delay=HANG_S)  # takes every request and answers nothing for HANG_S seconds
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
    started = start_workers(
        WorkerProcess(redis_url, name="outbox-steps", **env),
        WorkerProcess(redis_url, queues="notifications", name="outbox-notifier", **env),
    )
    yield started
    stop_workers(*started)


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
    # The run's own notification is a reaction to its run.ended event, done once (by a worker, soon after the run
    # ended: on a busy machine the reaction may still be on its way when the run is seen to end).
    event = Event.objects.get(run=run, kind="run.ended")
    wait_for(lambda: Event.objects.get(pk=event.pk).status == "done", 30, 0.2, "the run.ended reaction")

    def gave_up():
        return not Delivery.objects.filter(run=run, status__in=["queued", "sending"]).exists()

    wait_for(gave_up, 60, 0.2, "both deliveries to give up")
    deliveries = list(Delivery.objects.filter(run=run).order_by("id"))
    assert [d.purpose for d in deliveries] == ["notify_step", "run"]
    for delivery in deliveries:
        assert (delivery.status, delivery.attempts) == ("failed", 2)
        assert "gave up after 2" in delivery.error and "timed out" in delivery.error
    assert len(receiver.arrivals) == 4  # two deliveries, tried twice each
    # The run was over well before the notify step's call gave up: nothing waited for it.
    assert run.finished_at < deliveries[0].finished_at
