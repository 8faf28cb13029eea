"""Step types of the pipeline file: the keys each one takes, its checks, and the registry of types by name.

Every step has `name`, `type` and optional overrides of the pipeline's failure strategy. A type says what
outputs later steps may reference (`${steps.<name>.<output>}`) and how the stage graph marks it.
"""

import re
from typing import Any, ClassVar, Literal, get_args, get_origin

from pydantic import BaseModel, Field, GetCoreSchemaHandler, ValidationError, field_validator, model_validator
from pydantic_core import core_schema

from .data_checks import DataCheck
from .durations import DurationError, parse_duration
from .errors import describe, did_you_mean
from .estimators import EstimatorError, estimator_parameters, load_estimator, param_problem
from .fields import IDENTIFIER, STRICT, NonBlank, Recipient, spec_problem
from .rules import CanaryCheck, PolicyRule

_DATASET = re.compile(r"^(?P<slug>[A-Za-z0-9_-]+)(?:@(?P<version>\d+))?$")


class BaseStep(BaseModel):
    """What every step has. Subclass it (and register the subclass) to add a step type."""

    model_config = STRICT
    # Outputs later steps may reference; None means any identifier (an evaluate step's metrics).
    outputs: ClassVar[frozenset[str] | None] = frozenset()
    # How the stage graph preview marks the step: "approval", "deploy" or None.
    graph_marker: ClassVar[str | None] = None

    name: NonBlank
    type: str
    retries: int | None = Field(default=None, ge=0)
    retry_backoff_s: float | None = Field(default=None, ge=0)
    on_failure: Literal["abort", "continue"] | None = None
    # How long one attempt may run on a worker ("30m"); without it the site's default. The site's maximum is
    # checked with the database's context (semantics.py), since the spec does not know the settings.
    step_timeout: str | None = None

    @field_validator("step_timeout", mode="before")
    @classmethod
    def _step_timeout_duration(cls, value):
        if value is None:  # absent: a stored version dumps it as null
            return value
        try:
            parse_duration(value)
        except DurationError as exc:
            raise spec_problem(f"step_timeout {exc}") from None
        return value

    @property
    def step_timeout_seconds(self) -> int | None:
        return parse_duration(self.step_timeout) if self.step_timeout is not None else None


class IngestStep(BaseStep):
    """Load a dataset version: 'slug' for the latest, 'slug@N' for version N."""

    outputs = frozenset({"dataset_version", "sha256", "rows"})

    type: Literal["ingest"] = "ingest"
    dataset: str

    @field_validator("dataset")
    @classmethod
    def _slug_and_version(cls, value: str) -> str:
        match = _DATASET.match(value)
        if not match:
            raise spec_problem(
                f"dataset '{value}' is not a dataset slug or 'slug@version', "
                "e.g. 'credit-card-applications' or 'credit-card-applications@3'"
            )
        if match["version"] is not None and int(match["version"]) < 1:
            raise spec_problem(
                f"dataset '{value}' asks for version {int(match['version'])}; versions are numbered from 1"
            )
        return value

    @property
    def dataset_slug(self) -> str:
        return self.dataset.partition("@")[0]

    @property
    def dataset_version(self) -> int | None:
        """The pinned version number, or None for the latest."""
        version = self.dataset.partition("@")[2]
        return int(version) if version else None


class ValidateDataStep(BaseStep):
    """Check the ingested data (row counts, ranges, allowed values, ...) and look for target leakage."""

    outputs = frozenset({"passed"})

    type: Literal["validate_data"] = "validate_data"
    checks: list[DataCheck] = Field(default_factory=list)
    # A single feature that predicts the target almost perfectly is more likely a leak than a discovery.
    leakage_auc_max: float = Field(default=0.98, ge=0.5, le=1)


MAX_TRIALS = 200
SEARCH_METRICS = (
    "roc_auc",
    "accuracy",
    "balanced_accuracy",
    "f1",
    "average_precision",
    "neg_log_loss",
    "r2",
    "neg_mean_absolute_error",
    "neg_root_mean_squared_error",
)  # fmt: skip  (ml.search's lists; the spec imports no ML)
_DISTRIBUTIONS = ("uniform", "log_uniform", "int_uniform")


class SearchSpec(BaseModel):
    """``search:`` on a train step: candidates from ``space`` (lists of choices, or ``{uniform | log_uniform |
    int_uniform: [low, high]}`` for random), each scored by stratified k-fold on the training split as a Celery task
    of its own; the best is refit on the whole training split and registered."""

    model_config = STRICT

    method: Literal["grid", "random"] = "random"
    trials: int | None = Field(default=None, ge=1, le=MAX_TRIALS)
    cv: int = Field(default=5, ge=2, le=20)
    metric: Literal[SEARCH_METRICS] = "roc_auc"  # type: ignore[valid-type]
    space: dict[str, Any] = Field(min_length=1)
    random_state: int = Field(default=0, ge=0, le=2**32 - 1)

    @field_validator("space")
    @classmethod
    def _values(cls, space):
        for name, value in space.items():
            if isinstance(value, list):
                if not value:
                    raise spec_problem(f"'{name}' lists no values to try", at=(name,))
                continue
            if not (isinstance(value, dict) and len(value) == 1 and next(iter(value)) in _DISTRIBUTIONS):
                raise spec_problem(
                    f"'{name}' is a list of values to try or one of {', '.join(_DISTRIBUTIONS)}: [low, high], "
                    f"not {describe(value)}",
                    at=(name,),
                )
            ((kind, bounds),) = value.items()
            numbers = (
                isinstance(bounds, list)
                and len(bounds) == 2
                and all(isinstance(b, int | float) and not isinstance(b, bool) for b in bounds)
            )
            if not numbers or not bounds[0] < bounds[1]:
                raise spec_problem(f"'{name}': {kind} takes [low, high] with low below high", at=(name, kind))
            if kind == "log_uniform" and bounds[0] <= 0:
                raise spec_problem(f"'{name}': log_uniform needs a low above zero", at=(name, kind))
        return space

    @model_validator(mode="after")
    def _size(self):
        if self.method == "grid":
            ranges = [name for name, value in self.space.items() if not isinstance(value, list)]
            if ranges:
                raise spec_problem(
                    f"a grid tries lists of values; '{ranges[0]}' is a range (use method: random)", at=("space",)
                )
            if self.trials is not None:
                raise spec_problem("a grid tries every combination; 'trials' is for method: random", at=("trials",),
                                   key=True)  # fmt: skip
            size = 1
            for value in self.space.values():
                size *= len(value)
            if size > MAX_TRIALS:
                raise spec_problem(f"this grid has {size:,} combinations; a search tries at most {MAX_TRIALS}")
        elif self.trials is None:
            self.trials = 16
        return self


class TrainStep(BaseStep):
    """Fit a scikit-learn estimator behind the standard preprocessing, on a train/test split."""

    outputs = frozenset({"model_version", "sha256"})

    type: Literal["train"] = "train"
    target: NonBlank
    positive_label: Any = None
    estimator: str
    params: dict[str, Any] = Field(default_factory=dict)
    features: list[NonBlank] | None = None
    drop: list[NonBlank] = Field(default_factory=list)
    test_size: float = Field(default=0.25, gt=0, lt=1)
    random_state: int = Field(default=42, ge=0, le=2**32 - 1)
    task: Literal["classification", "regression"] | None = None
    search: SearchSpec | None = None

    @field_validator("positive_label")
    @classmethod
    def _plain_label(cls, value):
        if isinstance(value, list | dict):
            raise spec_problem(f'positive_label is a single value such as "yes" or 1, not {describe(value)}')
        return value

    @field_validator("estimator")
    @classmethod
    def _known_estimator(cls, value: str) -> str:
        try:
            load_estimator(value)
        except EstimatorError as exc:
            raise spec_problem(str(exc)) from None
        return value

    @model_validator(mode="after")
    def _consistent(self):
        estimator = self.estimator_class()
        accepted = estimator_parameters(estimator)
        for key, value in self.params.items():
            if accepted is not None and key not in accepted:
                short_name = self.estimator.rsplit(".", 1)[-1]
                raise spec_problem(
                    f"{short_name} has no parameter '{key}'{did_you_mean(key, accepted)}", at=("params", key), key=True
                )
            problem = param_problem(estimator, key, value)
            if problem:
                raise spec_problem(f"{problem} (a bound on the time one fit may take)", at=("params", key))
        for key, value in (self.search.space if self.search else {}).items():
            if accepted is not None and key not in accepted:
                short_name = self.estimator.rsplit(".", 1)[-1]
                raise spec_problem(
                    f"{short_name} has no parameter '{key}'{did_you_mean(key, accepted)}",
                    at=("search", "space", key),
                    key=True,
                )
            tried = value if isinstance(value, list) else next(iter(value.values()))
            for one in tried:
                problem = param_problem(estimator, key, one)
                if problem:
                    raise spec_problem(f"{problem} (a bound on the time one fit may take)", at=("search", "space", key))
        for index, column in enumerate(self.features or []):
            if column == self.target:
                raise spec_problem(f"the target '{column}' cannot also be a feature", at=("features", index))
            if column in self.drop:
                raise spec_problem(f"column '{column}' is both in features and in drop", at=("features", index))
        if self.task == "regression" and self.positive_label is not None:
            raise spec_problem(
                "positive_label only applies to classification, but task is regression",
                at=("positive_label",),
                key=True,
            )
        return self

    def estimator_class(self) -> type:
        """The scikit-learn class `estimator` names (imported on first use)."""
        return load_estimator(self.estimator)


class DecisionCosts(BaseModel):
    """What a wrong decision costs: a positive predicted for a negative row, and a negative for a positive one."""

    model_config = STRICT

    false_positive: float = Field(ge=0, le=1e9, allow_inf_nan=False)
    false_negative: float = Field(ge=0, le=1e9, allow_inf_nan=False)

    @model_validator(mode="after")
    def _some_cost(self):
        if self.false_positive == 0 and self.false_negative == 0:
            raise spec_problem("at least one of false_positive and false_negative must be above 0 in {where}'s costs")
        return self


class EvaluateStep(BaseStep):
    """Score the model of a train step on its test split: metrics, curves, fairness by sensitive feature; with
    ``costs``, the decision threshold of least expected cost."""

    outputs = None

    type: Literal["evaluate"] = "evaluate"
    sensitive_features: list[NonBlank] = Field(default_factory=list)
    # The train step whose model is evaluated; by default the last one before this step.
    model_step: NonBlank | None = None
    costs: DecisionCosts | None = None


class PolicyGateStep(BaseStep):
    """Stop the run unless every rule holds for the evaluated metrics."""

    type: Literal["policy_gate"] = "policy_gate"
    rules: list[PolicyRule] = Field(min_length=1)


class ApprovalStep(BaseStep):
    """Wait until enough people in the approver groups approve (or one rejects, or the timeout applies)."""

    graph_marker = "approval"

    type: Literal["approval"] = "approval"
    approvers: list[NonBlank] = Field(default_factory=list, validate_default=True)
    min_approvals: int = Field(default=1, ge=1)
    timeout: str = "24h"
    on_timeout: Literal["reject", "approve"] = "reject"
    message: str = ""

    @field_validator("approvers")
    @classmethod
    def _someone_approves(cls, value: list[str]) -> list[str]:
        if not value:
            raise spec_problem("an approval needs at least one approver group, e.g. 'approvers: [reviewers]'")
        return value

    @field_validator("timeout", mode="before")
    @classmethod
    def _duration(cls, value):
        try:
            parse_duration(value)
        except DurationError as exc:
            raise spec_problem(f"timeout {exc}") from None
        return value

    @property
    def timeout_seconds(self) -> int:
        return parse_duration(self.timeout)


# What a canary is judged by when its analysis names no checks: DESIGN §6's example.
DEFAULT_CANARY_CHECKS = (
    "error_rate <= primary.error_rate + 0.01",
    "latency_p95_ms <= primary.latency_p95_ms * 1.5",
    "score_psi <= 0.2",
    "positive_rate >= primary.positive_rate - 0.1",
    "positive_rate <= primary.positive_rate + 0.1",
)
MAX_ANALYSIS_DURATION_S = 7 * 86400
MAX_ANALYSIS_CHECKS = 20


class CanaryAnalysis(BaseModel):
    """Automated canary verification: once ``min_requests`` reached each arm, ``checks`` compare the canary arm
    with the primary arm over the same window; the canary is then promoted or rolled back (or held for a
    person). Not enough traffic by ``max_duration`` counts as a failure."""

    model_config = STRICT

    min_requests: int = Field(default=200, ge=1, le=1_000_000)
    max_duration: str = "30m"
    checks: list[CanaryCheck] = Field(
        default_factory=lambda: [CanaryCheck.model_validate(text) for text in DEFAULT_CANARY_CHECKS],
        min_length=1,
        max_length=MAX_ANALYSIS_CHECKS,
    )
    on_pass: Literal["promote", "hold"] = "promote"  # noqa: S105  (a verdict's action, not a password)
    on_fail: Literal["rollback", "hold"] = "rollback"

    @field_validator("max_duration", mode="before")
    @classmethod
    def _duration(cls, value):
        try:
            seconds = parse_duration(value)
        except DurationError as exc:
            raise spec_problem(f"max_duration {exc}") from None
        if seconds > MAX_ANALYSIS_DURATION_S:
            raise spec_problem(f"max_duration '{value}' is longer than the most an analysis may run, 7d")
        return value

    @property
    def max_duration_seconds(self) -> int:
        return parse_duration(self.max_duration)


class DeployStep(BaseStep):
    """Deploy the run's model to an environment: replace the primary, split traffic (canary), or shadow it."""

    graph_marker = "deploy"

    type: Literal["deploy"] = "deploy"
    environment: NonBlank
    strategy: Literal["replace", "canary", "shadow"] = "replace"
    canary_percent: int | None = Field(default=None, ge=1, le=99)
    analysis: CanaryAnalysis | None = None

    @model_validator(mode="after")
    def _canary_percent_with_canary(self):
        if self.strategy == "canary" and self.canary_percent is None:
            raise spec_problem(
                "a canary deploy needs 'canary_percent', the share of traffic (1-99) it gets", at=("strategy",)
            )
        if self.strategy != "canary" and self.canary_percent is not None:
            raise spec_problem(
                f"canary_percent only applies to strategy canary, not {self.strategy}", at=("canary_percent",), key=True
            )
        if self.strategy != "canary" and self.analysis is not None:
            raise spec_problem(
                f"analysis judges a canary; strategy {self.strategy} has none", at=("analysis",), key=True
            )
        return self


class RollbackStep(BaseStep):
    """Put an environment's previous primary model version back."""

    graph_marker = "deploy"

    type: Literal["rollback"] = "rollback"
    environment: NonBlank


class NotifyStep(BaseStep):
    """Send a message by e-mail and/or webhook; without `to`, to the pipeline's notification recipients."""

    type: Literal["notify"] = "notify"
    channels: list[Literal["email", "webhook"]] = Field(default_factory=lambda: ["email"], min_length=1)
    to: list[Recipient] = Field(default_factory=list)
    message: str = ""


# The one list of step type names. The parser reads it; steps/registry.py pairs each model with the class that
# runs it (by model, so names are not listed again) and adds settings.PIPELINE_STEP_TYPES to both at startup.
STEP_TYPES: dict[str, type[BaseStep]] = {
    "ingest": IngestStep,
    "validate_data": ValidateDataStep,
    "train": TrainStep,
    "evaluate": EvaluateStep,
    "policy_gate": PolicyGateStep,
    "approval": ApprovalStep,
    "deploy": DeployStep,
    "rollback": RollbackStep,
    "notify": NotifyStep,
}


def check_step_type(name: str, model: type) -> None:
    """Raise ValueError unless `model` can serve as step type `name`."""
    if not isinstance(name, str) or not IDENTIFIER.match(name):
        raise ValueError(f"step type name {name!r} must be an identifier such as 'score_batch'")
    if not (isinstance(model, type) and issubclass(model, BaseStep)):
        raise ValueError(f"step type {name!r} must be a subclass of BaseStep, not {model!r}")
    # The `type` key picks the model, then the model checks it: a model that takes another name could never parse.
    annotation = model.model_fields["type"].annotation
    if get_origin(annotation) is Literal and name not in get_args(annotation):
        taken = " or ".join(repr(value) for value in get_args(annotation))
        raise ValueError(f"step type {name!r} has a model, {model.__name__}, whose type is {taken}")


class StepField:
    """A step of any registered type, chosen by its `type` key. The choices are read from STEP_TYPES each time
    the models' schema is built, which is why registering a type rebuilds them."""

    @classmethod
    def __get_pydantic_core_schema__(cls, source, handler: GetCoreSchemaHandler) -> core_schema.CoreSchema:
        choices = {name: handler.generate_schema(model) for name, model in STEP_TYPES.items()}
        return core_schema.tagged_union_schema(choices, discriminator="type")


def analysis_problems(data) -> tuple[CanaryAnalysis | None, list[str]]:
    """A canary analysis given outside a pipeline file (the deployment page, the API): the parsed analysis, or
    None and a sentence per problem."""
    if not isinstance(data, dict):
        keys = "min_requests, max_duration, checks, on_pass and on_fail"
        return None, [f"an analysis is a mapping of {keys}, not {describe(data)}"]
    try:
        return CanaryAnalysis.model_validate(data), []
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            where = ".".join(str(part) for part in error["loc"]) or "analysis"
            field = str(error["loc"][0]) if error["loc"] else "analysis"
            message = error["msg"].replace("{field}", field).replace("{where}", "the analysis")
            if error["type"] == "extra_forbidden":
                message = f"unknown key '{where}'; the keys are {', '.join(CanaryAnalysis.model_fields)}"
            problems.append(message if error["type"] in ("spec", "extra_forbidden") else f"{where}: {message}")
        return None, problems
