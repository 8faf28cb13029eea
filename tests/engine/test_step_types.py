"""One table of step types: the parser, the engine and the editor see the same types, plug-ins included."""

import re
from typing import ClassVar, Literal

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse

from pipelines_app.authoring import ESTIMATORS, wizard_yaml
from pipelines_app.engine.runs import start_run
from pipelines_app.models import Pipeline
from pipelines_app.spec import STEP_TYPES, BaseStep, parse_pipeline, register_step_type, unregister_step_type
from pipelines_app.steps.base import Step
from pipelines_app.steps.registry import BUILT_IN, check_registry, register_configured_step_types, step_class
from pipelines_app.steps.registry import unregister_step_type as unregister_implementation

PLUG_IN = "tests.engine.test_step_types.ScoreBatch"


class ScoreBatch(Step):
    """A plug-in step type, as settings.PIPELINE_STEP_TYPES names one."""

    class Spec(BaseStep):
        """Score a table in bulk."""

        outputs: ClassVar[frozenset[str]] = frozenset({"rows_scored"})

        type: Literal["score_batch"] = "score_batch"
        table: str

    def run(self, ctx):
        ctx.log(f"scoring {ctx.step_spec.table}")
        return {"rows_scored": 3}


@pytest.fixture
def plug_in(settings):
    settings.PIPELINE_STEP_TYPES = {"score_batch": PLUG_IN}
    register_configured_step_types()
    yield ScoreBatch
    unregister_implementation("score_batch")


def editor_step_types(client):
    page = client.get(reverse("pipeline-create")).content.decode()
    listing = re.search(r'<details id="step-types">(.*?)</details>', page, re.S)[1]
    return set(re.findall(r"<dt><code>([a-z_]+)</code>", listing))


def test_the_parser_the_engine_and_the_editor_see_the_same_step_types(plug_in, client_for, editor):
    parsed = {name for name in STEP_TYPES if parse_pipeline_with(name)}
    run_by_engine = {name for name in STEP_TYPES if step_class(name)}

    assert "score_batch" in parsed
    assert parsed == run_by_engine == editor_step_types(client_for(editor))
    assert step_class("score_batch") is ScoreBatch


def parse_pipeline_with(step_type):
    """True when the parser takes `step_type` as a type (any error then is about the step's other keys)."""
    text = f"version: 1\nname: p\nmodel: m\nstages:\n  - name: s\n    steps:\n      - {{name: x, type: {step_type}}}\n"
    try:
        parse_pipeline(text)
    except Exception as exc:  # noqa: BLE001  (SpecInvalid: read what it says)
        return not any("unknown step type" in error.message for error in exc.errors)
    return True


def test_a_plug_in_is_gone_from_every_side_once_withdrawn(plug_in, client_for, editor):
    unregister_implementation("score_batch")

    assert "score_batch" not in STEP_TYPES
    assert "score_batch" not in editor_step_types(client_for(editor))
    with pytest.raises(KeyError, match="no step type 'score_batch'"):
        step_class("score_batch")


def test_the_engine_runs_a_plug_in_step(plug_in, editor, run_inline):
    pipeline = Pipeline.objects.create_from_yaml(
        "version: 1\nname: batch\nmodel: batch\nstages:\n  - name: score\n    steps:\n"
        "      - {name: score, type: score_batch, table: loans}\n",
        editor,
    )

    run = run_inline(start_run(pipeline, editor))

    assert run.status == "succeeded"
    assert run.steps.get(name="score").outputs == {"rows_scored": 3}


def test_every_built_in_type_has_one_class_and_the_wizard_uses_only_known_types():
    assert sorted(cls.Spec.model_fields["type"].default for cls in BUILT_IN) == sorted(STEP_TYPES)
    check_registry()
    data = {"dataset": "loans", "target": "y", "estimator": next(iter(ESTIMATORS)), "name": "p", "model": "m"}
    data.update(min_metric=0.7, deploy_staging=True, deploy_production=True, approver_group="reviewers")
    wizard = parse_pipeline(wizard_yaml(data))
    assert {step.type for _, step in wizard.steps()} <= set(STEP_TYPES)


def test_a_type_the_parser_accepts_but_nothing_runs_stops_the_start():
    register_step_type("half_done", HalfDone)
    try:
        with pytest.raises(ImproperlyConfigured, match="no class runs the step type"):
            check_registry()
    finally:
        unregister_step_type("half_done")


class HalfDone(BaseStep):
    type: Literal["half_done"] = "half_done"


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("tests.engine.test_step_types.Nothing", "does not define"),
        ("tests.engine.test_step_types.HalfDone", "with a run"),
        ("tests.engine.test_step_types.Misnamed", "whose type is 'score_batch'"),
    ],
)
def test_a_misconfigured_plug_in_stops_the_start(settings, path, words):
    settings.PIPELINE_STEP_TYPES = {"misnamed": path}

    with pytest.raises(ImproperlyConfigured, match=words):
        register_configured_step_types()

    assert "misnamed" not in STEP_TYPES


class Misnamed(ScoreBatch):
    """The plug-in's class registered under a name its model does not take."""
