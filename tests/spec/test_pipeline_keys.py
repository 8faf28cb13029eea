"""The top of the file: version, name, model, inputs, failure_strategy, notifications, unknown and missing keys."""

from pipelines_app.spec import InputsInvalid, parse_pipeline, slugify

from .files import at, one_problem, problems, steps_file

NOTIFY = "{name: a, type: notify}"


def with_header(header: str) -> str:
    return steps_file(NOTIFY, header=header)


def test_another_version_is_one_error_and_nothing_else():
    error = one_problem("version: 2\nname: x\nsomething_new: true\n")

    assert at(error) == (1, 10)
    assert error.message == "unsupported version 2; this server reads version 1"


def test_version_must_be_the_number_one():
    error = one_problem(with_header("version: '1'\nname: p\nmodel: m\n"))

    assert at(error) == (1, 10)
    assert error.message == "unsupported version '1'; this server reads version 1"


def test_missing_required_keys_point_at_the_top_mapping():
    found = problems("description: nothing else\n")

    assert [(at(error), error.message) for error in found] == [
        ((1, 1), "the pipeline needs 'model'"),
        ((1, 1), "the pipeline needs 'name'"),
        ((1, 1), "the pipeline needs 'stages'"),
        ((1, 1), "the pipeline needs 'version' (write 'version: 1' at the top of the file)"),
    ]


def test_unknown_top_level_key_suggests_the_known_one_and_drops_the_missing_twin():
    error = one_problem("version: 1\nname: p\nmodel: m\nstage:\n  - {name: s, steps: [{name: a, type: notify}]}\n")

    assert at(error) == (4, 1)
    assert error.message == "unknown key 'stage' in the pipeline; did you mean 'stages'?"
    assert error.path == "stage"


def test_unknown_key_without_a_close_match_lists_the_known_keys():
    error = one_problem(with_header("version: 1\nname: p\nmodel: m\nzzz: 1\n"))

    assert at(error) == (4, 1)
    assert "unknown key 'zzz' in the pipeline; known keys: description, failure_strategy" in error.message


def test_name_is_required_to_be_text_and_not_blank():
    number = one_problem(with_header("version: 1\nname: 123\nmodel: m\n"))
    blank = one_problem(with_header("version: 1\nname: '  '\nmodel: m\n"))

    assert at(number) == (2, 7) and number.message == "123 is not text ('name' in the pipeline); put it in quotes"
    assert at(blank) == (2, 7) and blank.message == "'name' in the pipeline must not be blank"


def test_slug_is_derived_from_the_name():
    spec = parse_pipeline(with_header("version: 1\nname: Crédit Card -- Approval v2!\nmodel: m\n"))

    assert spec.slug == "credit-card-approval-v2"
    assert slugify("  Hello, World  ") == "hello-world"


def test_a_name_without_letters_or_digits_has_no_slug():
    error = one_problem(with_header("version: 1\nname: '!!!'\nmodel: m\n"))

    assert at(error) == (2, 7)
    assert "no letters or digits" in error.message


def test_model_must_be_slug_like():
    error = one_problem(with_header("version: 1\nname: p\nmodel: my model\n"))

    assert at(error) == (3, 8)
    assert error.message == "model 'my model' may only contain letters, digits, '.', '_' and '-'"


def test_input_default_must_match_its_type():
    error = one_problem(with_header("version: 1\nname: p\nmodel: m\ninputs:\n  n: {type: integer, default: abc}\n"))

    assert at(error) == (5, 31)
    assert error.message == "default 'abc' is not a whole number"
    assert error.path == "inputs.n.default"


def test_input_default_must_respect_min_max_and_choices():
    below = one_problem(
        with_header("version: 1\nname: p\nmodel: m\ninputs:\n  n: {type: number, default: 1, min: 5}\n")
    )
    outside = one_problem(
        with_header("version: 1\nname: p\nmodel: m\ninputs:\n  c: {type: string, default: d, choices: [a, b]}\n")
    )

    assert at(below) == (5, 30) and below.message == "default 1 is below the minimum 5"
    assert at(outside) == (5, 30) and outside.message == "default 'd' is not one of the choices 'a', 'b'"


def test_input_min_only_applies_to_numbers():
    error = one_problem(with_header("version: 1\nname: p\nmodel: m\ninputs:\n  s: {type: string, min: 1}\n"))

    assert at(error) == (5, 21)
    assert error.message == "min only applies to integer and number inputs, not string"


def test_input_type_must_be_known():
    error = one_problem(with_header("version: 1\nname: p\nmodel: m\ninputs:\n  s: {type: int}\n"))

    assert at(error) == (5, 13)
    assert error.message == (
        "unknown type 'int' in input 's'; expected integer, number, string or boolean; did you mean 'integer'?"
    )


def test_input_names_must_be_words():
    error = one_problem(with_header("version: 1\nname: p\nmodel: m\ninputs:\n  bad name: {type: integer}\n"))

    assert at(error) == (5, 3)
    assert "input name 'bad name' must be a word" in error.message


def test_runtime_inputs_are_converted_defaulted_and_checked():
    spec = parse_pipeline(
        with_header(
            "version: 1\nname: p\nmodel: m\ninputs:\n  n: {type: integer, default: 5, min: 1}\n"
            "  flag: {type: boolean}\n"
        )
    )

    assert spec.resolve_inputs({"flag": "true"}) == {"n": 5, "flag": True}
    assert spec.resolve_inputs({"n": "7", "flag": False}) == {"n": 7, "flag": False}
    try:
        spec.resolve_inputs({"n": 0, "other": 1})
    except InputsInvalid as exc:
        assert set(exc.problems) == {"n", "flag", "other"}
        assert "below the minimum 1" in exc.problems["n"]
    else:
        raise AssertionError("resolve_inputs accepted bad inputs")


def test_failure_strategy_values_are_checked_each_at_its_value():
    found = problems(
        with_header(
            "version: 1\nname: p\nmodel: m\nfailure_strategy: {retries: -1, retry_backoff_s: x, on_failure: abortt}\n"
        )
    )

    assert [(at(error), error.message) for error in found] == [
        ((4, 29), "'retries' in failure_strategy must be at least 0, got -1"),
        ((4, 50), "'x' is not a number ('retry_backoff_s' in failure_strategy)"),
        ((4, 65), "unknown on_failure 'abortt' in failure_strategy; expected abort or continue; did you mean 'abort'?"),
    ]


def test_failure_strategy_defaults_and_step_overrides():
    spec = parse_pipeline(steps_file("{name: a, type: notify, retries: 3}", "{name: b, type: notify}"))

    assert spec.failure_strategy.model_dump() == {"retries": 0, "retry_backoff_s": 10, "on_failure": "abort"}
    assert spec.failure_strategy_for(spec.step("a")).retries == 3
    assert spec.failure_strategy_for(spec.step("b")).retries == 0


def test_notification_events_and_recipients_are_checked():
    found = problems(
        with_header(
            "version: 1\nname: p\nmodel: m\nnotifications:\n"
            "  - {on: [faild], to: [bob, 'webhook:ftp://x', 'groups:ops', 'group:ops', a@b.io, 'webhook:https://h.io/x']}\n"
        )
    )

    assert [(at(error), error.message) for error in found] == [
        (
            (5, 11),
            "unknown event 'faild' in notification 1; expected queued, running, waiting_for_approval, "
            "succeeded, failed, cancelled, rejected or timed_out; did you mean 'failed'?",
        ),
        ((5, 24), "recipient 'bob' is not 'group:<name>', an e-mail address or 'webhook:<http(s) url>'"),
        (
            (5, 29),
            "recipient 'webhook:ftp://x' needs an http(s) address after 'webhook:', "
            "e.g. 'webhook:https://hooks.example.com/ml'",
        ),
        ((5, 48), "recipient 'groups:ops' starts with 'groups:'; did you mean 'group'?"),
    ]


def test_a_notification_needs_events_and_recipients():
    error = one_problem(with_header("version: 1\nname: p\nmodel: m\nnotifications:\n  - {on: [failed], to: []}\n"))

    assert at(error) == (5, 24)
    assert error.message == "'to' in notification 1 must not be empty"


def test_a_pipeline_needs_a_stage_and_a_stage_needs_a_step():
    no_stage = one_problem("version: 1\nname: p\nmodel: m\nstages: []\n")
    no_step = one_problem("version: 1\nname: p\nmodel: m\nstages:\n  - name: s\n    steps: []\n")

    assert at(no_stage) == (4, 9) and no_stage.message == "the pipeline needs at least one stage"
    assert at(no_step) == (6, 12) and no_step.message == "stage 's' needs at least one step"


def test_stage_parallel_must_be_true_or_false():
    error = one_problem(
        "version: 1\nname: p\nmodel: m\nstages:\n  - name: s\n    parallel: maybe\n"
        "    steps: [{name: a, type: notify}]\n"
    )

    assert at(error) == (6, 15)
    assert error.message == "'maybe' is not true or false ('parallel' in stage 's')"
