"""Rules: '<metric> <op> <value>' where the value is a number or a baseline's metric, scaled and shifted.

    roc_auc >= 0.85
    demographic_parity_difference <= 0.1
    roc_auc >= production.roc_auc - 0.01
    latency_p95_ms <= primary.latency_p95_ms * 1.5

A policy gate's rules (``PolicyRule``) compare a candidate with the model in production; a canary analysis's
checks (``CanaryCheck``) compare the canary arm with the primary arm over the same window. One grammar, parsed
once when the file is read; the stored JSON holds the parsed form, which validates again as it is.
"""

import operator
import re
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel, model_validator

from .errors import describe, did_you_mean
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
    rf"|(?P<baseline>{_NAME})\.(?P<base_metric>{_NAME})(?:\s*\*\s*(?P<factor>{_UNSIGNED}))?"
    rf"(?:\s*(?P<sign>[+-])\s*(?P<offset>{_UNSIGNED}))?)\s*$"
)
EXAMPLE = '"roc_auc >= 0.85"'
MAX_RULE_CHARS = 300
# What a canary analysis measures of each arm (monitoring/canary.py), the only names its checks may use.
CANARY_METRICS = {
    "requests": "requests answered or refused",
    "error_rate": "share of requests not answered 200",
    "latency_p50_ms": "median latency, ms",
    "latency_p95_ms": "95th percentile latency, ms",
    "positive_rate": "share of rows predicted the positive label",
    "mean_score": "mean probability of the positive label",
    "score_psi": "PSI of the arm's scores against the primary's",
    "accuracy": "realised accuracy where labels came back",
}


class RuleError(ValueError):
    """A rule that does not parse; the message quotes it and shows the expected form."""


class BaselineRef(BaseModel):
    """The right-hand side '<baseline>.<metric> [* factor] [± offset]': production's metric (a policy gate) or
    the primary arm's (a canary analysis)."""

    model_config = STRICT

    baseline: Literal["production", "primary"] = "production"
    metric: str
    factor: float = 1.0
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
    """One parsed rule: `metric op rhs_number`, or `metric op production.<metric> * factor + offset`."""

    model_config = STRICT
    # What the right-hand side may compare with, and (None: any) which metric names a rule may use.
    baseline_name: ClassVar[str] = "production"
    metric_names: ClassVar[frozenset[str] | None] = None
    example: ClassVar[str] = EXAMPLE

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
                return parse_rule(value, cls.baseline_name, cls.example)
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
            raise spec_problem(f"a rule compares with either a number or a {self.baseline_name} metric")
        if self.rhs_baseline is not None and self.rhs_baseline.baseline != self.baseline_name:
            raise spec_problem(
                f"a rule here compares with {self.baseline_name}.<metric>, not {self.rhs_baseline.baseline}"
            )
        if self.metric_names is not None:
            for name in (self.metric, self.rhs_baseline.metric if self.rhs_baseline else self.metric):
                if name not in self.metric_names:
                    raise spec_problem(
                        f"'{name}' is not a metric a rule here can use{did_you_mean(name, self.metric_names) or '.'} "
                        f"The metrics are: {', '.join(sorted(self.metric_names))}."
                    )
        if not self.text:
            self.text = f"{self.metric} {self.op} {self._rhs_text()}"
        return self

    def _rhs_text(self) -> str:
        if self.rhs_baseline is None:
            return f"{self.rhs_number:g}"
        factor, offset = self.rhs_baseline.factor, self.rhs_baseline.offset
        scaled = f" * {factor:g}" if factor != 1 else ""
        shifted = f" {'-' if offset < 0 else '+'} {abs(offset):g}" if offset else ""
        return f"{self.rhs_baseline.baseline}.{self.rhs_baseline.metric}{scaled}{shifted}"

    def threshold(self, production_metrics: dict | None = None) -> float | None:
        """The number the metric is compared with; None when it depends on a baseline value we lack."""
        if self.rhs_baseline is None:
            return self.rhs_number
        value = (production_metrics or {}).get(self.rhs_baseline.metric)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None
        return value * self.rhs_baseline.factor + self.rhs_baseline.offset

    def evaluate(self, metrics: dict, production_metrics: dict | None = None) -> RuleResult:
        """Check the rule against a candidate's metrics (and the baseline's, production's or the primary arm's)."""
        actual = metrics.get(self.metric)
        limit = self.threshold(production_metrics)
        if not isinstance(actual, int | float) or isinstance(actual, bool):
            return RuleResult(self.text, False, None, limit, f"metric '{self.metric}' was not computed")
        if limit is None:
            reason = f"no {self.baseline_name} value of '{self.rhs_baseline.metric}' to compare with"
            return RuleResult(self.text, None, actual, None, reason)
        passed = OPERATORS[self.op](actual, limit)
        verdict = "holds" if passed else "fails"
        return RuleResult(self.text, passed, actual, limit, f"{self.metric} = {actual:g} {verdict} {self.op} {limit:g}")


class CanaryCheck(PolicyRule):
    """One check of a canary analysis: a metric of the canary arm against a number or the primary arm's."""

    baseline_name = "primary"
    metric_names = frozenset(CANARY_METRICS)
    example = '"error_rate <= primary.error_rate + 0.01"'

    def evaluate(self, metrics: dict, production_metrics: dict | None = None) -> RuleResult:
        """As a gate's rule, except that a metric the canary arm could not be measured by (accuracy before any
        label came back, a positive rate of a regression) skips the check instead of failing it."""
        if metrics.get(self.metric) is None:
            reason = f"the canary's {self.metric} could not be measured (no such values in its window)"
            return RuleResult(self.text, None, None, self.threshold(production_metrics), reason)
        return super().evaluate(metrics, production_metrics)


def parse_rule(text: str, baseline: str = "production", example: str = EXAMPLE) -> dict:
    """The parsed parts of a rule, as PolicyRule fields; RuleError when it does not parse. ``baseline`` names what
    the right-hand side may compare with."""
    if len(text) > MAX_RULE_CHARS:
        raise RuleError(f"a rule has at most {MAX_RULE_CHARS} characters; this one has {len(text):,}")
    match = _RULE.match(text)
    if not match:
        raise RuleError(f'rule "{text}" does not parse: expected <metric> <op> <value>, e.g. {example}')
    parsed = {"text": " ".join(text.split()), "metric": match["metric"], "op": match["op"]}
    if match["number"] is not None:
        return {**parsed, "rhs_number": float(match["number"])}
    if match["baseline"] != baseline:
        raise RuleError(
            f"rule \"{text}\" compares with '{match['baseline']}.{match['base_metric']}'; only "
            f"{baseline}.<metric> can be compared with here, e.g. {example}"
        )
    factor = float(match["factor"]) if match["factor"] else 1.0
    offset = float(match["offset"]) if match["offset"] else 0.0
    if match["sign"] == "-":
        offset = -offset
    return {
        **parsed,
        "rhs_baseline": {"baseline": baseline, "metric": match["base_metric"], "factor": factor, "offset": offset},
    }
