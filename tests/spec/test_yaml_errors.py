"""Problems in the YAML itself: syntax, empty files, duplicate keys, tags, aliases; and nothing but SpecInvalid."""

from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_app.spec import SpecInvalid, parse_pipeline, validate_pipeline

from .files import HEADER, at, one_problem, steps_file


def test_a_colon_in_the_wrong_place_is_a_syntax_error_at_that_colon():
    error = one_problem("version: 1\nname: x\n  model: y\n")

    assert at(error) == (3, 8)
    assert "':' is not allowed here" in error.message and "indentation" in error.message


def test_a_tab_indent_is_reported_in_words():
    error = one_problem("version: 1\nstages:\n\t- a\n")

    assert at(error) == (3, 1)
    assert error.message == "tab characters cannot indent YAML; use spaces"


def test_an_unclosed_flow_list_names_the_line_it_opened_on():
    error = one_problem("version: 1\nstages: [a, b\nname: x\n")

    assert at(error) == (3, 5)
    assert "opened with '[' on line 2" in error.message


def test_an_unclosed_quote_is_reported():
    error = one_problem('version: 1\nname: "open\n')

    assert error.line == 3
    assert "quoted text that starts on line 2 is never closed" in error.message


def test_an_undefined_alias_is_reported():
    error = one_problem("version: 1\nname: *nothing\n")

    assert at(error) == (2, 7)
    assert "'*nothing' refers to an anchor '&nothing'" in error.message


def test_an_empty_file_is_one_error_at_the_start():
    for text in ("", "\n\n", "# only a comment\n"):
        error = one_problem(text)
        assert at(error) == (1, 1)
        assert "the file is empty" in error.message


def test_a_file_that_is_not_a_mapping_is_one_error_at_the_start():
    listed = one_problem("- version: 1\n- name: x\n")
    single = one_problem("just some words\n")

    assert at(listed) == (1, 1) and "not a list" in listed.message
    assert at(single) == (1, 1) and "not a single value" in single.message


def test_a_control_character_is_reported_where_it_is():
    error = one_problem("version: 1\nname: a\x00b\n")

    assert at(error) == (2, 8)
    assert "character YAML does not allow" in error.message


def test_a_duplicate_key_is_reported_at_its_second_occurrence():
    error = one_problem(steps_file("{name: a, type: notify}", header="version: 1\nname: p\nmodel: m\nname: q\n"))

    assert at(error) == (4, 1)
    assert error.message == "duplicate key 'name' (first given on line 2)"


def test_a_duplicate_key_inside_a_flow_mapping_is_reported():
    error = one_problem(steps_file("{name: a, type: notify, name: b}"))

    assert at(error) == (7, 33)
    assert "duplicate key 'name'" in error.message


def test_python_tags_are_refused():
    text = (
        HEADER
        + "description: !!python/object/apply:os.system [ls]\n"
        + steps_file("{name: a, type: notify}", header="").lstrip("\n")
    )

    errors = validate_pipeline(text)

    assert [(error.line, error.column) for error in errors] == [(4, 14)]
    assert "tag '!!python/object/apply:os.system' is not allowed" in errors[0].message


def test_merge_keys_work_and_keys_written_win():
    text = (
        HEADER + "stages:\n  - name: s\n    steps:\n      - &base {name: a, type: notify, message: hi}\n"
        "      - {<<: *base, name: b}\n"
    )

    spec = parse_pipeline(text)

    assert [(step.name, step.message) for _, step in spec.steps()] == [("a", "hi"), ("b", "hi")]


def test_alias_bombs_are_refused_without_expanding_them():
    lines = ["a: &a [x, x, x, x, x, x, x, x, x, x]"]
    lines += [
        f"{name}: &{name} [{', '.join([f'*{previous}'] * 10)}]"
        for previous, name in zip("abcdef", "bcdefg", strict=True)
    ]

    error = one_problem("\n".join(lines) + "\n")

    assert at(error) == (1, 1)
    assert "too many values" in error.message


def test_deeply_nested_brackets_are_refused_before_yaml_reads_them():
    error = one_problem("a: " + "[" * 3000 + "]" * 3000 + "\n")

    assert at(error) == (1, 104)
    assert error.message == "lists and mappings are nested more than 100 deep here"


def test_brackets_in_quotes_and_comments_do_not_count_as_nesting():
    text = steps_file("{name: a, type: notify, message: '" + "[" * 150 + "'}  # " + "{" * 150)

    assert validate_pipeline(text) == []


def test_very_deep_block_nesting_is_an_error_not_a_crash():
    error = one_problem("a:\n" + "".join(" " * depth + "- \n" for depth in range(1, 1200)))

    assert at(error) == (1, 1)
    assert error.message == "the file is nested too deeply to be a pipeline file"


def test_a_yaml_1_1_boolean_key_such_as_on_stays_a_key():
    text = (
        HEADER
        + "notifications:\n  - {on: [failed], to: [ops@example.com]}\n"
        + steps_file("{name: a, type: notify}", header="")
    )

    assert parse_pipeline(text).notifications[0].on == ["failed"]


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_gives_a_spec_or_spec_invalid(text):
    try:
        parse_pipeline(text)
    except SpecInvalid as exc:
        assert exc.errors and all(error.line >= 1 and error.column >= 1 for error in exc.errors)


yaml_words = st.sampled_from(
    [
        "version",
        "name",
        "model",
        "stages",
        "steps",
        "type",
        "train",
        "ingest",
        "1",
        "-",
        ":",
        " ",
        "\n",
        "  ",
        "{",
        "}",
        "[",
        "]",
        ",",
        "'",
        '"',
        "&a",
        "*a",
        "${inputs.x}",
        "estimator",
        "sklearn.tree.X",
        "cron",
        "#",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(yaml_words, max_size=40).map("".join))
def test_yaml_like_text_gives_a_spec_or_spec_invalid(text):
    try:
        parse_pipeline(HEADER + text)
    except SpecInvalid as exc:
        assert exc.errors
