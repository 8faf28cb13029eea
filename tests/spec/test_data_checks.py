"""The checks of a validate_data step."""

from pipelines_app.spec import parse_pipeline

from .files import at, one_problem, steps_file


def with_checks(*checks: str) -> str:
    """A validate_data step whose checks are on lines 10 onwards, each starting at column 13."""
    header = "version: 1\nname: p\nmodel: m\n"
    text = steps_file("name: v", header=header).rstrip("\n")
    text += "\n        type: validate_data\n        checks:\n" + "".join(f"          - {check}\n" for check in checks)
    return text


def test_every_kind_of_check_is_accepted_and_stored_without_empty_keys():
    checks = [
        "{row_count_min: 500}",
        "{row_count_max: 100000}",
        "{missing_fraction_max: 0.05}",
        "{missing_fraction_max: 0.2, column: income}",
        "{column: age, min: 18, max: 100}",
        "{column: income, min: 0}",
        "{column: housing, allowed: [own, rent]}",
        "{column: id, not_null: true}",
        "{column: id, unique: true}",
    ]

    spec = parse_pipeline(with_checks(*checks))

    stored = spec.model_dump(mode="json")["stages"][0]["steps"][0]["checks"]
    assert stored[0] == {"row_count_min": 500}
    assert stored[4] == {"column": "age", "min": 18, "max": 100}
    assert [check.kind for check in spec.step("v").checks] == [
        "row_count_min",
        "row_count_max",
        "missing_fraction_max",
        "missing_fraction_max",
        "range",
        "range",
        "allowed",
        "not_null",
        "unique",
    ]


def test_an_unknown_check_key_lists_the_known_checks():
    error = one_problem(with_checks("{row_count_minimum: 5}"))

    assert at(error) == (10, 14)
    assert error.message.startswith(
        "unknown key 'row_count_minimum' in check 1 of step 'v'; did you mean 'row_count_min'? Known checks: "
        "row_count_min, row_count_max, missing_fraction_max"
    )


def test_a_check_that_checks_nothing_lists_the_known_checks():
    error = one_problem(with_checks("{row_count_min: 1}", "{column: a}"))

    assert at(error) == (11, 13)
    assert error.message.startswith("this check does not say what to check; known checks: row_count_min")


def test_a_check_that_is_not_a_mapping_lists_the_known_checks():
    error = one_problem(with_checks("row_count_min"))

    assert at(error) == (10, 13)
    assert error.message.startswith("a check is a mapping such as {row_count_min: 500}, not 'row_count_min'")
    assert "known checks" in error.message


def test_a_check_does_one_thing():
    error = one_problem(with_checks("{column: a, allowed: [1], unique: true}"))

    assert at(error) == (10, 13)
    assert error.message == "this check mixes allowed and unique; write each check as its own item"


def test_a_column_check_needs_a_column():
    error = one_problem(with_checks("{min: 0}"))

    assert at(error) == (10, 13)
    assert error.message == "a range check needs 'column', the column it checks"


def test_a_row_count_check_has_no_column():
    error = one_problem(with_checks("{row_count_min: 5, column: x}"))

    assert at(error) == (10, 32)
    assert error.message == "row_count_min counts the rows of the whole table; remove 'column'"


def test_a_range_runs_from_min_to_max():
    error = one_problem(with_checks("{column: a, min: 5, max: 1}"))

    assert at(error) == (10, 30)
    assert error.message == "min 5 is greater than max 1"


def test_missing_fraction_is_a_fraction():
    error = one_problem(with_checks("{missing_fraction_max: 5}"))

    assert at(error) == (10, 36)
    assert error.message == "'missing_fraction_max' in check 1 of step 'v' must be at most 1, got 5"


def test_not_null_false_checks_nothing():
    error = one_problem(with_checks("{column: a, not_null: false}"))

    assert at(error) == (10, 35)
    assert error.message == "'not_null: false' checks nothing; write true or remove the check"
