"""`${...}` references in the text values of a pipeline file, filled in at run time.

    ${inputs.<declared input>}   ${model}   ${pipeline}   ${run.id}   ${run.model_version}   ${run.trigger}
    ${steps.<step defined earlier>.<output of that step's type>}

Each reference is checked against what the file declares, and a step may only read the outputs of steps that
have finished before it starts (earlier stages, or earlier in the same stage unless the stage is parallel).
At run time fill() puts the values in, with the same pattern, so whatever the checks accept is filled.
"""

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .errors import SpecError, closest, did_you_mean, unknown_name
from .fields import IDENTIFIER
from .steps import STEP_TYPES
from .yaml_nodes import LoadedYaml, Path

REFERENCE = re.compile(r"\$\{([^}]*)\}")
RUN_VALUES = ("id", "model_version", "trigger")
PLAIN_NAMES = ("model", "pipeline")
FORMS = (
    "${inputs.<name>}, ${steps.<step>.<output>}, ${run.id}, ${run.model_version}, ${run.trigger}, ${model}, ${pipeline}"
)


@dataclass(frozen=True)
class StepPlace:
    """Where a step sits in the pipeline, for the question "has it finished before that one starts?"."""

    path: Path
    stage: int
    index: int
    name: str
    type: str | None
    parallel: bool

    def runs_before(self, other: "StepPlace") -> bool:
        if self.stage != other.stage:
            return self.stage < other.stage
        return not self.parallel and self.index < other.index

    @property
    def known_type(self) -> bool:
        return self.type in STEP_TYPES


def step_places(loaded: LoadedYaml) -> list[StepPlace]:
    """Every step that is a mapping with a text name, in file order."""
    places = []
    stages = loaded.get(("stages",), [])
    for stage_index, stage in enumerate(stages if isinstance(stages, list) else []):
        if not isinstance(stage, dict) or not isinstance(stage.get("steps"), list):
            continue
        parallel = stage.get("parallel") is True
        for step_index, step in enumerate(stage["steps"]):
            if isinstance(step, dict) and isinstance(step.get("name"), str):
                step_type = step.get("type") if isinstance(step.get("type"), str) else None
                path = ("stages", stage_index, "steps", step_index)
                places.append(StepPlace(path, stage_index, step_index, step["name"], step_type, parallel))
    return places


def text_values(value, path: Path = ()):
    """(path, text) for every string value (not key) under `value`."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from text_values(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from text_values(item, (*path, index))


def reference_errors(loaded: LoadedYaml, places: list[StepPlace]) -> list[SpecError]:
    """A SpecError for every reference that names something the file does not have (yet)."""
    inputs = loaded.get(("inputs",), {})
    declared = [name for name in inputs if isinstance(name, str)] if isinstance(inputs, dict) else []
    by_path = {place.path: place for place in places}
    unknown_type_paths = {place.path for place in places if not place.known_type}
    errors = []
    for path, text in text_values(loaded.data):
        # A step of an unknown type is already reported; its contents would only add noise.
        if path[:4] in unknown_type_paths:
            continue
        reader = by_path.get(path[:4])
        for match in REFERENCE.finditer(text):
            problem = _problem(match.group(1).strip(), declared, places, reader)
            if problem:
                errors.append(loaded.error_in_text(path, match.group(0), problem))
        unclosed = text.rfind("${")
        if unclosed >= 0 and "}" not in text[unclosed:]:
            fragment = text[unclosed:]
            errors.append(loaded.error_in_text(path, fragment, f"'{fragment}' is missing its closing '}}'"))
    return errors


def _problem(expression: str, declared: list[str], places: list[StepPlace], reader: StepPlace | None) -> str | None:
    shown = f"'${{{expression}}}'"
    head, _, tail = expression.partition(".")
    if expression in PLAIN_NAMES:
        return None
    if head == "inputs":
        if tail in declared:
            return None
        if not declared:
            return f"{shown} refers to input '{tail}', but the pipeline declares no inputs"
        return f"{shown} refers to input '{tail}', which is not declared{did_you_mean(tail, declared)}"
    if head == "run":
        if tail in RUN_VALUES:
            return None
        suggestion = closest(tail, RUN_VALUES)
        hint = f"; did you mean '${{run.{suggestion}}}'? A run has" if suggestion else "; a run has"
        return f"{shown} does not exist{hint} {', '.join('${run.' + name + '}' for name in RUN_VALUES)}"
    if head == "steps":
        return _step_problem(shown, tail, places, reader)
    suggestion = closest(
        expression, [*PLAIN_NAMES, *(f"run.{name}" for name in RUN_VALUES), *(f"inputs.{name}" for name in declared)]
    )
    if suggestion:
        return f"unknown reference {shown}; did you mean '${{{suggestion}}}'? References are {FORMS}"
    return f"unknown reference {shown}; references are {FORMS}"


def _step_problem(shown: str, tail: str, places: list[StepPlace], reader: StepPlace | None) -> str | None:
    name, dot, output = tail.rpartition(".")
    if not dot or not name:
        return f"{shown} does not say which output; write ${{steps.<step>.<output>}}, e.g. ${{steps.fit.model_version}}"
    target = next((place for place in places if place.name == name), None)
    if target is None:
        return f"{shown} refers to step '{name}', which does not exist{did_you_mean(name, [p.name for p in places])}"
    if reader is not None:
        if target.path == reader.path:
            return f"{shown} refers to step '{name}' itself; a step can only read outputs of steps before it"
        if not target.runs_before(reader):
            same_time = target.stage == reader.stage and target.parallel
            when = "at the same time as it (the stage is parallel)" if same_time else "after it"
            return f"{shown}: step '{name}' runs {when}, so its outputs do not exist yet for step '{reader.name}'"
    model = STEP_TYPES.get(target.type)
    if model is None:
        return None
    outputs = model.outputs
    if outputs is None:
        if IDENTIFIER.match(output):
            return None
        return f"{shown}: '{output}' is not a metric name (letters, digits and '_')"
    if output in outputs:
        return None
    if not outputs:
        return f"{shown}: a {target.type} step such as '{name}' has no outputs to refer to"
    return unknown_name(
        f"{shown}: step '{name}' ({target.type}) has no output '{output}'", output, outputs, label="its outputs"
    )


class UnfilledReference(ValueError):
    """A reference the file may hold but the run has no value for, e.g. an output its step did not give."""

    def __init__(self, expression: str):
        self.expression = expression
        super().__init__(f"'${{{expression}}}' has no value in this run{_why_unfilled(expression)}")


def _why_unfilled(expression: str) -> str:
    head, _, tail = expression.partition(".")
    if head == "steps":
        name, _, output = tail.rpartition(".")
        return f": step '{name}' has not given an output '{output}' (yet)"
    if expression == "run.model_version":
        return ": no model version has been registered before this step"
    return ""


def fill(value: Any, values: Mapping[str, Any]) -> Any:
    """`value` with every reference replaced from `values` (keyed as written, "inputs.trees", "steps.load.rows").

    A string that is one whole reference becomes the value itself, so `n_estimators: "${inputs.trees}"` stays a
    number; a reference inside longer text is written into it as text. Lists and mappings are filled item by item
    (their keys are not). Raises UnfilledReference for a reference `values` has no value for."""
    if isinstance(value, str):
        whole = REFERENCE.fullmatch(value)
        if whole:
            return _value_of(whole.group(1), values)
        return REFERENCE.sub(lambda match: _as_text(_value_of(match.group(1), values)), value)
    if isinstance(value, list):
        return [fill(item, values) for item in value]
    if isinstance(value, dict):
        return {key: fill(item, values) for key, item in value.items()}
    return value


def _value_of(expression: str, values: Mapping[str, Any]) -> Any:
    # Validation accepts "${ run.id }" as well as "${run.id}".
    expression = expression.strip()
    if expression not in values:
        raise UnfilledReference(expression)
    return values[expression]


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    # true/false/null and lists as the file would write them, not Python's True/None.
    return json.dumps(value)
