"""Errors of the pipeline file: what went wrong, where, in a plain sentence, and a few wording helpers."""

import difflib
from collections.abc import Iterable
from dataclasses import dataclass

# A page of 50 problems is already more than anyone fixes in one go; more only hides the first ones.
MAX_ERRORS = 50


@dataclass(frozen=True)
class SpecError:
    """One problem in a pipeline file, at a 1-based line and column."""

    line: int
    column: int
    message: str
    path: str = ""

    def __str__(self):
        return f"line {self.line}, column {self.column}: {self.message}"

    def as_dict(self):
        return {"line": self.line, "column": self.column, "message": self.message, "path": self.path}


class SpecInvalid(Exception):
    """The pipeline file has problems; `errors` lists every one found, in file order."""

    def __init__(self, errors: list[SpecError]):
        self.errors = list(errors)
        count = len(self.errors)
        summary = f"the pipeline file has {count} problem{'s' if count != 1 else ''}"
        super().__init__("\n".join([summary, *(str(error) for error in self.errors)]))


def finish_errors(errors: Iterable[SpecError]) -> list[SpecError]:
    """Drop repeats, sort by position in the file, keep the first MAX_ERRORS."""
    unique = {(error.line, error.column, error.message): error for error in errors}
    ordered = sorted(unique.values(), key=lambda error: (error.line, error.column, error.message))
    return ordered[:MAX_ERRORS]


def closest(word, choices: Iterable[str]) -> str | None:
    """The choice closest to `word` when one is close enough to be a likely typo, else None."""
    if not isinstance(word, str):
        return None
    choices = [choice for choice in choices if isinstance(choice, str)]
    matches = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    if not matches:
        # Case slips ("Train", "PRODUCTION") are too far apart for difflib's ratio, but obvious to a reader.
        matches = [choice for choice in choices if choice.lower() == word.lower()][:1]
    if not matches and len(word) >= 3:
        # Abbreviations ("prod" for "production") also score low, but one choice starting with them is clear.
        starting = [choice for choice in choices if choice.lower().startswith(word.lower())]
        matches = starting if len(starting) == 1 else []
    return matches[0] if matches else None


def did_you_mean(word, choices: Iterable[str], prefix: str = "") -> str:
    """'; did you mean '<prefix>x'?' when a choice x is close to `word`, else ''."""
    match = closest(word, choices)
    return f"; did you mean '{prefix}{match}'?" if match else ""


def known_list(names: Iterable[str], limit: int = 12) -> str:
    """A short, sorted, comma-separated list of names; long lists end with how many there are."""
    ordered = sorted(set(names))
    if len(ordered) <= limit:
        return ", ".join(ordered)
    return ", ".join(ordered[:limit]) + f", … ({len(ordered)} in all)"


def one_of(names: Iterable[str]) -> str:
    """'a, b or c' for the values a field accepts, in the order given."""
    names = list(names)
    if len(names) <= 1:
        return "".join(names)
    return ", ".join(names[:-1]) + " or " + names[-1]


def describe(value) -> str:
    """How a YAML value reads back to the person who wrote it."""
    if value is None:
        return "an empty value"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        shown = value if len(value) <= 60 else value[:57] + "..."
        return f"'{shown}'"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return "a value of an unsupported kind"


def unknown_name(message: str, word, choices: Iterable[str], label: str = "known", prefix: str = "") -> str:
    """`message` plus a did-you-mean and the list of what exists:
    "environment 'prod' does not exist; did you mean 'production'? Known: production, staging"."""
    choices = list(choices)
    suggestion = did_you_mean(word, choices, prefix)
    listing = known_list(choices)
    if suggestion:
        return f"{message}{suggestion} {label[:1].upper()}{label[1:]}: {listing}"
    return f"{message}; {label}: {listing}"
