"""Policy gate rules: '<metric> <op> <value>' where the value is a number or the production model's metric.

    roc_auc >= 0.85
    demographic_parity_difference <= 0.1
    roc_auc >= production.roc_auc - 0.01

A rule is parsed once, when the file is read, into PolicyRule; the stored JSON holds the parsed form, which
validates again as it is.
"""

import operator
import re
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, model_validator

from .errors import describe
from .fields import STRICT, spec_problem

OPERATORS = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
    "==": operator.eq,
    "!=": operator.ne,
}
Operator = Literal[">=", "<=", ">", "<", "==", "!="]
_UNSIGNED = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?"
_NUMBER = rf"[+-]?{_UNSIGNED}"
_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_RULE = re.compile(
    rf"^\s*(?P<metric>{_NAME})\s*(?P<op>>=|<=|==|!=|>|<)\s*"
    rf"(?:(?P<number>{_NUMBER})"
    rf"|(?P<baseline>{_NAME})\.(?P<base_metric>{_NAME})(?:\s*(?P<sign>[+-])\s*(?P<offset>{_UNSIGNED}))?)\s*$"
)
EXAMPLE = '"roc_auc >= 0.85"'


class RuleError(ValueError):
    """A rule that does not parse; the message quotes it and shows the expected form."""


class BaselineRef(BaseModel):
    """The right-hand side 'production.<metric> ± offset': a metric of the model now in production."""

    model_config = STRICT

    baseline: Literal["production"] = "production"
    metric: str
    offset: float = 0.0


@dataclass(frozen=True)
class RuleResult:
    """What a rule said about a candidate. `passed` is None when there is no production value to compare with."""

    rule: str
    passed: bool | None
    actual: float | None
    threshold: float | None
    reason: str


class PolicyRule(BaseModel):
    """One parsed rule: `metric op rhs_number`, or `metric op production.<metric> + offset`."""

    model_config = STRICT

    text: str = ""
    metric: str
    op: Operator
    rhs_number: float | None = None
    rhs_baseline: BaselineRef | None = None

    @model_validator(mode="before")
    @classmethod
    def _parse_text(cls, value):
        if isinstance(value, str):
            try:
                return parse_rule(value)
            except RuleError as exc:
                raise spec_problem(str(exc)) from None
        # Stored JSON holds the parsed form; anything else in a file is a mistake.
        if isinstance(value, dict) and "metric" in value:
            return value
        if isinstance(value, PolicyRule):
            return value
        raise spec_problem(f"a rule is text such as {EXAMPLE}, not {describe(value)}")

    @model_validator(mode="after")
    def _one_right_hand_side(self):
        if (self.rhs_number is None) == (self.rhs_baseline is None):
            raise spec_problem("a rule compares with either a number or a production metric")
        if not self.text:
            self.text = f"{self.metric} {self.op} {self._rhs_text()}"
        return self

    def _rhs_text(self) -> str:
        if self.rhs_baseline is None:
            return f"{self.rhs_number:g}"
        offset = self.rhs_baseline.offset
        suffix = f" {'-' if offset < 0 else '+'} {abs(offset):g}" if offset else ""
        return f"{self.rhs_baseline.baseline}.{self.rhs_baseline.metric}{suffix}"

    def threshold(self, production_metrics: dict | None = None) -> float | None:
        """The number the metric is compared with; None when it depends on a production value we lack."""
        if self.rhs_baseline is None:
            return self.rhs_number
        value = (production_metrics or {}).get(self.rhs_baseline.metric)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        return value + self.rhs_baseline.offset

    def evaluate(self, metrics: dict, production_metrics: dict | None = None) -> RuleResult:
        """Check the rule against a candidate's metrics (and production's, for a baseline rule)."""
        actual = metrics.get(self.metric)
        limit = self.threshold(production_metrics)
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return RuleResult(self.text, False, None, limit, f"metric '{self.metric}' was not computed")
        if limit is None:
            reason = f"no production value of '{self.rhs_baseline.metric}' to compare with"
            return RuleResult(self.text, None, actual, None, reason)
        passed = OPERATORS[self.op](actual, limit)
        verdict = "holds" if passed else "fails"
        return RuleResult(self.text, passed, actual, limit, f"{self.metric} = {actual:g} {verdict} {self.op} {limit:g}")


def parse_rule(text: str) -> dict:
    """The parsed parts of a rule, as PolicyRule fields; RuleError when it does not parse."""
    match = _RULE.match(text)
    if not match:
        raise RuleError(f'rule "{text}" does not parse: expected <metric> <op> <value>, e.g. {EXAMPLE}')
    parsed = {"text": " ".join(text.split()), "metric": match["metric"], "op": match["op"]}
    if match["number"] is not None:
        return {**parsed, "rhs_number": float(match["number"])}
    if match["baseline"] != "production":
        raise RuleError(
            f"rule \"{text}\" compares with '{match['baseline']}.{match['base_metric']}'; only "
            'production.<metric> can be compared with, e.g. "roc_auc >= production.roc_auc - 0.01"'
        )
    offset = float(match["offset"]) if match["offset"] else 0.0
    if match["sign"] == "-":
        offset = -offset
    return {**parsed, "rhs_baseline": {"baseline": "production", "metric": match["base_metric"], "offset": offset}}
