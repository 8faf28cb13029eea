"""/api/v1/pipelines/<slug>/runs/, /api/v1/runs/…: start, read, cancel, re-run; inputs checked; roles."""

import pytest

from pipelines_app.models import Pipeline, PipelineRun
from tests.conftest import api_client

pytestmark = pytest.mark.usefixtures("environments")

TEXT = """version: 1
name: small
model: small-model
inputs:
  n: {type: integer, default: 5, min: 1, max: 10}
stages:
  - name: data
    steps:
      - {name: load, type: ingest, dataset: credit-card-applications}
"""


@pytest.fixture
def pipeline(editor):
    return Pipeline.objects.create_from_yaml(TEXT, editor)


def test_editor_starts_a_run(editor, pipeline, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        response = api_client(editor).post("/api/v1/pipelines/small/runs/", {"inputs": {"n": 7}}, format="json")
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "queued" and body["inputs"] == {"n": 7}
    assert [s["name"] for s in body["steps"]] == ["load"]
    assert PipelineRun.objects.get().triggered_by == editor
    assert len(callbacks) == 1  # the advance is enqueued on commit


@pytest.mark.parametrize(
    ("inputs", "words"), [({"n": 11}, "above the maximum 10"), ({"n": "many"}, "n"), ({"m": 1}, "no input 'm'")]
)
def test_bad_inputs_are_400_and_start_nothing(editor, pipeline, inputs, words):
    response = api_client(editor).post("/api/v1/pipelines/small/runs/", {"inputs": inputs}, format="json")
    assert response.status_code == 400
    assert words in str(response.json()["inputs"])
    assert not PipelineRun.objects.exists()


def test_inputs_must_be_an_object(editor, pipeline):
    response = api_client(editor).post("/api/v1/pipelines/small/runs/", {"inputs": [1, 2]}, format="json")
    assert response.status_code == 400


def test_viewer_may_read_but_not_start(viewer, editor, pipeline):
    assert api_client(viewer).post("/api/v1/pipelines/small/runs/", {}, format="json").status_code == 403
    run_id = api_client(editor).post("/api/v1/pipelines/small/runs/", {}, format="json").json()["id"]
    body = api_client(viewer).get(f"/api/v1/runs/{run_id}/").json()
    assert body["id"] == run_id and body["pipeline"] == "small"
    assert api_client(viewer).post(f"/api/v1/runs/{run_id}/cancel/").status_code == 403


def test_cancel_then_cancel_again_is_409(editor, pipeline):
    client = api_client(editor)
    run_id = client.post("/api/v1/pipelines/small/runs/", {}, format="json").json()["id"]
    assert client.post(f"/api/v1/runs/{run_id}/cancel/").json()["status"] == "cancelled"
    assert client.post(f"/api/v1/runs/{run_id}/cancel/").status_code == 409


def test_rerun_uses_the_same_version_and_inputs(editor, pipeline):
    client = api_client(editor)
    run_id = client.post("/api/v1/pipelines/small/runs/", {"inputs": {"n": 3}}, format="json").json()["id"]
    pipeline.save_version(TEXT.replace("default: 5", "default: 6"), editor)
    again = client.post(f"/api/v1/runs/{run_id}/rerun/").json()
    assert again["id"] != run_id and again["inputs"] == {"n": 3} and again["pipeline_version"] == 1
    assert again["trigger"] == "rerun"


def test_archived_pipelines_do_not_run(editor, pipeline):
    pipeline.archive(editor)
    assert api_client(editor).post("/api/v1/pipelines/small/runs/", {}, format="json").status_code == 409


def test_runs_list_filters(editor, pipeline):
    client = api_client(editor)
    client.post("/api/v1/pipelines/small/runs/", {}, format="json")
    assert client.get("/api/v1/runs/?status=queued").json()["count"] == 1
    assert client.get("/api/v1/runs/?status=failed").json()["count"] == 0
    assert client.get("/api/v1/runs/?pipeline=small").json()["count"] == 1
    # The same filters as the runs page, who started it included.
    assert client.get(f"/api/v1/runs/?who={editor.username}").json()["count"] == 1
    assert client.get("/api/v1/runs/?who=somebody-else").json()["count"] == 0
