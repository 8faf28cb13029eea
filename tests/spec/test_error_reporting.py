"""How problems are handed back: SpecError, SpecInvalid, order, the cap, and the Django-free import."""

import subprocess
import sys
from pathlib import Path

import pytest

from pipelines_app.spec import MAX_ERRORS, SpecError, SpecInvalid, parse_pipeline, validate_pipeline

from .files import steps_file

ROOT = Path(__file__).resolve().parents[2]


def test_a_spec_error_reads_as_a_line_and_a_sentence():
    error = SpecError(14, 9, "unknown step type 'trian'; did you mean 'train'?", "stages[1].steps[0].type")

    assert str(error) == "line 14, column 9: unknown step type 'trian'; did you mean 'train'?"
    assert error.as_dict() == {
        "line": 14,
        "column": 9,
        "message": "unknown step type 'trian'; did you mean 'train'?",
        "path": "stages[1].steps[0].type",
    }


def test_parse_raises_spec_invalid_with_every_error_in_file_order():
    text = steps_file("{name: a, type: notify, retires: 1}", "{name: b, type: nottify}", "{name: a, type: notify}")

    with pytest.raises(SpecInvalid) as raised:
        parse_pipeline(text)

    errors = raised.value.errors
    assert [error.line for error in errors] == [7, 8, 9]
    assert errors == validate_pipeline(text)
    assert str(raised.value).startswith("the pipeline file has 3 problems\nline 7, column ")


def test_errors_are_sorted_by_line_then_column():
    text = steps_file("{name: a, type: notify, on_failure: x, retries: -1, channels: [sms]}")

    errors = validate_pipeline(text)

    assert len(errors) == 3
    assert [(error.line, error.column) for error in errors] == sorted((error.line, error.column) for error in errors)


def test_at_most_fifty_errors_are_reported():
    steps = [f"{{name: s{index}, type: notify, retires: 1}}" for index in range(80)]

    errors = validate_pipeline(steps_file(*steps))

    assert len(errors) == MAX_ERRORS == 50
    assert errors[-1].line == 7 + 49


def test_the_spec_package_imports_no_django_and_no_sklearn():
    code = (
        "import sys, pipelines_app.spec; "
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('django', 'sklearn')))"
    )

    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)

    assert result.stdout.strip() == "[]"
