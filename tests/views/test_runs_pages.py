"""The run pages: list with filters, the run view and its live part, starting a run with inputs, cancel."""

import pytest

from pipelines_app.engine.runs import start_run
from pipelines_app.models import Pipeline, PipelineRun

pytestmark = pytest.mark.usefixtures("environments")

TEXT = """version: 1
name: small
model: small-model
inputs:
  n: {type: integer, default: 5, min: 1, max: 10, description: how many}
  mode: {type: string, default: fast, choices: [fast, slow]}
stages:
  - name: data
    steps:
      - {name: load, type: ingest, dataset: credit-card-applications}
"""


@pytest.fixture
def pipeline(editor):
    return Pipeline.objects.create_from_yaml(TEXT, editor)


def test_runs_empty_state(client_for, viewer):
    assert "No runs yet." in client_for(viewer).get("/runs/").content.decode()


def test_the_run_form_is_generated_from_the_inputs(client_for, editor, pipeline):
    page = client_for(editor).get("/pipelines/small/run/").content.decode()
    assert 'name="n"' in page and 'max="10"' in page and "how many" in page
    assert '<option value="slow">' in page


def test_starting_a_run_in_the_browser(client_for, editor, pipeline):
    response = client_for(editor).post("/pipelines/small/run/", {"n": "4", "mode": "slow"})
    run = PipelineRun.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/runs/{run.pk}/"
    assert run.inputs == {"n": 4, "mode": "slow"} and run.trigger == "manual"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"n": "11"}, "less than or equal to 10"),
        ({"n": "x"}, "Enter a whole number"),
        ({"mode": "medium"}, "Select a valid choice"),
    ],
)
def test_bad_inputs_are_400_with_a_message(client_for, editor, pipeline, data, message):
    response = client_for(editor).post("/pipelines/small/run/", data)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not PipelineRun.objects.exists()


def test_viewer_cannot_start_or_cancel(client_for, viewer, editor, pipeline):
    assert client_for(viewer).post("/pipelines/small/run/", {}).status_code == 403
    run = start_run(pipeline, editor)
    assert client_for(viewer).post(f"/runs/{run.pk}/cancel/").status_code == 403
    assert client_for(viewer).post(f"/runs/{run.pk}/rerun/").status_code == 403


def test_run_page_and_live_fragment(client_for, viewer, editor, pipeline):
    run = start_run(pipeline, editor, {"n": 3})
    page = client_for(viewer).get(f"/runs/{run.pk}/").content.decode()
    assert f"Run #{run.pk}" in page and 'hx-trigger="every 1s"' in page and 'data-step="load"' in page
    live = client_for(viewer).get(f"/runs/{run.pk}/live/")
    assert live.status_code == 200 and "n=3" in live.content.decode()


def test_cancel_in_the_browser(client_for, editor, pipeline):
    run = start_run(pipeline, editor)
    assert client_for(editor).post(f"/runs/{run.pk}/cancel/").status_code == 302
    run.refresh_from_db()
    assert run.status == "cancelled"
    page = client_for(editor).get(f"/runs/{run.pk}/").content.decode()
    assert "Cancel run" not in page and 'hx-trigger="every 1s"' not in page


def test_cancel_and_rerun_reject_get(client_for, editor, pipeline):
    run = start_run(pipeline, editor)
    assert client_for(editor).get(f"/runs/{run.pk}/cancel/").status_code == 405
    assert client_for(editor).get(f"/runs/{run.pk}/rerun/").status_code == 405


def test_runs_list_filters_and_query_count(client_for, viewer, editor, pipeline, django_assert_max_num_queries):
    for _ in range(5):
        start_run(pipeline, editor)
    c = client_for(viewer)
    with django_assert_max_num_queries(13):
        page = c.get("/runs/").content.decode()
    assert page.count('class="run-status run-queued"') == 5
    assert "No run matches" in c.get("/runs/?status=failed").content.decode()
    assert c.get("/runs/?pipeline=small&who=eddie-editor").content.decode().count("run-queued") == 5


def test_pipeline_page_charts_finished_runs(client_for, viewer, editor, pipeline):
    from django.utils import timezone

    for seconds in (3, 5):
        run = start_run(pipeline, editor)
        now = timezone.now()
        PipelineRun.objects.filter(pk=run.pk).update(
            status="succeeded", started_at=now, finished_at=now + timezone.timedelta(seconds=seconds)
        )
    page = client_for(viewer).get("/pipelines/small/").content.decode()
    assert 'id="history-chart"' in page
    assert '"duration_s": 3.0' in page and '"duration_s": 5.0' in page
