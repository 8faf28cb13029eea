"""Registering more step types, as settings.PIPELINE_STEP_TYPES does."""

from typing import ClassVar, Literal

import pytest

from pipelines_app.spec import (
    STEP_TYPES,
    BaseStep,
    PipelineSpec,
    parse_pipeline,
    register_step_type,
    unregister_step_type,
)

from .files import at, column_of, one_problem, steps_file


class ScoreBatchStep(BaseStep):
    """A made-up step type that scores a table in bulk."""

    outputs: ClassVar[frozenset[str]] = frozenset({"rows_scored"})

    type: Literal["score_batch"] = "score_batch"
    table: str
    chunk_size: int = 1000


@pytest.fixture
def score_batch_registered():
    register_step_type("score_batch", ScoreBatchStep)
    yield
    unregister_step_type("score_batch")


def test_a_registered_step_type_parses_and_round_trips(score_batch_registered):
    text = steps_file(
        "{name: score, type: score_batch, table: loans}",
        "{name: tell, type: notify, message: '${steps.score.rows_scored} rows'}",
    )

    spec = parse_pipeline(text)

    assert isinstance(spec.step("score"), ScoreBatchStep)
    assert PipelineSpec.model_validate(spec.model_dump(mode="json")) == spec


def test_a_registered_step_type_gets_the_same_checks(score_batch_registered):
    step = "{name: score, type: score_batch, table: loans, chunk_sise: 5}"

    error = one_problem(steps_file(step))

    assert at(error) == (7, column_of(step, "chunk_sise"))
    assert error.message == "unknown key 'chunk_sise' in step 'score'; did you mean 'chunk_size'?"


def test_an_unregistered_type_is_unknown():
    error = one_problem(steps_file("{name: score, type: score_batch, table: loans}"))

    assert error.message.startswith("unknown step type 'score_batch'")


def test_only_step_models_can_be_registered():
    with pytest.raises(ValueError, match="subclass of BaseStep"):
        register_step_type("thing", dict)
    with pytest.raises(ValueError, match="must be an identifier"):
        register_step_type("no spaces", ScoreBatchStep)
    assert "thing" not in STEP_TYPES


def test_a_model_is_registered_under_the_name_its_type_key_takes():
    with pytest.raises(ValueError, match="whose type is 'score_batch'"):
        register_step_type("score", ScoreBatchStep)
    assert "score" not in STEP_TYPES


def test_an_unregistered_type_is_unknown_again(score_batch_registered):
    unregister_step_type("score_batch")

    error = one_problem(steps_file("{name: score, type: score_batch, table: loans}"))

    assert error.message.startswith("unknown step type 'score_batch'")
