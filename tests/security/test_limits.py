"""Attack 6 of issue 13: resource exhaustion, and the limits that answer it with a clear 4xx.

A 208 KB CSV of 20,000 columns took 59 s to upload and made a 15 MB page; a 30 MB body to the pipeline validator
was parsed for 44 s; `n_estimators: 1000000000` validated and would have held a worker for an hour.
"""

import io
import time

import pytest

from pipelines_app.engine.runs import reap, start_run
from pipelines_app.models import Dataset, DatasetVersion, Pipeline, StepRun
from tests.conftest import DEMO_CSV, WorkerProcess, api_client, wait_for, wait_for_run_to_end

pytestmark = pytest.mark.django_db

WIDE_CSV = (
    ",".join(f"c{i}" for i in range(20_000)) + "\n" + "\n".join(",".join(["1"] * 20_000) for _ in range(4)) + "\n"
).encode()

PIPELINE = """version: 1
name: limits
model: limits-model
inputs:
  trees: {{type: integer, default: 100}}
stages:
  - name: data
    steps:
      - name: load
        type: ingest
        dataset: credit-card-applications{load_extra}
  - name: train
    steps:
      - name: fit
        type: train
        target: card
        positive_label: "yes"
        estimator: {estimator}
        params:
          {params}
"""


def pipeline_file(estimator="sklearn.ensemble.RandomForestClassifier", params="n_estimators: 50", load_extra=""):
    return PIPELINE.format(estimator=estimator, params=params, load_extra=load_extra)


def line_of(text, fragment):
    return next(number for number, line in enumerate(text.splitlines(), 1) if fragment in line)


# Columns per dataset ----------------------------------------------------------------------------------------


def test_a_csv_with_20000_columns_is_refused_on_the_page_at_once(client_for, editor):
    client = client_for(editor)
    client.get("/datasets/")  # the first request of a process imports the site: not what is timed here
    started = time.monotonic()
    response = client.post("/datasets/upload/", {"name": "wide", "file": io.BytesIO(WIDE_CSV), "description": ""})

    assert response.status_code == 400
    assert "The file has 20,000 columns; a dataset may have at most 500." in response.content.decode()
    assert time.monotonic() - started < 5
    assert not Dataset.objects.exists()


def test_a_csv_with_20000_columns_is_refused_by_the_api_at_once(editor):
    client = api_client(editor)
    client.get("/api/v1/datasets/")  # the first request of a process imports the site: not what is timed here
    upload = io.BytesIO(WIDE_CSV)
    upload.name = "wide.csv"
    started = time.monotonic()
    response = client.post("/api/v1/datasets/", {"name": "wide", "file": upload}, format="multipart")

    assert response.status_code == 400
    assert response.json()["detail"].startswith("The file has 20,000 columns; a dataset may have at most 500.")
    assert time.monotonic() - started < 5
    assert not Dataset.objects.exists()


def test_the_column_limit_is_a_setting(client_for, editor, settings):
    settings.DATASET_MAX_COLUMNS = 5

    response = client_for(editor).post(
        "/datasets/upload/", {"name": "demo", "file": io.BytesIO(DEMO_CSV.read_bytes()), "description": ""}
    )

    assert response.status_code == 400
    assert "a dataset may have at most 5" in response.content.decode()


def test_the_dataset_page_shows_a_bounded_profile_of_a_wide_version(client_for, editor, settings):
    # A version stored before the limit (or under a larger one): its page must stay small for every viewer.
    settings.DATASET_MAX_COLUMNS = 1_000
    columns = 600
    data = (",".join(f"c{i}" for i in range(columns)) + "\n" + ",".join(["1"] * columns) + "\n").encode()
    version = DatasetVersion.objects.create_from_upload("wide", data, user=editor)
    settings.DATASET_MAX_COLUMNS = 500

    response = client_for(editor).get(version.get_absolute_url())

    page = response.content.decode()
    assert response.status_code == 200
    assert "The first 100 columns are shown here and in the first rows below; 500 more are not." in page
    assert 'data-column="c99"' in page and 'data-column="c100"' not in page
    assert '<th scope="col">c100</th>' not in page
    assert "Correct the schema" not in page  # a form of 600 columns is wider than uploads may now be
    assert len(response.content) < 400_000


# Request bodies ---------------------------------------------------------------------------------------------


def test_a_30_mb_body_to_the_pipeline_validator_is_refused_before_it_is_read(editor, environments):
    client = api_client(editor)
    client.get("/api/v1/pipelines/")  # the first request of a process imports the site: not what is timed here
    body = b"a: b\n" * 6_000_000
    started = time.monotonic()
    response = client.post("/api/v1/pipelines/validate/", data=body, content_type="application/yaml")

    assert response.status_code == 413
    assert "The request body is 30,000,000 bytes; at most 5,242,880 are accepted here." in response.json()["detail"]
    assert time.monotonic() - started < 5


def test_a_pipeline_file_over_a_megabyte_is_refused_by_the_parser(editor, environments):
    body = b"# padding\n" * 150_000  # 1.5 MB: under the general body limit, over a pipeline file's
    response = api_client(editor).post("/api/v1/pipelines/validate/", data=body, content_type="application/yaml")

    assert response.status_code == 413
    assert "A pipeline file may be at most 1,000,000 bytes" in response.json()["detail"]


def test_a_pipeline_file_over_a_megabyte_is_refused_from_the_page_too(client_for, editor, environments):
    response = client_for(editor).post("/pipelines/validate/", {"yaml": "# padding\n" * 150_000})

    assert response.status_code in (200, 400)
    assert "the most a pipeline file may be" in response.content.decode()
    assert not Pipeline.objects.exists()


def test_an_oversized_body_to_a_page_is_refused_with_413(client_for, editor, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000

    response = client_for(editor).post("/pipelines/new/yaml/", {"yaml": "x" * 2_000})

    assert response.status_code == 413
    assert "at most 1,000 are accepted here" in response.content.decode()


def test_dataset_uploads_keep_their_own_larger_limit(editor, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1_000  # far below the demo CSV
    upload = io.BytesIO(DEMO_CSV.read_bytes())
    upload.name = "credit.csv"

    response = api_client(editor).post("/api/v1/datasets/", {"name": "credit", "file": upload}, format="multipart")

    assert response.status_code == 201, response.content
    assert response.json()["ref"] == "credit@1"


# Estimator params -------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("estimator", "params", "message"),
    [
        (
            "sklearn.ensemble.RandomForestClassifier",
            "n_estimators: 1000000000",
            "n_estimators 1,000,000,000 is above the most RandomForestClassifier allows, 2,000",
        ),
        (
            "sklearn.neural_network.MLPClassifier",
            "hidden_layer_sizes: [100000, 100000, 100000]",
            "hidden_layer_sizes asks for a layer of 100,000 units; MLPClassifier allows at most 1,024 per layer",
        ),
        (
            "sklearn.ensemble.HistGradientBoostingClassifier",
            "max_iter: 100000",
            "max_iter 100,000 is above the most HistGradientBoostingClassifier allows, 5,000",
        ),
    ],
    ids=["trees", "layers", "iterations"],
)
def test_estimator_params_beyond_their_maxima_are_refused_at_their_line(
    editor, demo_dataset, environments, estimator, params, message
):
    text = pipeline_file(estimator, params)

    answer = api_client(editor).post("/api/v1/pipelines/validate/", {"yaml": text}, format="json").json()

    assert answer["valid"] is False
    [error] = answer["errors"]
    assert message in error["message"]
    assert error["line"] == line_of(text, params.split(":")[0] + ":")


def test_an_input_that_takes_a_param_past_its_maximum_is_refused_when_the_run_starts(
    editor, demo_dataset, environments
):
    pipeline = Pipeline.objects.create_from_yaml(pipeline_file(params='n_estimators: "${inputs.trees}"'), editor)

    response = api_client(editor).post(
        f"/api/v1/pipelines/{pipeline.slug}/runs/", {"inputs": {"trees": 1_000_000_000}}, format="json"
    )

    assert response.status_code == 400
    assert "n_estimators 1,000,000,000 is above the most RandomForestClassifier allows" in str(response.json())
    assert not pipeline.runs.exists()


# Step time limits -------------------------------------------------------------------------------------------


def test_a_step_timeout_above_the_sites_maximum_is_refused_at_its_line(editor, demo_dataset, environments, settings):
    settings.STEP_TIMEOUT_MAX = 2 * 3600
    text = pipeline_file(load_extra="\n        step_timeout: 3h")

    answer = api_client(editor).post("/api/v1/pipelines/validate/", {"yaml": text}, format="json").json()

    assert answer["valid"] is False
    [error] = answer["errors"]
    assert error["message"] == ("step_timeout 3h is longer than this site allows a step to run, 2h (STEP_TIMEOUT_MAX)")
    assert error["line"] == line_of(text, "step_timeout")


def test_a_step_timeout_must_be_a_duration(editor, demo_dataset, environments):
    text = pipeline_file(load_extra="\n        step_timeout: 30")

    answer = api_client(editor).post("/api/v1/pipelines/validate/", {"yaml": text}, format="json").json()

    assert answer["valid"] is False
    assert "step_timeout 30 needs a unit" in answer["errors"][0]["message"]


def test_each_step_gets_its_time_limit_when_the_run_starts(editor, demo_dataset, environments, settings):
    settings.STEP_TIMEOUT_DEFAULT = 600
    pipeline = Pipeline.objects.create_from_yaml(pipeline_file(load_extra="\n        step_timeout: 90s"), editor)

    run = start_run(pipeline, editor)

    assert dict(run.steps.values_list("name", "time_limit_s")) == {"load": 90, "fit": 600}


def test_the_reaper_fails_a_step_killed_at_its_hard_limit_as_timed_out(editor, demo_dataset, environments):
    from datetime import timedelta

    from django.utils import timezone

    pipeline = Pipeline.objects.create_from_yaml(pipeline_file(load_extra="\n        step_timeout: 2s"), editor)
    run = start_run(pipeline, editor)
    long_ago = timezone.now() - timedelta(minutes=5)
    # What a worker killed for its hard limit leaves: the step running, its heartbeat stopped.
    StepRun.objects.filter(run=run, name="load").update(
        status="running", attempt=1, max_attempts=3, started_at=long_ago, heartbeat_at=long_ago
    )

    reap()

    load = StepRun.objects.get(run=run, name="load")
    assert load.status == "failed" and load.attempt == 1
    assert load.error == "the step ran longer than its time limit of 2s (step_timeout) and was stopped"


@pytest.mark.django_db(transaction=True)
def test_a_worker_stops_a_step_at_its_step_timeout(redis_url, editor, demo_dataset, environments):
    # The ingest step would sleep a minute (a fault worker's pause); its limit is 2 s. A prefork worker, as `make run`
    # starts: Celery's time limits need a pool process to signal.
    worker = WorkerProcess(redis_url, name="limits", faults={"ingest": 60})
    worker.args[worker.args.index("solo")] = "prefork"
    worker.args += ["--concurrency", "1"]
    worker.start()
    try:
        pipeline = Pipeline.objects.create_from_yaml(pipeline_file(load_extra="\n        step_timeout: 2s"), editor)
        started = time.monotonic()
        run = start_run(pipeline, editor)
        wait_for(lambda: StepRun.objects.filter(run=run, name="load", status="running").exists(), 60)

        wait_for_run_to_end(run, 60)

        assert run.status == "failed"
        load = StepRun.objects.get(run=run, name="load")
        assert load.status == "failed" and load.attempt == 1
        assert "ran longer than its time limit of 2s (step_timeout)" in load.error
        assert time.monotonic() - started < 40
    finally:
        worker.stop()
