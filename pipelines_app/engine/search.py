"""Hyperparameter search over the training workers: each trial of a train step's ``search:`` is a Celery task of
its own on the ``training`` queue, so adding training workers adds search speed.

The train step creates its trials and raises ``WaitForTrials``: the step is parked (``waiting_trials``) and its
worker freed. ``run_trial`` claims a trial by a conditional update (queued → running for one attempt, as steps
are claimed), scores it by k-fold cross-validation on the training split with a heartbeat, and records it; the
trial that finds every trial finished queues the step again (``resume_if_done``, a conditional update, so once),
and the step then refits the best on the whole training split. The reaper queues again a trial whose worker
stopped answering or whose message was lost; cancelling the run cancels its queued trials.
"""

from __future__ import annotations

import socket
import threading

from django.db import close_old_connections, transaction
from django.utils import timezone

from pipelines_app import dispatch
from pipelines_app.engine.context import StepContext, heartbeat_interval
from pipelines_app.models import SearchTrial, StepRun, StepStatus
from pipelines_app.spec import PipelineSpec
from pipelines_app.steps.training import score_trial

Status = SearchTrial.Status


def _claim(trial_id, attempt, host):
    now = timezone.now()
    claimed = SearchTrial.objects.filter(pk=trial_id, attempt=attempt, status=Status.QUEUED).update(
        status=Status.RUNNING, started_at=now, heartbeat_at=now, worker_host=host
    )
    return SearchTrial.objects.select_related("step_run__run__pipeline_version").get(pk=trial_id) if claimed else None


def run_trial(trial_id, attempt, host=None):
    """One attempt of one trial (the ``run_trial`` task)."""
    trial = _claim(trial_id, attempt, host or socket.gethostname())
    if trial is None:
        return "not claimed"
    stop = threading.Event()
    beat = threading.Thread(target=_heartbeat, args=(trial, stop), daemon=True, name=f"trial-{trial.pk}")
    beat.start()
    try:
        scores = _score(trial)
    except Exception as exc:  # noqa: BLE001  (a failing trial is recorded; the search goes on without it)
        fields = {"status": Status.FAILED, "error": f"{type(exc).__name__}: {exc}"[:2000]}
    else:
        fields = {"status": Status.SUCCEEDED, "fold_scores": scores, "score": sum(scores) / len(scores)}
    finally:
        stop.set()
        beat.join(timeout=heartbeat_interval() + 1)
    fields["finished_at"] = timezone.now()
    SearchTrial.objects.filter(pk=trial.pk, attempt=attempt, status=Status.RUNNING).update(**fields)
    resume_if_done(trial.step_run_id)
    return fields["status"]


def _heartbeat(trial, stop):
    while not stop.wait(heartbeat_interval()):
        try:
            SearchTrial.objects.filter(pk=trial.pk, attempt=trial.attempt, status=Status.RUNNING).update(
                heartbeat_at=timezone.now()
            )
        finally:
            close_old_connections()


def _score(trial) -> list[float]:
    """The trial's fold scores: the train step reads its spec and data as it does for its own fit."""
    step_run = trial.step_run
    spec = PipelineSpec.model_validate(step_run.run.pipeline_version.spec)
    return score_trial(StepContext(step_run, spec, spec.step(step_run.name)), trial.params)


def resume_if_done(step_id) -> bool:
    """Queue the parked step again once every trial has finished; a conditional update, so only once."""
    if SearchTrial.objects.filter(step_run_id=step_id, status__in=[Status.QUEUED, Status.RUNNING]).exists():
        return False
    from pipelines_app.engine.runs import enqueue_step  # noqa: PLC0415  (runs imports this module)

    with transaction.atomic():
        resumed = StepRun.objects.filter(pk=step_id, status=StepStatus.WAITING_TRIALS).update(
            status=StepStatus.QUEUED, queued_at=timezone.now()
        )
        if resumed:
            enqueue_step(StepRun.objects.get(pk=step_id), backoff=False)
    return bool(resumed)


def reap(stale, lost):
    """Trials whose worker stopped answering (heartbeat older than ``stale``) or whose message was lost (queued
    before ``lost``) are queued again, each once per pass."""
    requeued = 0
    for trial in SearchTrial.objects.filter(status=Status.RUNNING, heartbeat_at__lt=stale).select_related("step_run"):
        given_up = _give_up(trial)
        if given_up:
            if SearchTrial.objects.filter(pk=trial.pk, status=Status.RUNNING, attempt=trial.attempt).update(
                status=Status.FAILED, error=given_up, finished_at=timezone.now()
            ):
                resume_if_done(trial.step_run_id)
            continue
        with transaction.atomic():
            if SearchTrial.objects.filter(pk=trial.pk, status=Status.RUNNING, attempt=trial.attempt).update(
                status=Status.QUEUED, attempt=trial.attempt + 1, queued_at=timezone.now(),
                error=f"the worker {trial.worker_host} stopped answering during attempt {trial.attempt}",
            ):  # fmt: skip
                dispatch.run_trial(trial.pk, trial.attempt + 1, time_limit=_limit(trial))
                requeued += 1
    for trial in SearchTrial.objects.filter(status=Status.QUEUED, queued_at__lt=lost).select_related("step_run"):
        with transaction.atomic():
            if SearchTrial.objects.filter(pk=trial.pk, status=Status.QUEUED, attempt=trial.attempt).update(
                queued_at=timezone.now()
            ):
                dispatch.run_trial(trial.pk, trial.attempt, time_limit=_limit(trial))
                requeued += 1
    return requeued


def _limit(trial) -> int:
    return trial.step_run.time_limit_s or 3600


MAX_ATTEMPTS = 3


def _give_up(trial) -> str:
    """Why a silent trial is not tried again: it outlived its time limit (its worker killed it), or it has lost
    its worker MAX_ATTEMPTS times (a trial that takes its worker down each time, out of memory say)."""
    if trial.started_at and (timezone.now() - trial.started_at).total_seconds() > _limit(trial) + 30:
        return f"the trial ran longer than its step's time limit of {_limit(trial)} s and was stopped"
    if trial.attempt >= MAX_ATTEMPTS:
        return f"the trial lost its worker {trial.attempt} times; it is not tried again"
    return ""


def cancel(step_ids) -> int:
    """The queued trials of cancelled steps will not run; running ones finish and are ignored."""
    return SearchTrial.objects.filter(step_run_id__in=step_ids, status=Status.QUEUED).update(
        status=Status.CANCELLED, finished_at=timezone.now()
    )
