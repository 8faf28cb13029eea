"""Starting, advancing, executing, cancelling and reaping runs.

The database is the source of truth. ``advance`` looks at a run under a row
lock and queues what may run next; ``execute`` claims a queued step with a
conditional update, runs it, records the outcome and advances the run. A
message that arrives twice, late or never cannot run a step twice or lose a
run: claims are conditional, and the reaper re-queues what a dead worker held.
"""

import socket
from datetime import timedelta

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, transaction
from django.utils import timezone

from pipelines_app import dispatch
from pipelines_app.engine import search
from pipelines_app.engine.context import StepContext, format_exception
from pipelines_app.engine.outbox import emit
from pipelines_app.models import (
    ApprovalRequest,
    ApprovalStatus,
    AuditEvent,
    Event,
    Notification,
    PipelineRun,
    RunStatus,
    StepRun,
    StepStatus,
    Trigger,
)
from pipelines_app.models.audit import retry_on_deadlock
from pipelines_app.models.runs import RUN_FINISHED
from pipelines_app.spec import PipelineSpec
from pipelines_app.spec.durations import format_duration
from pipelines_app.steps.base import StepFailed, WaitForApproval, WaitForTrials
from pipelines_app.steps.registry import step_class


def stale_after():
    """A running step whose heartbeat is older than this belongs to a dead worker (STEP_STALE_AFTER_S)."""
    return timedelta(seconds=settings.STEP_STALE_AFTER_S)


def lost_after():
    """A queued step nobody picked up for this long lost its message, e.g. to a broker restart
    (STEP_REQUEUE_AFTER_S)."""
    return timedelta(seconds=settings.STEP_REQUEUE_AFTER_S)


TRAINING_STEP_TYPES = {"train"}
# After its soft limit a step has this long to record its failure before Celery kills its process; the reaper
# then fails it as timed out.
HARD_LIMIT_GRACE_S = 30


def step_time_limit(step_spec):
    """Seconds one attempt of the step may run: its step_timeout, else STEP_TIMEOUT_DEFAULT; at most
    STEP_TIMEOUT_MAX, also for a file saved when the maximum was higher."""
    asked = step_spec.step_timeout_seconds or settings.STEP_TIMEOUT_DEFAULT
    return min(asked, settings.STEP_TIMEOUT_MAX)


def _time_limit_of(step):
    return step.time_limit_s or min(settings.STEP_TIMEOUT_DEFAULT, settings.STEP_TIMEOUT_MAX)


def timed_out_message(limit):
    return f"the step ran longer than its time limit of {format_duration(limit)} (step_timeout) and was stopped"


def _spec(run):
    return PipelineSpec.model_validate(run.pipeline_version.spec)


@retry_on_deadlock
def start_run(pipeline, user=None, inputs=None, trigger=Trigger.MANUAL, version=None, rerun_of=None):
    """Create the run and its steps, and queue it once the transaction commits.

    Raises ``InputsInvalid`` when the runtime inputs do not fit the pipeline's ``inputs:``.
    """
    version = version or pipeline.current_version
    spec = PipelineSpec.model_validate(version.spec)
    resolved = spec.resolve_inputs(inputs or {})
    with transaction.atomic():
        run = PipelineRun.objects.create(
            pipeline=pipeline,
            pipeline_version=version,
            trigger=trigger,
            triggered_by=user,
            inputs=resolved,
            rerun_of=rerun_of,
        )
        steps = []
        for position, (stage, step) in enumerate(spec.steps()):
            strategy = spec.failure_strategy_for(step)
            steps.append(
                StepRun(
                    run=run,
                    stage_index=spec.stages.index(stage),
                    stage_name=stage.name,
                    parallel=stage.parallel,
                    position=position,
                    name=step.name,
                    type=step.type,
                    max_attempts=strategy.retries + 1,
                    retry_backoff_s=strategy.retry_backoff_s,
                    on_failure=strategy.on_failure,
                    time_limit_s=step_time_limit(step),
                )
            )
        StepRun.objects.bulk_create(steps)
        AuditEvent.objects.record(
            user or "system",
            "run.started",
            run,
            {"pipeline": pipeline.slug, "version": version.number, "trigger": trigger, "inputs": resolved},
        )
        advance_later(run.pk)
    return run


def advance_later(run_id):
    """Queue ``advance`` for the run once the current transaction commits."""
    dispatch.advance_run(run_id)


def enqueue_step(step, backoff=True):
    """Send the step's task (its queue and limits by its type) once the transaction commits."""
    queue = "training" if step.type in TRAINING_STEP_TYPES else "default"
    countdown = step.retry_backoff_s * (2 ** max(step.attempt - 2, 0)) if backoff and step.attempt > 1 else 0
    # Per call, the step's own limits replace the worker's global ones: the soft limit raises
    # SoftTimeLimitExceeded in the step (recorded by execute), the hard one kills a step that ignores it.
    limit = _time_limit_of(step)
    dispatch.execute_step(
        step.pk,
        step.attempt,
        queue=queue,
        countdown=countdown,
        soft_time_limit=limit,
        time_limit=limit + HARD_LIMIT_GRACE_S,
    )


def _queue(step, backoff=True):
    """Mark the step queued for its next attempt and send it once the transaction commits.

    Retries after a failure wait retry_backoff_s, doubling each time; a step whose worker died goes at once."""
    step.status = StepStatus.QUEUED
    step.attempt += 1
    step.queued_at = timezone.now()
    step.save(update_fields=["status", "attempt", "queued_at"])
    enqueue_step(step, backoff)


@retry_on_deadlock
def advance(run_id):
    """Look at the run under a row lock and queue whatever may run next; finish it when nothing is left."""
    with transaction.atomic():
        # of=("self",): lock the run row only; a plain FOR UPDATE would also lock the joined pipeline row and
        # make every run of a pipeline wait for the others.
        run = PipelineRun.objects.select_for_update(of=("self",)).select_related("pipeline").get(pk=run_id)
        if run.status in RUN_FINISHED:
            return run.status
        steps = list(run.steps.order_by("position"))
        if run.status == RunStatus.QUEUED:
            run.set_status(RunStatus.RUNNING)
        aborted = next((s for s in steps if s.status == StepStatus.FAILED and s.on_failure == "abort"), None)
        if aborted:
            _end(run, steps, RunStatus.FAILED, f"step '{aborted.name}': {aborted.error}")
            return run.status
        for stage_index in sorted({s.stage_index for s in steps}):
            stage = [s for s in steps if s.stage_index == stage_index]
            if all(s.finished for s in stage):
                continue
            if any(s.status == StepStatus.WAITING_APPROVAL for s in stage):
                if run.status != RunStatus.WAITING_APPROVAL:
                    run.set_status(RunStatus.WAITING_APPROVAL)
                    emit(Event.Kind.RUN_WAITING, run=run, status=run.status)
                return run.status
            if run.status == RunStatus.WAITING_APPROVAL:
                run.set_status(RunStatus.RUNNING)
            busy = any(s.status in (StepStatus.QUEUED, StepStatus.RUNNING, StepStatus.WAITING_TRIALS) for s in stage)
            pending = [s for s in stage if s.status == StepStatus.PENDING]
            for step in pending if stage[0].parallel else ([] if busy else pending[:1]):
                _queue(step)
            return run.status
        _end(run, steps, RunStatus.SUCCEEDED)
        return run.status


@retry_on_deadlock
def end_run(run_id, status, error=""):
    """End the run now with ``status`` (rejected or timed out by its approval, say): what has not finished is
    cancelled. Nothing happens to a run that has ended already."""
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update(of=("self",)).select_related("pipeline").get(pk=run_id)
        if run.status not in RUN_FINISHED:
            _end(run, list(run.steps.order_by("position")), status, error)
        return run.status


def _end(run, steps, status, error=""):
    """``run`` is locked by the caller. The event lets the file's notifications react after the commit."""
    _cancel_unfinished(steps)
    run.set_status(status, error=error)
    emit(Event.Kind.RUN_ENDED, run=run, status=status)


def _cancel_unfinished(steps):
    search.cancel([step.pk for step in steps if step.status == StepStatus.WAITING_TRIALS])
    for step in steps:
        if not step.finished:
            if step.status == StepStatus.RUNNING and step.celery_task_id:
                dispatch.revoke(step.celery_task_id)
            StepRun.objects.filter(pk=step.pk).update(status=StepStatus.CANCELLED, finished_at=timezone.now())
            step.status = StepStatus.CANCELLED


def _claim(step_id, attempt, task_id, host):
    """Take the step for this attempt; None when another worker has it or it is no longer wanted."""
    now = timezone.now()
    fields = {
        "status": StepStatus.RUNNING,
        "started_at": now,
        "heartbeat_at": now,
        "worker_host": host,
        "celery_task_id": task_id or "",
    }
    if StepRun.objects.filter(pk=step_id, attempt=attempt, status=StepStatus.QUEUED).update(**fields):
        return StepRun.objects.select_related("run__pipeline_version", "run__pipeline").get(pk=step_id)
    return None


def execute(step_id, attempt, task_id=None, host=None):
    """Run one attempt of one step (called by the Celery task, which names its worker as ``host``)."""
    step = _claim(step_id, attempt, task_id, host or socket.gethostname())
    if step is None:
        return "not claimed"
    # The heartbeat starts before anything slow (parsing, imports): a claimed step must never look dead.
    ctx = StepContext(step)
    try:
        with ctx:
            ctx.log(f"attempt {attempt} of {step.max_attempts} on {step.worker_host}")
            ctx.spec = _spec(step.run)
            ctx.step_spec = ctx.spec.step(step.name)
            outputs = step_class(step.type)().run(ctx) or {}
    except WaitForApproval:
        _finish(step, attempt, StepStatus.WAITING_APPROVAL, {})
    except WaitForTrials:
        # Parked, its worker freed; the last trial to finish queues it again (and if they all finished while it
        # was parking, this does).
        _finish(step, attempt, StepStatus.WAITING_TRIALS, {})
        search.resume_if_done(step.pk)
        return "waiting for trials"
    except SoftTimeLimitExceeded:
        # Not retried: an attempt that ran out of time would most likely do so again, holding a worker each time.
        _record_failure(step, attempt, timed_out_message(_time_limit_of(step)), "", {}, retry=False)
    except (OperationalError, InterfaceError) as exc:
        _connection_lost(step, attempt, exc)
    except Exception as exc:  # noqa: BLE001  (any failure of a step is recorded, never lost)
        expected = isinstance(exc, StepFailed)
        _record_failure(
            step,
            attempt,
            str(exc) or type(exc).__name__,
            "" if expected else format_exception(exc),
            getattr(exc, "outputs", None) or {},
        )
    else:
        _finish(step, attempt, StepStatus.SUCCEEDED, outputs)
    advance(step.run_id)
    return "done"


def _finish(step, attempt, status, outputs):
    fields = {"status": status, "outputs": outputs, "heartbeat_at": timezone.now()}
    if status == StepStatus.SUCCEEDED:
        fields.update(progress=100, finished_at=timezone.now())
    StepRun.objects.filter(pk=step.pk, attempt=attempt, status=StepStatus.RUNNING).update(**fields)


@retry_on_deadlock
def _record_failure(step, attempt, error, traceback, outputs, retry=True):
    with transaction.atomic():
        current = StepRun.objects.select_for_update().get(pk=step.pk)
        if current.status != StepStatus.RUNNING or current.attempt != attempt:
            return  # cancelled or taken over meanwhile
        current.error = error[:5000]
        current.traceback = traceback
        current.outputs = outputs
        current.log += f"{timezone.now():%H:%M:%S} attempt {attempt} failed: {error}\n"
        if retry and attempt < current.max_attempts:
            current.save(update_fields=["error", "traceback", "log", "outputs"])
            _queue(current)
        else:
            current.status = StepStatus.FAILED
            current.finished_at = timezone.now()
            current.save(update_fields=["status", "finished_at", "error", "traceback", "log", "outputs"])


@retry_on_deadlock
def cancel(run, user):
    """Cancel a run: running steps are revoked, the rest marked cancelled."""
    with transaction.atomic():
        run = PipelineRun.objects.select_for_update().get(pk=run.pk)
        if run.status in RUN_FINISHED:
            return False
        _cancel_unfinished(list(run.steps.all()))
        pending = ApprovalRequest.objects.filter(run=run, status=ApprovalStatus.PENDING)
        for approval in pending:
            # Nothing is left to decide: the reviewers' "Approval needed" notifications are read.
            Notification.objects.read_about(approval.get_absolute_url())
        pending.update(status=ApprovalStatus.CANCELLED, decided_at=timezone.now())
        run.set_status(RunStatus.CANCELLED)
        AuditEvent.objects.record(user, "run.cancel_requested", run)
    return True


def rerun(run, user):
    """A new run of the same pipeline version with the same inputs."""
    return start_run(run.pipeline, user, run.inputs, Trigger.RERUN, version=run.pipeline_version, rerun_of=run)


def _try_again_after_loss(current, note, now):
    """A lost worker or database connection is not the step's fault: even a step without retries is tried once
    more. ``current`` is locked by the caller."""
    current.log += f"{now:%H:%M:%S} {note}\n"
    current.error = note
    if current.attempt < max(current.max_attempts, 2):
        current.save(update_fields=["log", "error"])
        _queue(current, backoff=False)
    else:
        current.status = StepStatus.FAILED
        current.finished_at = now
        current.save(update_fields=["log", "error", "status", "finished_at"])
        advance_later(current.run_id)


@retry_on_deadlock
def _connection_lost(step, attempt, exc):
    """The database dropped this worker's connection mid-step (a restart, a failover): try again at once rather
    than wait for the reaper to notice a silent step."""
    connection.close()  # the next query opens a fresh connection
    with transaction.atomic():
        current = StepRun.objects.select_for_update().get(pk=step.pk)
        if current.status != StepStatus.RUNNING or current.attempt != attempt:
            return
        first_line = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
        _try_again_after_loss(current, f"attempt {attempt} lost its database connection: {first_line}", timezone.now())


def _past_time_limit(step, now):
    """Whether the step has run past its limit and the grace after it: its worker was killed for the hard limit."""
    limit = _time_limit_of(step) + HARD_LIMIT_GRACE_S
    return step.started_at is not None and now - step.started_at > timedelta(seconds=limit)


def _fail_timed_out(current, now):
    """A step whose process was killed at its hard time limit: failed as timed out, not tried again as a lost
    worker would be. ``current`` is locked by the caller."""
    message = timed_out_message(_time_limit_of(current))
    current.log += f"{now:%H:%M:%S} {message}\n"
    current.error = message
    current.status = StepStatus.FAILED
    current.finished_at = now
    current.save(update_fields=["log", "error", "status", "finished_at"])
    advance_later(current.run_id)


def reap(now=None):
    """Periodic: re-queue steps whose worker died, re-send lost messages, nudge stalled runs."""
    now = now or timezone.now()
    reaped = 0
    stale = now - stale_after()
    for step in StepRun.objects.filter(status=StepStatus.RUNNING, heartbeat_at__lt=stale):
        with transaction.atomic():
            current = StepRun.objects.select_for_update().get(pk=step.pk)
            if current.status != StepStatus.RUNNING or current.heartbeat_at >= stale:
                continue
            if _past_time_limit(current, now):
                _fail_timed_out(current, now)
                reaped += 1
                continue
            _try_again_after_loss(
                current, f"the worker {current.worker_host} stopped answering during attempt {current.attempt}", now
            )
            reaped += 1
    for step in StepRun.objects.filter(status=StepStatus.QUEUED, queued_at__lt=now - lost_after()):
        with transaction.atomic():
            # Stamp it so that a step still waiting for a busy worker is re-sent once per period, not on every pass.
            if StepRun.objects.filter(pk=step.pk, status=StepStatus.QUEUED, attempt=step.attempt).update(queued_at=now):
                enqueue_step(step, backoff=False)
                reaped += 1
    reaped += search.reap(stale, now - lost_after())
    for run in PipelineRun.objects.filter(
        status__in=[RunStatus.QUEUED, RunStatus.RUNNING], created_at__lt=now - lost_after()
    ):
        if not run.steps.filter(
            status__in=[StepStatus.QUEUED, StepStatus.RUNNING, StepStatus.WAITING_APPROVAL, StepStatus.WAITING_TRIALS]
        ).exists():
            with transaction.atomic():
                advance_later(run.pk)
    return reaped
