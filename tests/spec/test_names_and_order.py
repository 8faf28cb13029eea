"""Whole-file checks: unique names, and steps that need another step before them."""

from .files import at, column_of, one_problem, problems, steps_file

FIT = "{name: fit, type: train, target: y, estimator: sklearn.tree.DecisionTreeClassifier}"


def test_duplicate_step_names_are_reported_at_the_second_name():
    step = "{name: a, type: notify}"

    found = problems(steps_file(step, step))

    assert [(at(error), error.message) for error in found] == [
        (
            (8, column_of(step, "a,")),
            "step name 'a' is used twice (first on line 7); step names are unique across the pipeline",
        ),
    ]


def test_duplicate_step_names_across_stages_are_reported():
    text = (
        "version: 1\nname: p\nmodel: m\nstages:\n"
        "  - {name: one, steps: [{name: a, type: notify}]}\n"
        "  - {name: two, steps: [{name: a, type: notify}]}\n"
    )

    error = one_problem(text)

    assert at(error) == (6, 32)
    assert error.message.startswith("step name 'a' is used twice (first on line 5)")


def test_duplicate_stage_names_are_reported_at_the_second_name():
    text = (
        "version: 1\nname: p\nmodel: m\nstages:\n"
        "  - {name: one, steps: [{name: a, type: notify}]}\n"
        "  - {name: one, steps: [{name: b, type: notify}]}\n"
    )

    error = one_problem(text)

    assert at(error) == (6, 12)
    assert error.message == "stage name 'one' is used twice (first on line 5); stage names are unique"
    assert error.path == "stages[1].name"


def test_evaluate_needs_a_train_step_before_it():
    step = "{name: ev, type: evaluate}"

    error = one_problem(steps_file(step, FIT))

    assert at(error) == (7, column_of(step, "evaluate"))
    assert error.message == "evaluate step 'ev' has no train step before it to evaluate"


def test_evaluate_in_the_same_parallel_stage_as_train_has_nothing_to_evaluate():
    text = (
        "version: 1\nname: p\nmodel: m\nstages:\n  - name: s\n    parallel: true\n    steps:\n"
        f"      - {FIT}\n      - {{name: ev, type: evaluate}}\n"
    )

    error = one_problem(text)

    assert at(error) == (9, 26)
    assert "in the same parallel stage" in error.message


def test_evaluate_model_step_must_be_an_earlier_train_step():
    typo = "{name: ev, type: evaluate, model_step: fitt}"
    not_train = "{name: ev, type: evaluate, model_step: tell}"

    unknown = one_problem(steps_file(FIT, typo))
    wrong_type = one_problem(steps_file("{name: tell, type: notify}", FIT, not_train))

    assert at(unknown) == (8, column_of(typo, "fitt"))
    assert unknown.message == "model_step 'fitt' is not a step; did you mean 'fit'? Train steps: fit"
    assert wrong_type.message == "model_step 'tell' is a notify step, not a train step"


def test_policy_gate_needs_an_evaluate_step_before_it():
    step = "{name: gate, type: policy_gate, rules: ['roc_auc >= 0.8']}"

    error = one_problem(steps_file(FIT, step))

    assert at(error) == (8, column_of(step, "policy_gate"))
    assert error.message == (
        "policy_gate step 'gate' has no evaluate step before it to supply the metrics its rules check"
    )
