"""Field types shared by the models of the pipeline file, and the one way a model reports a problem.

Models are strict: a YAML value keeps the type it was written with ("2" is not 2, "yes" is not true), because a
file that only works thanks to silent conversion reads differently from what it does.
"""

import math
import re
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import AfterValidator, ConfigDict
from pydantic_core import PydanticCustomError

from .errors import describe, did_you_mean

STRICT = ConfigDict(extra="forbid", strict=True)
IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_EMAIL = re.compile(r"^[^@\s:]+@[^@\s]+\.[^@\s.]+$")


def spec_problem(message: str, at: tuple = (), key: bool = False) -> PydanticCustomError:
    """A validation error with a finished sentence. `at` is a path below the validated value where the problem
    is (e.g. ("canary_percent",)), `key` says to point at that key rather than its value. The sentence may use
    {field} and {where}, filled in with the field's name and its owner ("step 'fit'") when it is reported."""
    # Context keys are substituted into the template by pydantic-core; names unlikely to appear in a sentence.
    return PydanticCustomError("spec", message, {"spec_at": tuple(at), "spec_key": key})


def _not_blank(value: str) -> str:
    if not value.strip():
        raise spec_problem("'{field}' in {where} must not be blank")
    return value


NonBlank = Annotated[str, AfterValidator(_not_blank)]


def _number(value):
    # Any + this check, rather than float, so that an integer bound stays an integer in the stored JSON.
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise spec_problem(f"{describe(value)} is not a number ('{{field}}' in {{where}})")
    if isinstance(value, float) and not math.isfinite(value):
        raise spec_problem(f"{describe(value)} is not a finite number ('{{field}}' in {{where}})")
    return value


Number = Annotated[Any, AfterValidator(_number)]


def check_recipient(value: str) -> str:
    """'group:<name>', an e-mail address, or 'webhook:<http(s) url>'."""
    kind, colon, rest = value.partition(":")
    if colon and kind == "group":
        if not rest.strip():
            raise spec_problem(f"recipient '{value}' names no group; write 'group:<name>', e.g. 'group:editors'")
        return value
    if colon and kind == "webhook":
        url = urlsplit(rest)
        if url.scheme not in ("http", "https") or not url.netloc:
            raise spec_problem(
                f"recipient '{value}' needs an http(s) address after 'webhook:', "
                "e.g. 'webhook:https://hooks.example.com/ml'"
            )
        return value
    if _EMAIL.match(value):
        return value
    hint = did_you_mean(kind, ["group", "webhook"]) if colon else ""
    if hint:
        raise spec_problem(f"recipient '{value}' starts with '{kind}:'{hint}")
    raise spec_problem(f"recipient '{value}' is not 'group:<name>', an e-mail address or 'webhook:<http(s) url>'")


Recipient = Annotated[str, AfterValidator(check_recipient)]
