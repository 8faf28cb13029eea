"""Turning pydantic's validation errors into SpecErrors: the node each one is about, and a plain sentence.

pydantic reports a location (`loc`) in the data it validated; the node map of yaml_nodes turns it into a line
and column: a missing key points at the mapping that lacks it, an unknown key at the key, a bad value at the
value. pydantic's wording ("Input should be a valid integer") becomes a sentence about the file.
"""

import re
import typing
from dataclasses import dataclass

from pydantic import BaseModel, ValidationError

from .data_checks import DataCheck
from .errors import SpecError, describe, did_you_mean, known_list, one_of
from .models import FailureStrategy, InputSpec, Notification, PipelineSpec, Stage, Trigger
from .steps import STEP_TYPES, CanaryAnalysis, SearchSpec
from .yaml_nodes import LoadedYaml, Path

_TYPE_ERRORS = {
    "int_type": "is not a whole number",
    "int_parsing": "is not a whole number",
    "int_from_float": "is not a whole number",
    "float_type": "is not a number",
    "float_parsing": "is not a number",
    "bool_type": "is not true or false",
    "bool_parsing": "is not true or false",
    "finite_number": "is not a finite number",
}
_BOUNDS = {
    "greater_than_equal": ("ge", "at least"),
    "greater_than": ("gt", "more than"),
    "less_than_equal": ("le", "at most"),
    "less_than": ("lt", "less than"),
}
_MAPPING_ERRORS = {"dict_type", "model_type", "model_attributes_type"}
# What one item of a list field is called in a sentence ("unknown event 'faild'").
_ITEM_WORDS = {"on": "event", "channels": "channel"}
_MISSING_HINTS = {"version": " (write 'version: 1' at the top of the file)"}


@dataclass(frozen=True)
class Owner:
    """The object a location belongs to: where it is, how to name it in a sentence, and its model."""

    path: Path
    description: str
    model: type[BaseModel] | None


def is_step_path(path: Path) -> bool:
    return (
        len(path) == 4
        and path[0] == "stages"
        and isinstance(path[1], int)
        and path[2] == "steps"
        and isinstance(path[3], int)
    )


def step_description(path: Path, loaded: LoadedYaml) -> str:
    """How a step is named in a sentence: step 'fit', or step 2 of stage 'data' when it has no usable name."""
    step = loaded.get(path)
    name = step.get("name") if isinstance(step, dict) else None
    if isinstance(name, str) and name.strip():
        return f"step '{name}'"
    return f"step {path[3] + 1} of {stage_description(path[:2], loaded)}"


def stage_description(path: Path, loaded: LoadedYaml) -> str:
    stage = loaded.get(path)
    name = stage.get("name") if isinstance(stage, dict) else None
    if isinstance(name, str) and name.strip():
        return f"stage '{name}'"
    return f"stage {path[1] + 1}"


def owner_of(path: Path, loaded: LoadedYaml) -> Owner:
    """The innermost pipeline part that `path` lies in."""
    if len(path) >= 6 and is_step_path(path[:4]) and path[4] == "checks" and isinstance(path[5], int):
        return Owner(path[:6], f"check {path[5] + 1} of {step_description(path[:4], loaded)}", DataCheck)
    if len(path) >= 5 and is_step_path(path[:4]) and path[4] == "analysis":
        return Owner(path[:5], f"the analysis of {step_description(path[:4], loaded)}", CanaryAnalysis)
    if len(path) >= 5 and is_step_path(path[:4]) and path[4] == "search":
        return Owner(path[:5], f"the search of {step_description(path[:4], loaded)}", SearchSpec)
    if len(path) >= 4 and is_step_path(path[:4]):
        step = loaded.get(path[:4])
        step_type = step.get("type") if isinstance(step, dict) else None
        model = STEP_TYPES.get(step_type) if isinstance(step_type, str) else None
        return Owner(path[:4], step_description(path[:4], loaded), model)
    if len(path) >= 2 and path[0] == "stages" and isinstance(path[1], int):
        return Owner(path[:2], stage_description(path[:2], loaded), Stage)
    if len(path) >= 2 and path[0] == "inputs":
        return Owner(path[:2], f"input '{path[1]}'", InputSpec)
    if len(path) >= 2 and path[0] == "triggers" and isinstance(path[1], int):
        return Owner(path[:2], f"trigger {path[1] + 1}", Trigger)
    if len(path) >= 2 and path[0] == "notifications" and isinstance(path[1], int):
        return Owner(path[:2], f"notification {path[1] + 1}", Notification)
    if path[:1] == ("failure_strategy",):
        return Owner(path[:1], "failure_strategy", FailureStrategy)
    return Owner((), "the pipeline", PipelineSpec)


def translate_validation_error(exc: ValidationError, loaded: LoadedYaml) -> list[SpecError]:
    """One SpecError per pydantic error, minus a missing key that an unknown key's did-you-mean explains."""
    translated = [_translate(error, loaded) for error in exc.errors(include_url=False)]
    explained = {note[1:] for _, note in translated if note and note[0] == "suggested"}
    return [error for error, note in translated if not (note and note[0] == "missing" and note[1:] in explained)]


def _data_path(loc: tuple, loaded: LoadedYaml) -> tuple[Path, tuple]:
    """Split pydantic's `loc` into the part that exists in the data and the rest (a missing key, mostly)."""
    path: list = []
    value = loaded.data
    tag_skipped = False
    for index, part in enumerate(loc):
        # The tagged union of steps adds the step type to the location, right after the step's index.
        if is_step_path(tuple(path)) and not tag_skipped and isinstance(value, dict) and part == value.get("type"):
            tag_skipped = True
            continue
        if isinstance(value, dict) and isinstance(part, str) and part in value:
            value = value[part]
        elif isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value):
            value = value[part]
        else:
            return tuple(path), tuple(loc[index:])
        path.append(part)
    return tuple(path), ()


def _field_annotation_choices(model: type[BaseModel] | None, field: str) -> list[str]:
    """The values a Literal field accepts, for telling which ones a missing key could take."""
    info = model.model_fields.get(field) if model else None
    if info is None:
        return []
    annotation = info.annotation
    if typing.get_origin(annotation) is typing.Literal:
        return [str(choice) for choice in typing.get_args(annotation)]
    return []


def _translate(error: dict, loaded: LoadedYaml) -> tuple[SpecError, tuple | None]:
    kind = error["type"]
    context = error.get("ctx") or {}
    value = error.get("input")
    path, rest = _data_path(tuple(error["loc"]), loaded)
    owner = owner_of(path, loaded)
    relative = [part for part in (*path[len(owner.path) :], *rest) if isinstance(part, str) and part != "[key]"]
    field = relative[0] if relative else None
    subject = f"'{field}' in {owner.description}" if field else owner.description

    if kind == "spec":
        message = error["msg"].replace("{field}", field or "the value").replace("{where}", owner.description)
        target = path + tuple(context.get("spec_at", ())) if not rest else path
        return loaded.error(target, message, key=bool(context.get("spec_key"))), None

    if kind == "missing":
        name = str(rest[-1]) if rest else str(error["loc"][-1])
        choices = _field_annotation_choices(owner.model, name)
        hint = f" ({one_of(choices)})" if choices else _MISSING_HINTS.get(name, "") if not owner.path else ""
        return loaded.error(path, f"{owner.description} needs '{name}'{hint}"), ("missing", path, name)

    if kind == "extra_forbidden":
        key = path[-1]
        owner = owner_of(path[:-1], loaded)
        allowed = list(owner.model.model_fields) if owner.model else []
        hint = getattr(owner.model, "unknown_key_hint", "")
        suggestion = did_you_mean(key, allowed)
        message = f"unknown key '{key}' in {owner.description}"
        if suggestion:
            message += suggestion + (f" {hint}" if hint else "")
        else:
            message += f". {hint}" if hint else f"; known keys: {known_list(allowed)}"
        note = ("suggested", path[:-1], suggestion.split("'")[1]) if suggestion else None
        return loaded.error(path, message, key=True), note

    if kind == "union_tag_invalid" and is_step_path(path):
        step_type = value.get("type") if isinstance(value, dict) else None
        if not isinstance(step_type, str):
            message = f"the step type is one of: {known_list(STEP_TYPES)}; not {describe(step_type)}"
            return loaded.error((*path, "type"), message), None
        suggestion = did_you_mean(step_type, STEP_TYPES)
        message = f"unknown step type {describe(step_type)}"
        message += suggestion or f"; known types: {known_list(STEP_TYPES)}"
        return loaded.error((*path, "type"), message), None

    if kind in {"union_tag_not_found", *_MAPPING_ERRORS} and is_step_path(path):
        if isinstance(value, dict):
            message = f"{owner.description} needs 'type', one of: {known_list(STEP_TYPES)}"
            return loaded.error(path, message), None
        return loaded.error(path, f"each step is a mapping with 'name' and 'type', not {describe(value)}"), None

    if isinstance(value, str) and "${" in value and (kind in _TYPE_ERRORS or kind in _MAPPING_ERRORS):
        message = f"{describe(value)} cannot be used here: references are only filled in inside params and texts"
        return loaded.error(path, f"{message} ({subject})"), None

    return loaded.error(path, _sentence(kind, error, value, field, subject, owner, path)), None


def _sentence(kind, error, value, field, subject, owner: Owner, path: Path) -> str:
    context = error.get("ctx") or {}
    if kind in _TYPE_ERRORS:
        return f"{describe(value)} {_TYPE_ERRORS[kind]} ({subject})"
    if kind == "string_type":
        quote = "; put it in quotes" if isinstance(value, int | float) or value is None else ""
        return f"{describe(value)} is not text ({subject}){quote}"
    if kind in _MAPPING_ERRORS:
        return f"{subject} must be a mapping of keys and values, not {describe(value)}"
    if kind == "list_type":
        return f"{subject} must be a list, e.g. [a, b], not {describe(value)}"
    if kind in _BOUNDS:
        bound_key, words = _BOUNDS[kind]
        bound = context.get(bound_key)
        # A float field's bound reads as 1.0; people wrote 1.
        bound = int(bound) if isinstance(bound, float) and bound.is_integer() else bound
        return f"{subject} must be {words} {bound}, got {describe(value)}"
    if kind in ("too_short", "string_too_short"):
        if path == ("stages",):
            return "the pipeline needs at least one stage"
        if field == "steps" and len(path) == 3:
            return f"{owner.description} needs at least one step"
        return f"{subject} must not be empty"
    if kind in ("too_long", "string_too_long"):
        return f"{subject} is too long (at most {context.get('max_length')} characters)"
    if kind == "literal_error":
        expected = re.findall(r"'([^']*)'", str(context.get("expected", "")))
        word = _ITEM_WORDS.get(field, field)
        lead = (
            f"unknown {word} {describe(value)}"
            if isinstance(value, str)
            else f"{describe(value)} is not allowed for '{field}'"
        )
        return f"{lead} in {owner.description}; expected {one_of(expected)}{did_you_mean(value, expected)}"
    message = str(error.get("msg", "is not valid"))
    for jargon in ("Value error, ", "Assertion failed, "):
        message = message.replace(jargon, "")
    message = message.replace("Input should be", "should be")
    return f"{subject}: {message}"
