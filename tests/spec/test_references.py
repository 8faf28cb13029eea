"""${...} references: to declared inputs, run values, and outputs of steps that ran before."""

import pytest

from pipelines_app.spec import validate_pipeline
from pipelines_app.spec.references import UnfilledReference, fill

from .files import at, column_of, one_problem, problems, steps_file

HEADER = "version: 1\nname: p\nmodel: m\ninputs:\n  n_estimators: {type: integer, default: 100}\n"
LOAD = "{name: load, type: ingest, dataset: cards}"
FIT = "{name: fit, type: train, target: y, estimator: sklearn.tree.DecisionTreeClassifier}"
EVALUATE = "{name: ev, type: evaluate}"


def notify(message: str) -> str:
    return f"{{name: tell, type: notify, message: '{message}'}}"


def file_with(*steps: str) -> str:
    """Steps on lines 9 onwards (the header declares one input), each starting at column 9."""
    return steps_file(*steps, header=HEADER)


def test_every_kind_of_valid_reference_is_accepted():
    message = (
        "${inputs.n_estimators} ${model} ${pipeline} ${run.id} ${run.model_version} ${run.trigger} "
        "${steps.load.rows} ${steps.load.sha256} ${steps.load.dataset_version} ${steps.fit.model_version} "
        "${steps.ev.roc_auc} ${ steps.fit.sha256 }"
    )

    assert validate_pipeline(file_with(LOAD, FIT, EVALUATE, notify(message))) == []


def test_an_undeclared_input_is_named_with_a_suggestion():
    step = notify("trees: ${inputs.n_estimator}")

    error = one_problem(file_with(step))

    assert at(error) == (9, column_of(step, "${"))
    assert error.message == (
        "'${inputs.n_estimator}' refers to input 'n_estimator', which is not declared; did you mean 'n_estimators'?"
    )
    assert error.path == "stages[0].steps[0].message"


def test_an_input_reference_without_inputs_says_none_are_declared():
    step = notify("${inputs.x}")

    error = one_problem(steps_file(step))

    assert error.message == "'${inputs.x}' refers to input 'x', but the pipeline declares no inputs"


def test_a_reference_to_a_missing_step_suggests_one():
    step = notify("${steps.fitt.model_version}")

    error = one_problem(file_with(FIT, step))

    assert at(error) == (10, column_of(step, "${"))
    assert (
        error.message
        == "'${steps.fitt.model_version}' refers to step 'fitt', which does not exist; did you mean 'fit'?"
    )


def test_a_reference_to_a_later_step_is_an_error():
    step = notify("${steps.fit.model_version}")

    error = one_problem(file_with(step, FIT))

    assert at(error) == (9, column_of(step, "${"))
    assert error.message == (
        "'${steps.fit.model_version}': step 'fit' runs after it, so its outputs do not exist yet for step 'tell'"
    )


def test_a_reference_within_a_parallel_stage_is_an_error():
    text = (
        HEADER + "stages:\n  - name: s\n    parallel: true\n    steps:\n"
        f"      - {LOAD}\n      - {notify('${steps.load.rows}')}\n"
    )

    error = one_problem(text)

    assert at(error) == (11, 9 + notify("${steps.load.rows}").index("${"))
    assert "runs at the same time as it (the stage is parallel)" in error.message


def test_a_step_cannot_read_its_own_outputs():
    step = notify("${steps.tell.x}")

    error = one_problem(steps_file(step))

    assert "refers to step 'tell' itself" in error.message


def test_an_unknown_output_lists_the_outputs_of_that_type():
    step = notify("${steps.fit.model_versoin}")

    error = one_problem(file_with(FIT, step))

    assert error.message == (
        "'${steps.fit.model_versoin}': step 'fit' (train) has no output 'model_versoin'; "
        "did you mean 'model_version'? Its outputs: model_version, sha256"
    )


def test_a_step_type_without_outputs_says_so():
    step = notify("${steps.other.x}")

    error = one_problem(file_with("{name: other, type: notify}", step))

    assert error.message == "'${steps.other.x}': a notify step such as 'other' has no outputs to refer to"


def test_unknown_run_values_and_names_get_suggestions():
    step = notify("${run.idd} ${modle}")

    found = problems(file_with(step))

    assert [(at(error), error.message) for error in found] == [
        (
            (9, column_of(step, "${run")),
            "'${run.idd}' does not exist; did you mean '${run.id}'? A run has ${run.id}, ${run.model_version}, "
            "${run.trigger}",
        ),
        (
            (9, column_of(step, "${modle")),
            "unknown reference '${modle}'; did you mean '${model}'? References are ${inputs.<name>}, "
            "${steps.<step>.<output>}, ${run.id}, ${run.model_version}, ${run.trigger}, ${model}, ${pipeline}",
        ),
    ]


def test_an_unclosed_reference_is_reported():
    step = notify("v${run.id")

    error = one_problem(file_with(step))

    assert at(error) == (9, column_of(step, "${"))
    assert error.message == "'${run.id' is missing its closing '}'"


def test_references_outside_steps_are_checked_too():
    text = HEADER.replace("name: p\n", "name: p\ndescription: 'made by ${pipline}'\n") + steps_file(
        "{name: a, type: notify}", header=""
    )

    error = one_problem(text)

    assert at(error) == (3, 23)
    assert error.message.startswith("unknown reference '${pipline}'; did you mean '${pipeline}'?")


# What a run has for the file of file_with(LOAD, FIT, EVALUATE, ...): the mapping the engine builds.
RUN_VALUES = {
    "inputs.n_estimators": 300,
    "model": "m",
    "pipeline": "p",
    "run.id": 41,
    "run.model_version": 3,
    "run.trigger": "schedule",
    "steps.load.rows": 1319,
    "steps.load.sha256": "ab12",
    "steps.load.dataset_version": 2,
    "steps.fit.model_version": 3,
    "steps.fit.sha256": "cd34",
    "steps.ev.roc_auc": 0.91,
}


def test_every_reference_validation_accepts_is_filled_into_text():
    message = (
        "trees ${inputs.n_estimators}, ${model} by ${pipeline}, run ${run.id} v${run.model_version} "
        "(${run.trigger}); ${steps.load.rows} rows of ${steps.load.dataset_version}/${steps.load.sha256}, "
        "v${steps.fit.model_version} ${ steps.fit.sha256 } auc ${steps.ev.roc_auc}"
    )
    assert validate_pipeline(file_with(LOAD, FIT, EVALUATE, notify(message))) == []

    assert fill(message, RUN_VALUES) == (
        "trees 300, m by p, run 41 v3 (schedule); 1319 rows of 2/ab12, v3 cd34 auc 0.91"
    )


def test_a_whole_value_reference_keeps_the_type_of_its_value():
    values = {"inputs.trees": 300, "inputs.rate": 0.1, "inputs.warm": True, "steps.ev.roc_auc": 0.91}

    assert fill("${inputs.trees}", values) == 300
    assert fill("${inputs.rate}", values) == 0.1
    assert fill("${ inputs.warm }", values) is True
    assert fill("${steps.ev.roc_auc}", values) == 0.91


def test_a_reference_inside_text_is_written_as_the_file_would_write_it():
    values = {"inputs.warm": False, "inputs.layers": [8, 4], "inputs.note": None}

    assert fill("warm=${inputs.warm} layers=${inputs.layers} note=${inputs.note}", values) == (
        "warm=false layers=[8, 4] note=null"
    )


def test_params_are_filled_at_any_depth_and_their_keys_are_left_alone():
    params = {
        "n_estimators": "${inputs.trees}",
        "hidden_layer_sizes": ["${inputs.units}", 4],
        "class_weight": {"yes": "${inputs.weight}", "${inputs.trees}": 1},
        "learning_rate": 0.1,
        "name": "run-${run.id}",
    }

    filled = fill(params, {"inputs.trees": 300, "inputs.units": 16, "inputs.weight": 2.5, "run.id": 7})

    assert filled == {
        "n_estimators": 300,
        "hidden_layer_sizes": [16, 4],
        "class_weight": {"yes": 2.5, "${inputs.trees}": 1},
        "learning_rate": 0.1,
        "name": "run-7",
    }
    assert params["n_estimators"] == "${inputs.trees}"  # the spec's own value is not changed


def test_values_without_references_come_back_as_they_are():
    assert fill("no references, $5 and {braces}", {}) == "no references, $5 and {braces}"
    assert fill(None, {}) is None
    assert fill(42, {}) == 42


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "${steps.load.rows} rows",
            "'${steps.load.rows}' has no value in this run: step 'load' has not given an output 'rows' (yet)",
        ),
        (
            "v${run.model_version}",
            "'${run.model_version}' has no value in this run: no model version has been registered before this step",
        ),
        ("${inputs.trees}", "'${inputs.trees}' has no value in this run"),
    ],
)
def test_a_reference_the_run_has_no_value_for_is_a_clear_error(text, message):
    with pytest.raises(UnfilledReference) as raised:
        fill({"params": [text]}, {"run.id": 1})

    assert str(raised.value) == message
