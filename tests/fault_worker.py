"""A Celery worker entry point for fault tests only: ``celery -A tests.fault_worker worker …``.

The project's Celery app (``mlops_site.celery``) plus one test switch, read here and nowhere in the product:
``FAULT_PAUSE_STEPS="ingest=30,train=60"`` makes a step of that type wait that many seconds on its first attempt,
after the worker has claimed it and while its heartbeat runs, before its work. A test can then kill the worker,
drop its database connections or let its time limit strike in the middle of a step. ``WorkerProcess(faults=…)``
in ``tests/conftest.py`` starts such a worker.

The pause hooks the engine's ``StepContext`` (what every step runs inside), not the step classes or their
registry: it applies to any step type, built in or added through settings, whatever shape the registry takes.
"""

import os
import sys
import time

import django

from mlops_site.celery import app

PAUSES_VARIABLE = "FAULT_PAUSE_STEPS"

__all__ = ["app", "pause_steps", "read_pauses"]


def read_pauses(text):
    """``"ingest=30,train=0.5"`` → ``{"ingest": 30.0, "train": 0.5}``; anything else is a mistake in a test."""
    pauses = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, sep, seconds = item.partition("=")
        if not sep or not kind.strip():
            raise ValueError(f"{PAUSES_VARIABLE}: {item!r} is not <step type>=<seconds>")
        pauses[kind.strip()] = float(seconds)
    return pauses


def pause_steps(pauses):
    """Make the first attempt of a step of each type in ``pauses`` wait that many seconds once it is running."""
    from pipelines_app.engine.context import StepContext

    enter = StepContext.__enter__

    def enter_and_pause(ctx):
        entered = enter(ctx)
        step = ctx.step_run
        seconds = pauses.get(step.type) if step.attempt == 1 else None
        if seconds:
            ctx.log(f"pausing {seconds:g} s before the work ({PAUSES_VARIABLE}: a fault test)")
            try:
                time.sleep(seconds)
            except BaseException:
                # Raised inside __enter__ (a soft time limit, say), the exception skips __exit__: stop the heartbeat
                # and flush the log here, as the step's own failure would.
                ctx.__exit__(*sys.exc_info())
                raise
        return entered

    StepContext.__enter__ = enter_and_pause


# Installed when Celery imports this module, before the worker starts (and before a prefork pool forks): a bad
# value or a moved hook stops the worker at once instead of leaving a test waiting for a pause that never comes.
_pauses = read_pauses(os.environ.get(PAUSES_VARIABLE, ""))
if _pauses:
    django.setup()
    pause_steps(_pauses)
