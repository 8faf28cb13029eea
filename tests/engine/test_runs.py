"""Runs on a real Celery worker process against the real database and Redis."""

import pytest

from pipelines_app.engine.approvals import decide
from pipelines_app.engine.runs import cancel, start_run
from pipelines_app.models import ApprovalRequest, ModelVersion, Pipeline, PipelineRun, StepRun
from tests.conftest import wait_for

pytestmark = pytest.mark.django_db(transaction=True)

CREDIT = """version: 1
name: {name}
model: {model}
inputs:
  iterations: {{type: integer, default: 50, min: 10, max: 500}}
{extra}stages:
  - name: data
    steps:
      - {{name: load, type: ingest, dataset: credit-card-applications}}
      - name: validate
        type: validate_data
        checks:
          - {{row_count_min: 500}}
          - {{column: age, min: 0, max: 100}}
  - name: train
    steps:
      - name: fit
        type: train
        target: card
        positive_label: "yes"
        drop: [share, expenditure]
        estimator: sklearn.ensemble.HistGradientBoostingClassifier
        params: {{max_iter: "${{inputs.iterations}}"}}
        random_state: 7
      - {{name: evaluate, type: evaluate, sensitive_features: [owner]}}
  - name: gate
    steps:
      - name: quality
        type: policy_gate
        rules: ["roc_auc >= {min_auc}"]
  - name: review
    steps:
      - {{name: approve, type: approval, approvers: [reviewers], timeout: 1h}}
  - name: production
    steps:
      - {{name: deploy, type: deploy, environment: production}}
"""


def credit_pipeline(editor, name="credit", min_auc=0.7, extra=""):
    return Pipeline.objects.create_from_yaml(
        CREDIT.format(name=name, model=f"{name}-model", min_auc=min_auc, extra=extra), editor
    )


def finished(run, *statuses):
    def check():
        run.refresh_from_db()
        return run.status in statuses

    return check


def steps(run):
    return {s.name: s for s in StepRun.objects.filter(run=run)}


@pytest.fixture
def worker(celery_worker_process, environments, demo_dataset):
    return celery_worker_process


def test_demo_pipeline_runs_to_the_approval_wait_then_deploys(worker, editor, reviewer):
    run = start_run(credit_pipeline(editor), editor, {"iterations": 60})
    wait_for(finished(run, "waiting_approval", "failed"), 120, 0.2, "the run to wait for approval")
    assert run.status == "waiting_approval", run.error
    by_name = steps(run)
    assert by_name["load"].outputs["rows"] == 1319
    assert by_name["validate"].outputs["passed"] is True
    assert {w["column"] for w in by_name["validate"].outputs["warnings"]} >= {"share", "expenditure"}
    version = ModelVersion.objects.get()
    assert run.model_version == version
    assert 0.7 < version.metrics["roc_auc"] < 0.95
    assert version.params["max_iter"] == 60
    assert by_name["quality"].outputs["rules"][0]["passed"] is True
    assert by_name["fit"].worker_host.startswith("testworker@")
    request = ApprovalRequest.objects.get(run=run)
    assert decide(request, reviewer, True, "evidence ok") == "approved"
    wait_for(finished(run, "succeeded", "failed"), 60, 0.2, "the run to finish after approval")
    assert run.status == "succeeded", run.error
    assert version.model.deployments.get(environment__name="production").primary_version == version


def test_a_failing_gate_fails_the_run_and_skips_the_rest(worker, editor):
    run = start_run(credit_pipeline(editor, min_auc=0.99), editor)
    wait_for(finished(run, "failed", "succeeded", "waiting_approval"), 120, 0.2, "the run to end")
    assert run.status == "failed"
    by_name = steps(run)
    assert by_name["quality"].status == "failed"
    assert by_name["quality"].outputs["rules"][0]["passed"] is False
    assert "roc_auc >= 0.99" in run.error
    assert by_name["approve"].status == "cancelled" and by_name["deploy"].status == "cancelled"
    assert not ApprovalRequest.objects.exists()


def test_rejection_ends_the_run_as_rejected(worker, editor, reviewer):
    run = start_run(credit_pipeline(editor), editor)
    wait_for(finished(run, "waiting_approval", "failed"), 120, 0.2, "the approval wait")
    decide(ApprovalRequest.objects.get(run=run), reviewer, False, "leaks the target")
    wait_for(finished(run, "rejected", "succeeded", "failed"), 60, 0.2, "the run to end")
    assert run.status == "rejected"
    assert steps(run)["deploy"].status == "cancelled"


PARALLEL = """version: 1
name: par
model: par-model
failure_strategy: {retries: 2, retry_backoff_s: 0}
stages:
  - name: data
    parallel: true
    steps:
      - {name: a, type: ingest, dataset: credit-card-applications}
      - {name: b, type: ingest, dataset: credit-card-applications}
      - {name: c, type: ingest, dataset: credit-card-applications@1}
  - name: after
    steps:
      - {name: d, type: ingest, dataset: credit-card-applications}
"""


def test_a_parallel_stage_finishes_before_the_next_starts(worker, editor):
    run = start_run(Pipeline.objects.create_from_yaml(PARALLEL, editor), editor)
    wait_for(finished(run, "succeeded", "failed"), 60, 0.2, "the run to finish")
    assert run.status == "succeeded"
    by_name = steps(run)
    assert max(by_name[n].finished_at for n in "abc") <= by_name["d"].started_at


def test_retries_then_failure_with_abort(worker, editor):
    text = PARALLEL.replace("dataset: credit-card-applications@1", "dataset: credit-card-applications@9")
    run = start_run(Pipeline.objects.create_from_yaml(text, editor), editor)
    wait_for(finished(run, "failed", "succeeded"), 60, 0.2, "the run to fail")
    c = steps(run)["c"]
    assert c.status == "failed" and c.attempt == 3
    assert "has no version 9" in c.error and c.log.count("failed:") == 3
    assert steps(run)["d"].status == "cancelled"


def test_on_failure_continue_lets_the_run_go_on(worker, editor):
    text = PARALLEL.replace(
        "{name: c, type: ingest, dataset: credit-card-applications@1}",
        "{name: c, type: ingest, dataset: nothing-here, retries: 0, on_failure: continue}",
    )
    run = start_run(Pipeline.objects.create_from_yaml(text, editor), editor)
    wait_for(finished(run, "failed", "succeeded"), 60, 0.2, "the run to finish")
    assert run.status == "succeeded"
    assert steps(run)["c"].status == "failed" and steps(run)["d"].status == "succeeded"


def test_cancel_marks_the_rest_cancelled(worker, editor):
    run = start_run(credit_pipeline(editor), editor)
    wait_for(lambda: StepRun.objects.filter(run=run, status="succeeded").exists(), 60, 0.1, "a first step")
    assert cancel(run, editor) is True
    run.refresh_from_db()
    assert run.status == "cancelled"
    wait_for(
        lambda: not StepRun.objects.filter(run=run, status__in=["running", "queued", "pending"]).exists(),
        60,
        0.2,
        "every step to stop",
    )
    assert PipelineRun.objects.get(pk=run.pk).status == "cancelled"
    assert cancel(run, editor) is False


def test_registry_pages_show_the_trained_version(worker, editor, viewer, client_for):
    run = start_run(credit_pipeline(editor, name="shown"), editor)
    wait_for(finished(run, "waiting_approval", "failed"), 120, 0.2, "the run to wait for approval")
    version = ModelVersion.objects.get(run=run)
    page = client_for(viewer).get(version.get_absolute_url())
    assert page.status_code == 200
    text = page.content.decode()
    assert 'id="roc-chart"' in text and "roc_auc" in text and version.dataset_version.ref in text
    assert "Compare" not in text  # a single version has nothing to compare with
    assert client_for(viewer).get(version.get_absolute_url() + "?download=1").status_code == 403
    download = client_for(editor).get(version.get_absolute_url() + "?download=1")
    assert download.status_code == 200
    import hashlib

    assert hashlib.sha256(b"".join(download.streaming_content)).hexdigest() == version.sha256
    listing = client_for(viewer).get("/models/").content.decode()
    assert "shown-model" in listing
    dataset_page = client_for(viewer).get("/datasets/credit-card-applications/").content.decode()
    assert str(version) in dataset_page
