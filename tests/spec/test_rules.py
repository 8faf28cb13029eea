"""Policy gate rules: parsing, the stored form, and evaluating them against metrics."""

import pytest

from pipelines_app.spec import PolicyRule, RuleError, parse_rule

from .files import at, one_problem, steps_file

TRAIN = "{name: fit, type: train, target: y, estimator: sklearn.tree.DecisionTreeClassifier}"
EVALUATE = "{name: ev, type: evaluate}"


def with_rules(*rules: str) -> str:
    """A policy gate after train and evaluate, with its rules on lines 12 onwards, each starting at column 13."""
    text = steps_file(TRAIN, EVALUATE, "name: gate").rstrip("\n")
    return text + "\n        type: policy_gate\n        rules:\n" + "".join(f"          - {rule}\n" for rule in rules)


def test_rules_parse_into_a_structured_form():
    assert parse_rule("roc_auc >= 0.85") == {
        "text": "roc_auc >= 0.85",
        "metric": "roc_auc",
        "op": ">=",
        "rhs_number": 0.85,
    }
    assert parse_rule("roc_auc>=production.roc_auc-0.01")["rhs_baseline"] == {
        "baseline": "production",
        "metric": "roc_auc",
        "factor": 1.0,
        "offset": -0.01,
    }
    assert parse_rule("f1 != production.f1 + 1e-3")["rhs_baseline"]["offset"] == 0.001
    assert parse_rule("log_loss < -0.5")["rhs_number"] == -0.5


@pytest.mark.parametrize(
    "text",
    [
        "roc_auc >> 0.8",
        "roc_auc >=",
        ">= 0.8",
        "roc auc >= 0.8",
        "roc_auc >= high",
        "roc_auc >= production.roc_auc / 2",
        "roc_auc = 0.8",
    ],
)
def test_rules_that_do_not_parse_say_what_is_expected(text):
    with pytest.raises(RuleError) as raised:
        parse_rule(text)

    assert str(raised.value) == (
        f'rule "{text}" does not parse: expected <metric> <op> <value>, e.g. "roc_auc >= 0.85"'
    )


def test_only_production_can_be_a_baseline():
    with pytest.raises(RuleError, match="only production.<metric> can be compared with"):
        parse_rule("roc_auc >= staging.roc_auc")


def test_a_bad_rule_is_reported_at_the_rule():
    error = one_problem(with_rules("roc_auc >= 0.7", "roc_auc >> 0.8"))

    assert at(error) == (13, 13)
    assert (
        error.message == 'rule "roc_auc >> 0.8" does not parse: expected <metric> <op> <value>, e.g. "roc_auc >= 0.85"'
    )
    assert error.path == "stages[0].steps[2].rules[1]"


def test_a_rule_must_be_text():
    error = one_problem(with_rules("{roc_auc: 0.8}"))

    assert at(error) == (12, 13)
    assert error.message == 'a rule is text such as "roc_auc >= 0.85", not a mapping'


def test_a_gate_needs_rules():
    error = one_problem(steps_file(TRAIN, EVALUATE, "{name: gate, type: policy_gate, rules: []}"))

    assert at(error) == (9, 48)
    assert error.message == "'rules' in step 'gate' must not be empty"


def test_stored_rules_validate_again():
    rule = PolicyRule.model_validate("roc_auc >= production.roc_auc - 0.01")

    assert PolicyRule.model_validate(rule.model_dump(mode="json")) == rule


def test_a_number_rule_passes_or_fails_on_the_metric():
    rule = PolicyRule.model_validate("roc_auc >= 0.85")

    assert rule.evaluate({"roc_auc": 0.9}).passed is True
    failed = rule.evaluate({"roc_auc": 0.8})
    assert failed.passed is False and failed.threshold == 0.85 and "fails" in failed.reason
    assert rule.evaluate({}).passed is False


def test_a_baseline_rule_compares_with_production_and_says_when_it_cannot():
    rule = PolicyRule.model_validate("roc_auc >= production.roc_auc - 0.01")

    assert rule.evaluate({"roc_auc": 0.895}, {"roc_auc": 0.9}).passed is True
    assert rule.evaluate({"roc_auc": 0.88}, {"roc_auc": 0.9}).passed is False
    unknown = rule.evaluate({"roc_auc": 0.88}, None)
    assert unknown.passed is None and "no production value" in unknown.reason


def test_a_gate_can_hold_the_threshold_and_expected_cost_chosen_by_cost():
    metrics = {"threshold": 0.62, "expected_cost": 0.41, "roc_auc": 0.9}
    assert PolicyRule.model_validate("expected_cost <= 0.5").evaluate(metrics).passed is True
    assert PolicyRule.model_validate("expected_cost <= 0.4").evaluate(metrics).passed is False
    assert PolicyRule.model_validate("threshold >= 0.5").evaluate(metrics).passed is True


def test_a_rule_longer_than_anyone_writes_is_refused_before_it_is_parsed():
    with pytest.raises(RuleError, match="at most 300 characters; this one has 100,013"):
        parse_rule("roc_auc >= " + "9" * 100_000 + ".5")
