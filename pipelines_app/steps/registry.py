"""The step registry: every step type a pipeline file may use, the model a step is checked against and the class
that runs it. The parser, the engine and the UI all read this one table.

Names are written once, in ``pipelines_app.spec.STEP_TYPES`` (name -> model), which the parser reads without
Django. Each implementation names its model (``Spec``), so the built-in ones are listed below as classes, never
as names again; ``step_types()`` joins the two for the UI and ``step_class()`` for the engine.

``settings.PIPELINE_STEP_TYPES`` (name -> dotted path of a class with a ``Spec`` and ``run(ctx)``) adds types in
one place, ``register_configured_step_types()``, called once when the app is ready; it then checks that every
type the parser accepts has a class that runs it, and the reverse, so a half-registered type stops the site at
start rather than a run at its step. Nothing in a pipeline file can name code.
"""

from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from pipelines_app import spec
from pipelines_app.spec import STEP_TYPES, BaseStep

from .approval import ApprovalStep
from .data import IngestStep, ValidateDataStep
from .deploy import DeployStep, RollbackStep
from .gates import PolicyGateStep
from .notify import NotifyStep
from .training import EvaluateStep, TrainStep

BUILT_IN = (
    IngestStep,
    ValidateDataStep,
    TrainStep,
    EvaluateStep,
    PolicyGateStep,
    ApprovalStep,
    DeployStep,
    RollbackStep,
    NotifyStep,
)

# The class that runs each model. Keyed by the model, not by a name, so that STEP_TYPES stays the only list of
# names and a type replaced there can never run its old class.
_IMPLEMENTATIONS: dict[type[BaseStep], type] = {implementation.Spec: implementation for implementation in BUILT_IN}


@dataclass(frozen=True)
class StepType:
    """One row of the table: a type's name, its model in the pipeline file and the class that runs it."""

    name: str
    model: type[BaseStep]
    implementation: type

    @property
    def summary(self) -> str:
        """What the type does, in one line: the first line of the model's docstring."""
        return (self.model.__doc__ or "").strip().split("\n")[0]

    @property
    def graph_marker(self) -> str | None:
        return self.model.graph_marker


def step_types() -> dict[str, StepType]:
    """Every step type that can run, by name, in the order of the spec's table."""
    return {
        name: StepType(name, model, _IMPLEMENTATIONS[model])
        for name, model in STEP_TYPES.items()
        if model in _IMPLEMENTATIONS
    }


def step_class(name: str) -> type:
    """The class that runs steps of type `name`; KeyError when no such type is registered."""
    implementation = _IMPLEMENTATIONS.get(STEP_TYPES.get(name))
    if implementation is None:
        raise KeyError(f"no step type '{name}' is registered")
    return implementation


def register_step_type(name: str, implementation: type) -> None:
    """Add (or replace) step type `name`: ``implementation.Spec`` for the parser, ``implementation`` for the
    engine. ValueError when the class cannot serve as a step type."""
    if not isinstance(implementation, type) or not callable(getattr(implementation, "run", None)):
        raise ValueError(f"step type {name!r} must be a class with a run(ctx) method, not {implementation!r}")
    model = getattr(implementation, "Spec", None)
    replaced = STEP_TYPES.get(name)
    spec.register_step_type(name, model)  # checks the name and the model before anything changes
    if replaced is not None and replaced is not model:
        _IMPLEMENTATIONS.pop(replaced, None)
    _IMPLEMENTATIONS[model] = implementation


def unregister_step_type(name: str) -> None:
    """Remove step type `name` from the parser and the engine (a plug-in withdrawn; tests that add one)."""
    model = STEP_TYPES.get(name)
    _IMPLEMENTATIONS.pop(model, None)
    spec.unregister_step_type(name)


def register_configured_step_types() -> None:
    """Add the types of settings.PIPELINE_STEP_TYPES, then check the table (see the module's docstring)."""
    for name, path in settings.PIPELINE_STEP_TYPES.items():
        try:
            register_step_type(name, import_string(path))
        except (ImportError, ValueError) as exc:
            raise ImproperlyConfigured(f"PIPELINE_STEP_TYPES[{name!r}] = {path!r}: {exc}") from exc
    check_registry()


def check_registry() -> None:
    """ImproperlyConfigured unless every type the parser accepts has a class that runs it, and every class here
    runs a type the parser accepts."""
    models = set(STEP_TYPES.values())
    not_run = sorted(name for name, model in STEP_TYPES.items() if model not in _IMPLEMENTATIONS)
    not_parsed = sorted(cls.__name__ for model, cls in _IMPLEMENTATIONS.items() if model not in models)
    if not_run:
        raise ImproperlyConfigured(f"no class runs the step type(s) {', '.join(not_run)}")
    if not_parsed:
        raise ImproperlyConfigured(f"{', '.join(not_parsed)} run(s) no step type the pipeline file knows")
