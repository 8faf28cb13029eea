"""What a step sees while it runs: its spec, earlier outputs, and a log and progress that reach the database."""

import logging
import threading
import time
import traceback as tb
from functools import cached_property

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from pipelines_app.models import PipelineRun, StepRun
from pipelines_app.spec import references
from pipelines_app.steps.base import StepFailed

log = logging.getLogger(__name__)
LOG_FLUSH_S = 1.0


def heartbeat_interval():
    """Seconds between a running step's heartbeats (STEP_HEARTBEAT_S); the reaper waits several times this."""
    return settings.STEP_HEARTBEAT_S


class StepContext:
    def __init__(self, step_run, spec=None, step_spec=None):
        self.step_run = step_run
        self.run = step_run.run
        self.spec = spec
        self.step_spec = step_spec
        self._lines = []
        self._progress = step_run.progress
        self._lock = threading.Lock()
        self._last_flush = 0.0
        self._stop = threading.Event()
        self._beat = threading.Thread(target=self._heartbeat, daemon=True, name=f"heartbeat-{step_run.pk}")

    # --- what steps call -------------------------------------------------
    def log(self, message):
        with self._lock:
            self._lines.append(f"{timezone.now():%H:%M:%S} {message}")
        self._maybe_flush()

    def progress(self, percent):
        with self._lock:
            self._progress = max(0, min(100, int(percent)))
        self._maybe_flush()

    def outputs_of(self, step_name):
        """Outputs of an earlier step of this run."""
        return self.run.steps.filter(name=step_name).values_list("outputs", flat=True).first() or {}

    def fill(self, value):
        """`value` from this step's settings with its `${...}` references filled in (spec/references.py).

        A reference the run has no value for fails the step: the file is at fault, not the code."""
        try:
            return references.fill(value, self.reference_values)
        except references.UnfilledReference as exc:
            raise StepFailed(str(exc)) from None

    @cached_property
    def reference_values(self):
        # Once per attempt: the earlier steps have finished, and a value is the same wherever the step uses it.
        return reference_values(self.run, before_position=self.step_run.position)

    def earlier_step(self, step_type):
        """The last step of ``step_type`` before this one, succeeded."""
        return (
            self.run.steps.filter(type=step_type, position__lt=self.step_run.position, status="succeeded")
            .order_by("-position")
            .first()
        )

    # --- the engine's side -----------------------------------------------
    def __enter__(self):
        self._beat.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._beat.join(timeout=heartbeat_interval() + 1)
        self.flush()
        return False

    def _maybe_flush(self):
        if time.monotonic() - self._last_flush >= LOG_FLUSH_S:
            self.flush()

    def flush(self):
        with self._lock:
            lines, self._lines = self._lines, []
            progress = self._progress
            self._last_flush = time.monotonic()
        fields = {"progress": progress, "heartbeat_at": timezone.now()}
        if lines:
            self.step_run.log = (self.step_run.log + "\n".join(lines) + "\n")[-200_000:]
            fields["log"] = self.step_run.log
        # Only while this attempt still owns the step: a cancelled or re-queued step is left alone.
        StepRun.objects.filter(pk=self.step_run.pk, status="running", attempt=self.step_run.attempt).update(**fields)

    def _heartbeat(self):
        while not self._stop.wait(heartbeat_interval()):
            try:
                self.flush()
            except Exception:  # noqa: BLE001  (a missed heartbeat must not kill the step)
                log.warning("heartbeat of step %s failed", self.step_run.pk, exc_info=True)
            finally:
                close_old_connections()


def reference_values(run, before_position):
    """What each reference a pipeline file may hold stands for in `run`, for a step at `before_position`:
    "inputs.<name>" (given, else the file's default), "model", "pipeline", "run.id", "run.trigger",
    "run.model_version" (once a version is registered) and "steps.<step>.<output>" of the steps before it."""
    file = run.pipeline_version.spec
    values = {
        f"inputs.{name}": declared["default"]
        for name, declared in (file.get("inputs") or {}).items()
        if declared.get("default") is not None
    }
    values.update({f"inputs.{name}": value for name, value in (run.inputs or {}).items()})
    values.update({"model": file.get("model", ""), "pipeline": file.get("name", ""), "run.id": run.pk})
    values["run.trigger"] = run.trigger
    # Read now, not from `run`: a train step earlier in this run registered the version after the run was loaded.
    version = PipelineRun.objects.filter(pk=run.pk).values_list("model_version__version", flat=True).first()
    if version is not None:
        values["run.model_version"] = version
    for name, outputs in run.steps.filter(position__lt=before_position).values_list("name", "outputs"):
        values.update({f"steps.{name}.{key}": value for key, value in (outputs or {}).items()})
    return values


def format_exception(exc):
    return "".join(tb.format_exception(type(exc), exc, exc.__traceback__))[-20000:]
