"""Hyperparameter search (``search:`` on a train step): trials are Celery tasks on the training queue, the step
waits for them without a worker, the best is refit and registered; the file's keys are checked."""

import pytest

from pipelines_app.engine.runs import cancel, start_run
from pipelines_app.ml.search import candidates
from pipelines_app.models import Pipeline, SearchTrial, StepRun
from pipelines_app.spec import SpecInvalid, parse_pipeline
from tests.conftest import wait_for, wait_for_run_to_end
from tests.reliability.pipelines import small_pipeline


def searched(search):
    """The small pipeline (model ``searched-model``) with ``search`` on its train step, at line 17."""
    return small_pipeline("searched", search=search)


SEARCH = (
    "{method: random, trials: 6, cv: 3, metric: roc_auc, "
    "space: {C: {log_uniform: [0.001, 10]}, fit_intercept: [true, false]}}"
)


def test_candidates_are_every_grid_combination_or_seeded_draws_within_their_ranges():
    grid = candidates({"C": [0.1, 1], "max_iter": [100, 200, 300]}, "grid", None, 0)
    assert len(grid) == 6 and {"C": 1, "max_iter": 300} in grid
    drawn = candidates({"C": {"log_uniform": [0.01, 10]}, "n": {"int_uniform": [2, 5]}}, "random", 50, 7)
    assert drawn == candidates({"C": {"log_uniform": [0.01, 10]}, "n": {"int_uniform": [2, 5]}}, "random", 50, 7)
    assert all(0.01 <= d["C"] <= 10 and d["n"] in (2, 3, 4, 5) for d in drawn)
    assert len({d["C"] for d in drawn}) == 50


@pytest.mark.parametrize(
    "search, expected",
    [
        ("{space: {Cx: [1]}}", "LogisticRegression has no parameter 'Cx'; did you mean 'C'?"),
        ("{method: grid, space: {C: {uniform: [0, 1]}}}", "a grid tries lists of values; 'C' is a range"),
        ("{space: {C: {log_uniform: [0, 1]}}}", "log_uniform needs a low above zero"),
        ("{space: {max_iter: [100000]}}", "max_iter 100,000 is above the most LogisticRegression allows"),
        ("{trials: 500, space: {C: [1]}}", "'trials' in the search of step 'fit' must be at most 200"),
        (f"{{method: grid, space: {{C: {list(range(1, 16))}, max_iter: {list(range(1, 16))}}}}}",
         "this grid has 225 combinations; a search tries at most 200"),
        ("{metric: auc, space: {C: [1]}}", "unknown metric 'auc' in the search of step 'fit'"),
        ("{space: {C: {beta: [1, 2]}}}", "'C' is a list of values to try or one of uniform, log_uniform, int_uniform"),
        ("{space: {C: {uniform: [2, 1]}}}", "'C': uniform takes [low, high] with low below high"),
        ("{method: grid, trials: 3, space: {C: [1]}}", "a grid tries every combination; 'trials' is for"),
        ("{space: {C: []}}", "'C' lists no values to try"),
    ],
)  # fmt: skip
def test_a_bad_search_is_refused_with_its_line(search, expected):
    with pytest.raises(SpecInvalid) as caught:
        parse_pipeline(searched(search))
    assert expected in str(caught.value) and "line 17" in str(caught.value)


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_run_cancels_its_queued_trials(editor, demo_dataset, environments, redis_url):
    """No worker yet in this module (it runs before the test that starts one): the step parks with its trials
    queued, and cancelling the run cancels them."""
    from pipelines_app.engine.runs import advance, execute

    pipeline = Pipeline.objects.create_from_yaml(searched(SEARCH), editor)
    run = start_run(pipeline, editor)
    advance(run.pk)
    load = StepRun.objects.get(run=run, name="load")
    execute(load.pk, load.attempt)
    fit = StepRun.objects.get(run=run, name="fit")
    assert fit.status == "queued"
    assert execute(fit.pk, fit.attempt) == "waiting for trials"
    fit.refresh_from_db()
    assert fit.status == "waiting_trials" and SearchTrial.objects.filter(step_run=fit, status="queued").count() == 6
    cancel(run, editor)
    assert set(SearchTrial.objects.filter(step_run=fit).values_list("status", flat=True)) == {"cancelled"}
    assert wait_for(lambda: StepRun.objects.get(pk=fit.pk).status == "cancelled", 5)


@pytest.mark.django_db(transaction=True)
def test_trials_run_as_tasks_and_the_best_is_refit_and_registered(
    editor, demo_dataset, environments, celery_worker_process
):
    pipeline = Pipeline.objects.create_from_yaml(searched(SEARCH), editor)
    run = wait_for_run_to_end(start_run(pipeline, editor), 240)
    assert run.status == "succeeded", run.error
    fit = StepRun.objects.get(run=run, name="fit")
    trials = list(SearchTrial.objects.filter(step_run=fit))
    assert len(trials) == 6 and all(t.status == "succeeded" and len(t.fold_scores) == 3 for t in trials)
    assert all(t.worker_host.startswith("testworker@") for t in trials)
    best = max(trials, key=lambda t: t.score)
    assert fit.outputs["search"]["best_trial"] == best.number
    assert fit.outputs["search"]["best_score"] == pytest.approx(best.score)
    version = run.model_version
    assert version.params["C"] == pytest.approx(best.params["C"])
    assert version.params["fit_intercept"] == best.params["fit_intercept"] and version.params["max_iter"] == 500
    assert "this step waits for them without a worker" in fit.log
    # The run page shows the trials, the best and the chart's data.
    from django.test import Client

    page = Client()
    page.force_login(editor)
    html = page.get(f"/runs/{run.pk}/").content.decode()
    assert "6 of 6 trials done" in html and f"best #{best.number}" in html and 'id="search-data"' in html
    html = page.get(f"/models/searched-model/v{version.version}/").content.decode()
    assert "6 of 6 trials done" in html and html.count("<tr") >= 7


@pytest.mark.django_db
def test_a_trial_that_outlives_its_limit_or_keeps_losing_its_worker_is_failed_not_retried(editor, demo_dataset):
    from datetime import timedelta

    from django.utils import timezone

    from pipelines_app.engine import search

    pipeline = Pipeline.objects.create_from_yaml(searched(SEARCH), editor)
    run = start_run(pipeline, editor)
    fit = StepRun.objects.get(run=run, name="fit")
    StepRun.objects.filter(pk=fit.pk).update(status="waiting_trials", time_limit_s=60)
    long_ago = timezone.now() - timedelta(minutes=5)
    slow = SearchTrial.objects.create(step_run=fit, number=1, status="running", started_at=long_ago,
                                      heartbeat_at=long_ago)  # fmt: skip
    crashing = SearchTrial.objects.create(step_run=fit, number=2, status="running", attempt=3,
                                          started_at=timezone.now(), heartbeat_at=long_ago)  # fmt: skip
    lost = SearchTrial.objects.create(step_run=fit, number=3, status="running", attempt=1,
                                      started_at=timezone.now(), heartbeat_at=long_ago)  # fmt: skip
    search.reap(timezone.now() - timedelta(seconds=30), timezone.now() - timedelta(minutes=2))
    slow.refresh_from_db(), crashing.refresh_from_db(), lost.refresh_from_db()
    assert slow.status == "failed" and "longer than its step's time limit of 60 s" in slow.error
    assert crashing.status == "failed" and "lost its worker 3 times" in crashing.error
    assert (lost.status, lost.attempt) == ("queued", 2)
