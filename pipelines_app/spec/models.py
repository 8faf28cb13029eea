"""The pipeline file as pydantic models: PipelineSpec and its parts, and the registration of step types.

`PipelineSpec.model_dump(mode="json")` is what a pipeline version stores, and `PipelineSpec.model_validate()`
reads that back. Checks that need the whole file (names, references, step order) or the database (known
environments, groups, datasets) are in semantics.py and references.py; they work on the data with its positions.
"""

import re
import unicodedata
from collections.abc import Iterator
from typing import Any, Literal

from pydantic import BaseModel, Field, SerializeAsAny, field_validator, model_validator

from .cron import CronError, CronSchedule, parse_cron
from .errors import describe, one_of
from .estimators import param_problem
from .fields import IDENTIFIER, STRICT, NonBlank, Number, Recipient, spec_problem
from .steps import STEP_TYPES, BaseStep, StepField, TrainStep, check_step_type

EVENTS = ("queued", "running", "waiting_for_approval", "succeeded", "failed", "cancelled", "rejected", "timed_out")
Event = Literal[
    "queued", "running", "waiting_for_approval", "succeeded", "failed", "cancelled", "rejected", "timed_out"
]
INPUT_TYPES = ("integer", "number", "string", "boolean")
_MODEL_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_INPUT_REFERENCE = re.compile(r"^\$\{inputs\.([A-Za-z_][A-Za-z0-9_]*)\}$")
# Pipeline.slug holds at most 100 characters.
SLUG_MAX_LENGTH = 100


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


class InputSpec(BaseModel):
    """A runtime input, asked for when the pipeline is run by hand and referenced as ${inputs.<name>}."""

    model_config = STRICT

    type: Literal["integer", "number", "string", "boolean"]
    default: Any = None
    min: Number | None = None
    max: Number | None = None
    choices: list[Any] | None = Field(default=None, min_length=1)
    description: str = ""

    @model_validator(mode="after")
    def _consistent(self):
        if self.type not in ("integer", "number"):
            for bound in ("min", "max"):
                if getattr(self, bound) is not None:
                    raise spec_problem(
                        f"{bound} only applies to integer and number inputs, not {self.type}", at=(bound,), key=True
                    )
        if self.min is not None and self.max is not None and self.min > self.max:
            raise spec_problem(f"min {self.min:g} is greater than max {self.max:g}", at=("min",))
        for index, choice in enumerate(self.choices or []):
            problem = self.problem_with(choice, check_choices=False)
            if problem:
                raise spec_problem(f"choice {problem}", at=("choices", index))
        if self.default is not None:
            problem = self.problem_with(self.default)
            if problem:
                raise spec_problem(f"default {problem}", at=("default",))
        return self

    def problem_with(self, value, check_choices: bool = True) -> str | None:
        """Why `value` is not acceptable for this input (a phrase after the value's role), or None."""
        if self.type == "integer" and (not isinstance(value, int) or isinstance(value, bool)):
            return f"{describe(value)} is not a whole number"
        if self.type == "number" and not _is_number(value):
            return f"{describe(value)} is not a number"
        if self.type == "string" and not isinstance(value, str):
            return f"{describe(value)} is not text"
        if self.type == "boolean" and not isinstance(value, bool):
            return f"{describe(value)} is not true or false"
        if self.min is not None and value < self.min:
            return f"{describe(value)} is below the minimum {self.min:g}"
        if self.max is not None and value > self.max:
            return f"{describe(value)} is above the maximum {self.max:g}"
        if check_choices and self.choices is not None and value not in self.choices:
            return f"{describe(value)} is not one of the choices {', '.join(describe(c) for c in self.choices)}"
        return None

    def coerce(self, value):
        """`value` as this input's type (text from a form or a URL is converted); ValueError if it does not fit."""
        if isinstance(value, str) and self.type != "string":
            text = value.strip()
            try:
                if self.type == "integer":
                    value = int(text)
                elif self.type == "number":
                    value = float(text)
                elif text.lower() in ("true", "false"):
                    value = text.lower() == "true"
            except ValueError:
                pass
        problem = self.problem_with(value)
        if problem:
            raise ValueError(problem)
        return value


class Trigger(BaseModel):
    """What starts a run besides a person: a cron schedule, a signed webhook, or a drift alert."""

    model_config = STRICT

    type: Literal["manual", "schedule", "webhook", "drift"]
    cron: str | None = None

    @field_validator("cron")
    @classmethod
    def _parses(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                parse_cron(value)
            except CronError as exc:
                raise spec_problem(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _cron_with_schedule(self):
        if self.type == "schedule" and self.cron is None:
            raise spec_problem("a schedule trigger needs 'cron', e.g. cron: \"0 3 * * 1\" (Mondays at 03:00)")
        if self.type != "schedule" and self.cron is not None:
            raise spec_problem(f"cron only applies to schedule triggers, not {self.type}", at=("cron",), key=True)
        return self

    def schedule(self) -> CronSchedule | None:
        return parse_cron(self.cron) if self.cron else None


class FailureStrategy(BaseModel):
    """How a failed step is retried, and whether the run stops (abort) or goes on (continue) after it."""

    model_config = STRICT

    retries: int = Field(default=0, ge=0)
    retry_backoff_s: float = Field(default=10, ge=0)
    on_failure: Literal["abort", "continue"] = "abort"


class Notification(BaseModel):
    """Who hears about which run events."""

    model_config = STRICT

    on: list[Event] = Field(min_length=1)
    to: list[Recipient] = Field(min_length=1)


class Stage(BaseModel):
    """Steps that run one after another, or all at once when `parallel`."""

    model_config = STRICT

    name: NonBlank
    parallel: bool = False
    steps: list[SerializeAsAny[StepField]] = Field(min_length=1)


class PipelineSpec(BaseModel):
    """A whole pipeline file (version 1), validated."""

    model_config = STRICT

    version: int
    name: NonBlank = Field(max_length=200)
    description: str = ""
    model: str
    inputs: dict[str, InputSpec] = Field(default_factory=dict)
    triggers: list[Trigger] = Field(default_factory=list)
    failure_strategy: FailureStrategy = Field(default_factory=FailureStrategy)
    notifications: list[Notification] = Field(default_factory=list)
    stages: list[Stage] = Field(min_length=1)

    @field_validator("version", mode="before")
    @classmethod
    def _version_one(cls, value):
        if value == 1 and isinstance(value, int) and not isinstance(value, bool):
            return value
        shown = value if _is_number(value) else describe(value)
        raise spec_problem(f"unsupported version {shown}; this server reads version 1")

    @field_validator("name")
    @classmethod
    def _sluggable(cls, value: str) -> str:
        if not slugify(value):
            raise spec_problem(f"name '{value}' has no letters or digits to make the pipeline's slug from")
        return value

    @field_validator("description", mode="before")
    @classmethod
    def _empty_description(cls, value):
        # 'description:' with nothing after it is an empty description, not a mistake.
        return "" if value is None else value

    @field_validator("model")
    @classmethod
    def _model_name(cls, value: str) -> str:
        if not _MODEL_NAME.match(value):
            raise spec_problem(f"model '{value}' may only contain letters, digits, '.', '_' and '-'")
        return value

    @field_validator("inputs")
    @classmethod
    def _input_names(cls, value: dict) -> dict:
        for name in value:
            if not IDENTIFIER.match(name):
                raise spec_problem(
                    f"input name '{name}' must be a word of letters, digits and '_' "
                    "(it is referenced as ${inputs.<name>})",
                    at=(name,),
                    key=True,
                )
        return value

    @property
    def slug(self) -> str:
        return slugify(self.name)

    def steps(self) -> Iterator[tuple[Stage, BaseStep]]:
        """(stage, step) pairs in the order the file lists them."""
        for stage in self.stages:
            for step in stage.steps:
                yield stage, step

    def step(self, name: str) -> BaseStep | None:
        return next((step for _, step in self.steps() if step.name == name), None)

    def train_steps(self) -> list[TrainStep]:
        return [step for _, step in self.steps() if isinstance(step, TrainStep)]

    def failure_strategy_for(self, step: BaseStep) -> FailureStrategy:
        """The pipeline's failure strategy with the step's own overrides applied."""
        overrides = {
            key: getattr(step, key)
            for key in ("retries", "retry_backoff_s", "on_failure")
            if getattr(step, key) is not None
        }
        return self.failure_strategy.model_copy(update=overrides)

    def graph(self) -> dict:
        """Stages and their steps, as the stage-graph preview draws them."""
        return {
            "stages": [
                {
                    "name": stage.name,
                    "parallel": stage.parallel,
                    "steps": [
                        {
                            "name": step.name,
                            "type": step.type,
                            "marker": step.graph_marker,
                            "environment": getattr(step, "environment", None),
                        }
                        for step in stage.steps
                    ],
                }
                for stage in self.stages
            ]
        }

    def resolve_inputs(self, given: dict | None = None) -> dict:
        """Runtime inputs: the given values (converted to each input's type) and defaults for the rest.

        Raises InputsInvalid naming every input that is missing, unknown or wrong."""
        given = dict(given or {})
        values, problems = {}, {}
        for name in given.keys() - self.inputs.keys():
            problems[name] = f"there is no input '{name}'; known: {one_of(sorted(self.inputs)) or 'none'}"
        for name, spec in self.inputs.items():
            if name in given and given[name] not in (None, ""):
                try:
                    values[name] = spec.coerce(given[name])
                except ValueError as exc:
                    problems[name] = f"{name}: {exc}"
            elif spec.default is not None:
                values[name] = spec.default
            else:
                problems[name] = f"input '{name}' needs a value"
        for name, problem in self._param_bound_problems(values).items():
            problems.setdefault(name, f"{name}: {problem}")
        if problems:
            raise InputsInvalid(problems)
        return values

    def _param_bound_problems(self, values: dict) -> dict[str, str]:
        """Inputs that reach an estimator parameter ("${inputs.x}") with more than its bound allows: the file's
        literal values were checked when it was validated, these only now."""
        problems = {}
        for step in self.train_steps():
            for key, value in step.params.items():
                match = _INPUT_REFERENCE.match(value) if isinstance(value, str) else None
                if match and match[1] in values:
                    problem = param_problem(step.estimator_class(), key, values[match[1]])
                    if problem:
                        problems[match[1]] = problem
        return problems


class InputsInvalid(ValueError):
    """Runtime inputs that do not fit the pipeline's inputs; `problems` maps input name to a sentence."""

    def __init__(self, problems: dict[str, str]):
        self.problems = problems
        super().__init__("; ".join(problems[name] for name in sorted(problems)))


def slugify(name: str) -> str:
    """Lowercase letters, digits and single hyphens, accents folded: 'Crédit Card v2' -> 'credit-card-v2'."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")[:SLUG_MAX_LENGTH].strip("-")


def register_step_type(name: str, model: type[BaseStep]) -> None:
    """Add (or replace) a step type, e.g. from settings.PIPELINE_STEP_TYPES, and make the models accept it."""
    check_step_type(name, model)
    STEP_TYPES[name] = model
    _rebuild_step_union()


def unregister_step_type(name: str) -> None:
    """Remove a step type (a plug-in withdrawn); files that use it are then invalid."""
    STEP_TYPES.pop(name, None)
    _rebuild_step_union()


def _rebuild_step_union() -> None:
    # The tagged union of steps is built from STEP_TYPES when a schema is made; make it again.
    Stage.model_rebuild(force=True)
    PipelineSpec.model_rebuild(force=True)
