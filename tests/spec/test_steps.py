"""The keys of each step type, and what is wrong with them."""

import pytest

from pipelines_app.spec import DurationError, IngestStep, parse_duration, parse_pipeline

from .files import at, column_of, one_problem, problems, steps_file


def test_unknown_step_key_suggests_the_known_one():
    step = "{name: fit, type: notify, retires: 2}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "retires"))
    assert error.message == "unknown key 'retires' in step 'fit'; did you mean 'retries'?"
    assert error.path == "stages[0].steps[0].retires"


def test_unknown_step_key_of_another_type_is_unknown_here():
    step = "{name: n, type: notify, environment: staging}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "environment"))
    assert error.message.startswith("unknown key 'environment' in step 'n'; known keys: channels, message, name")


def test_a_step_of_an_unknown_type_reports_only_the_type():
    step = "{name: x, type: trian, target: y, bogus: 1, message: '${steps.nothing.x}'}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "trian"))
    assert error.message == "unknown step type 'trian'; did you mean 'train'?"


def test_an_unknown_type_far_from_any_lists_the_known_types():
    step = "{name: x, type: frobnicate}"

    error = one_problem(steps_file(step))

    assert error.message == (
        "unknown step type 'frobnicate'; known types: approval, deploy, evaluate, ingest, notify, policy_gate, "
        "rollback, train, validate_data"
    )


def test_a_step_needs_a_type():
    error = one_problem(steps_file("{name: q}"))

    assert at(error) == (7, 9)
    assert error.message.startswith("step 'q' needs 'type', one of: approval, deploy")


def test_a_step_needs_a_name_and_is_then_named_by_position():
    error = one_problem(steps_file("{type: notify}"))

    assert at(error) == (7, 9)
    assert error.message == "step 1 of stage 's' needs 'name'"


def test_a_step_must_be_a_mapping():
    error = one_problem(steps_file("just words"))

    assert at(error) == (7, 9)
    assert error.message == "each step is a mapping with 'name' and 'type', not 'just words'"


def test_step_overrides_are_checked():
    step = "{name: a, type: notify, retries: 1.5, on_failure: retry}"

    found = problems(steps_file(step))

    assert [(at(error), error.message) for error in found] == [
        ((7, column_of(step, "1.5")), "1.5 is not a whole number ('retries' in step 'a')"),
        ((7, column_of(step, "retry}")), "unknown on_failure 'retry' in step 'a'; expected abort or continue"),
    ]


def test_ingest_needs_a_dataset():
    error = one_problem(steps_file("{name: load, type: ingest}"))

    assert at(error) == (7, 9)
    assert error.message == "step 'load' needs 'dataset'"


def test_ingest_dataset_may_pin_a_version_from_one():
    step = "{name: load, type: ingest, dataset: 'cards@0'}"

    error = one_problem(steps_file(step))
    spec = parse_pipeline(steps_file("{name: load, type: ingest, dataset: cards@3}"))

    assert at(error) == (7, column_of(step, "'cards@0'"))
    assert error.message == "dataset 'cards@0' asks for version 0; versions are numbered from 1"
    step = spec.step("load")
    assert isinstance(step, IngestStep) and (step.dataset_slug, step.dataset_version) == ("cards", 3)


def test_ingest_dataset_must_be_a_slug():
    step = "{name: load, type: ingest, dataset: 'my data'}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "'my data'"))
    assert error.message.startswith("dataset 'my data' is not a dataset slug or 'slug@version'")


def test_validate_data_leakage_threshold_is_between_one_half_and_one():
    step = "{name: v, type: validate_data, leakage_auc_max: 0.3}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "0.3"))
    assert error.message == "'leakage_auc_max' in step 'v' must be at least 0.5, got 0.3"


def test_train_needs_target_and_estimator():
    found = problems(steps_file("{name: fit, type: train}"))

    assert [(at(error), error.message) for error in found] == [
        ((7, 9), "step 'fit' needs 'estimator'"),
        ((7, 9), "step 'fit' needs 'target'"),
    ]


def test_train_test_size_is_strictly_between_zero_and_one():
    step = "{name: fit, type: train, target: y, estimator: sklearn.tree.DecisionTreeClassifier, test_size: 1}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "1}"))
    assert error.message == "'test_size' in step 'fit' must be less than 1, got 1"


def test_train_target_cannot_be_a_feature():
    step = "{name: fit, type: train, target: y, estimator: sklearn.tree.DecisionTreeClassifier, features: [a, y]}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "y]"))
    assert error.message == "the target 'y' cannot also be a feature"


def test_train_positive_label_is_for_classification():
    step = (
        "{name: fit, type: train, target: y, estimator: sklearn.tree.DecisionTreeRegressor, task: regression, "
        "positive_label: 1}"
    )

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "positive_label"))
    assert error.message == "positive_label only applies to classification, but task is regression"


def test_a_typed_field_cannot_hold_a_reference():
    step = (
        "{name: fit, type: train, target: y, estimator: sklearn.tree.DecisionTreeClassifier, random_state: '${run.id}'}"
    )

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "'${run.id}'"))
    assert error.message.startswith("'${run.id}' cannot be used here: references are only filled in inside params")


def test_evaluate_sensitive_features_is_a_list():
    steps = (
        "{name: fit, type: train, target: y, estimator: sklearn.tree.DecisionTreeClassifier}",
        "{name: ev, type: evaluate, sensitive_features: owner}",
    )

    error = one_problem(steps_file(*steps))

    assert at(error) == (8, column_of(steps[1], "owner"))
    assert error.message == "'sensitive_features' in step 'ev' must be a list, e.g. [a, b], not 'owner'"


def test_an_approval_needs_at_least_one_approver_group():
    missing = one_problem(steps_file("{name: ok, type: approval}"))
    empty = one_problem(steps_file("{name: ok, type: approval, approvers: []}"))

    assert at(missing) == (7, 9)
    assert "an approval needs at least one approver group" in missing.message
    assert at(empty) == (7, column_of("{name: ok, type: approval, approvers: []}", "[]"))
    assert "an approval needs at least one approver group" in empty.message


def test_approval_timeout_is_a_duration():
    step = "{name: ok, type: approval, approvers: [reviewers], timeout: 1x}"
    unitless = "{name: ok, type: approval, approvers: [reviewers], timeout: 3600}"

    error = one_problem(steps_file(step))
    no_unit = one_problem(steps_file(unitless))

    assert at(error) == (7, column_of(step, "1x"))
    assert error.message.startswith("timeout '1x' is not a duration; write a number with a unit, e.g. \"30m\"")
    assert no_unit.message == "timeout 3600 needs a unit, e.g. '3600s' or '3600m'"


def test_approval_timeouts_are_parsed_into_seconds():
    spec = parse_pipeline(
        steps_file(
            "{name: a, type: approval, approvers: [r], timeout: 1h30m}",
            "{name: b, type: approval, approvers: [r]}",
            "{name: c, type: approval, approvers: [r], timeout: 2d}",
        )
    )

    assert [spec.step(name).timeout_seconds for name in "abc"] == [5400, 86400, 172800]
    assert spec.step("b").on_timeout == "reject" and spec.step("b").min_approvals == 1


def test_approval_needs_one_or_more_approvals():
    step = "{name: ok, type: approval, approvers: [reviewers], min_approvals: 0}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "0}"))
    assert error.message == "'min_approvals' in step 'ok' must be at least 1, got 0"


def test_a_canary_deploy_needs_a_percent():
    step = "{name: d, type: deploy, environment: production, strategy: canary}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "canary}"))
    assert error.message.startswith("a canary deploy needs 'canary_percent'")


def test_canary_percent_with_another_strategy_is_an_error_at_the_key():
    step = "{name: d, type: deploy, environment: production, canary_percent: 10}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "canary_percent"))
    assert error.message == "canary_percent only applies to strategy canary, not replace"


def test_canary_percent_is_between_1_and_99():
    step = "{name: d, type: deploy, environment: production, strategy: canary, canary_percent: 100}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "100"))
    assert error.message == "'canary_percent' in step 'd' must be at most 99, got 100"


def test_deploy_strategy_must_be_known():
    step = "{name: d, type: deploy, environment: production, strategy: shadw}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "shadw"))
    assert error.message == (
        "unknown strategy 'shadw' in step 'd'; expected replace, canary or shadow; did you mean 'shadow'?"
    )


def test_rollback_needs_an_environment():
    error = one_problem(steps_file("{name: back, type: rollback}"))

    assert at(error) == (7, 9)
    assert error.message == "step 'back' needs 'environment'"


def test_notify_channels_are_email_or_webhook():
    step = "{name: n, type: notify, channels: [email, sms]}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "sms"))
    assert error.message == "unknown channel 'sms' in step 'n'; expected email or webhook"


def test_notify_defaults_to_email():
    spec = parse_pipeline(steps_file("{name: n, type: notify, to: ['group:editors', ops@example.com]}"))

    assert spec.step("n").channels == ["email"]
    assert spec.step("n").to == ["group:editors", "ops@example.com"]


@pytest.mark.parametrize(
    ("text", "seconds"), [("30s", 30), ("30m", 1800), ("24h", 86400), ("2d", 172800), ("1h30m", 5400), ("1d 2h", 93600)]
)
def test_durations_are_read_in_seconds(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "1x", "h", "30m1h", "-1h", "0m", "1.5h"])
def test_bad_durations_are_refused(text):
    with pytest.raises(DurationError):
        parse_duration(text)


def test_a_step_type_that_is_not_a_word_lists_the_types():
    step = "{name: a, type: [train]}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "[train]"))
    assert error.message.startswith("the step type is one of: approval, deploy") and error.message.endswith(
        "not a list"
    )


@pytest.mark.parametrize(
    ("costs", "expected"),
    [
        ("{false_positive: -1, false_negative: 1}", "must be at least 0, got -1"),
        ("{false_positive: 0, false_negative: 0}", "at least one of false_positive and false_negative"),
        ("{false_positive: 1}", "false_negative"),
        ("{false_positive: 1, false_negative: 1, surprise: 2}", "surprise"),
        ("{false_positive: lots, false_negative: 1}", "number"),
    ],
)
def test_evaluate_costs_are_two_costs_not_both_zero(costs, expected):
    steps = (
        "{name: fit, type: train, target: y, estimator: sklearn.tree.DecisionTreeClassifier}",
        f"{{name: ev, type: evaluate, costs: {costs}}}",
    )
    error = one_problem(steps_file(*steps))
    assert expected in error.message


def test_evaluate_costs_parse():
    steps = (
        "{name: fit, type: train, target: y, estimator: sklearn.tree.DecisionTreeClassifier}",
        "{name: ev, type: evaluate, costs: {false_positive: 5, false_negative: 1.5}}",
    )
    assert problems(steps_file(*steps)) == []
