"""The one place that queues Celery tasks: by name, with ids only, once the current transaction commits.

The engine, monitoring and the notification channels queue work through here instead of importing the task
module, so that the tasks (thin wrappers that call the engine) are the only ones pointing at the engine, and a
message never names a row the database does not hold yet. Queues: ``default`` (steps, reactions to events),
``training`` (heavy fits), ``monitoring`` (drift reports, rollups), ``notifications`` (e-mail and webhook
deliveries, on a worker of their own so that a receiver that hangs holds up no step).
"""

from functools import partial

from celery import current_app
from django.db import transaction

TASKS = "pipelines_app.tasks"
QUEUES = ("default", "training", "monitoring", "notifications")  # /metrics reports how deep each is


def _send(name, args, **options):
    transaction.on_commit(partial(current_app.send_task, f"{TASKS}.{name}", args=args, **options))


def advance_run(run_id):
    _send("advance_run", [run_id], queue="default")


def execute_step(step_id, attempt, *, queue, countdown=0, soft_time_limit=None, time_limit=None):
    _send(
        "execute_step",
        [step_id, attempt],
        queue=queue,
        countdown=countdown,
        soft_time_limit=soft_time_limit,
        time_limit=time_limit,
    )


def run_trial(trial_id, attempt, *, time_limit):
    """A search's trial, held to its step's time limit (one trial may take no longer than the step would)."""
    _send("run_trial", [trial_id, attempt], queue="training", soft_time_limit=time_limit, time_limit=time_limit + 30)


def react(event_id):
    _send("react_to_event", [event_id], queue="default")


def deliver(delivery_id, countdown=0):
    _send("deliver", [delivery_id], queue="notifications", countdown=countdown)


def compute_drift_report(report_id):
    _send("compute_drift_report", [report_id], queue="monitoring")


def revoke(task_id):
    """Stop a running task (a cancelled step) once the cancellation is committed."""
    transaction.on_commit(partial(current_app.control.revoke, task_id, terminate=True, signal="SIGTERM"))
