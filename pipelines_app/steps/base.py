"""What a step implementation needs from the engine side: its base class and the two ways it tells the engine
that it did not simply finish.

A step module imports these from here, never from the engine, so that the engine (which runs steps) and the
steps (which it runs) do not import each other's internals. This module stays light (no models, no ML stack):
the engine imports it when it loads.
"""

from typing import ClassVar

from pipelines_app.spec import BaseStep


class WaitForApproval(Exception):
    """Raised by a step that has opened an approval request: the run waits for its decision."""


class WaitForTrials(Exception):
    """Raised by a train step whose search has trials still to run: the step is parked, its worker freed, and
    queued again once the trials have finished (``engine.search``)."""


class StepFailed(Exception):
    """A step's own, expected failure: the message says what is wrong, no traceback needed.

    ``outputs`` are kept on the step, so that a failed check or gate still shows what it found."""

    def __init__(self, message, outputs=None):
        super().__init__(message)
        self.outputs = outputs or {}


class Step:
    """The class that runs one step type.

    ``Spec`` is the step's model in the pipeline file (a subclass of ``pipelines_app.spec.BaseStep``); the
    registry (``steps/registry.py``) runs this class for the type name that model is registered under, so a
    type's name is written once, in the spec. ``run(ctx)`` does the work and returns the step's outputs (what
    later steps may reference); it raises ``StepFailed`` or ``WaitForApproval`` rather than returning a status.
    A plug-in from ``settings.PIPELINE_STEP_TYPES`` need not subclass this: a ``Spec`` and a ``run`` suffice.
    """

    Spec: ClassVar[type[BaseStep]]

    def run(self, ctx) -> dict:
        raise NotImplementedError(f"{type(self).__name__} does not implement run(ctx)")
