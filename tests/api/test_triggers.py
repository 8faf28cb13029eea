"""Webhook (signed) and schedule (cron → beat rows) triggers."""

import json
import time

import pytest
from django.core.cache import cache
from django_celery_beat.models import PeriodicTask
from rest_framework.test import APIClient

from pipelines_app.engine.triggers import record_webhook_rejections, signature_for, start_for_drift
from pipelines_app.models import AuditEvent, Pipeline, PipelineRun

pytestmark = pytest.mark.usefixtures("environments")


@pytest.fixture(autouse=True)
def _fresh_counters(redis_url):
    # Webhook refusals are counted in the cache (Redis); each test starts from none.
    cache.clear()


TEXT = """version: 1
name: hooked
model: hooked-model
inputs:
  n: {type: integer, default: 5}
triggers:
  - {type: webhook}
  - {type: schedule, cron: "0 3 * * 1"}
  - {type: drift}
stages:
  - name: data
    steps:
      - {name: load, type: ingest, dataset: credit-card-applications}
"""


@pytest.fixture
def pipeline(editor):
    return Pipeline.objects.create_from_yaml(TEXT, editor)


def hook(pipeline, body, signature=None):
    headers = {} if signature is None else {"HTTP_X_SIGNATURE_256": signature}
    return APIClient().post(
        f"/api/v1/hooks/pipelines/{pipeline.slug}/", data=body, content_type="application/json", **headers
    )


def test_a_signed_webhook_starts_a_run(pipeline):
    body = json.dumps({"inputs": {"n": 9}}).encode()
    response = hook(pipeline, body, signature_for(pipeline.webhook_secret, body))
    assert response.status_code == 201, response.content
    run = PipelineRun.objects.get()
    assert run.trigger == "webhook" and run.inputs == {"n": 9}


@pytest.mark.parametrize("signature", [None, "sha256=" + "0" * 64, "nonsense"])
def test_a_missing_or_wrong_signature_is_403_and_audited(pipeline, signature):
    response = hook(pipeline, b"{}", signature)
    assert response.status_code == 403
    assert not PipelineRun.objects.exists()
    # Refusals are audited once the minute is over, as one event with their count (tests/security/test_webhooks.py).
    record_webhook_rejections(now=time.time() + 60)
    event = AuditEvent.objects.get(verb="webhook.rejected", object_id=str(pipeline.pk))
    assert event.payload["count"] == 1


def test_a_signature_over_another_body_is_refused(pipeline):
    signature = signature_for(pipeline.webhook_secret, b'{"inputs": {"n": 1}}')
    assert hook(pipeline, b'{"inputs": {"n": 2}}', signature).status_code == 403


def test_bad_bodies_are_400(pipeline):
    for body in (b"not json", b'{"inputs": [1]}', b'{"inputs": {"n": "x"}}'):
        assert hook(pipeline, body, signature_for(pipeline.webhook_secret, body)).status_code == 400
    assert not PipelineRun.objects.exists()


def test_a_pipeline_without_a_webhook_trigger_refuses(pipeline, editor):
    pipeline.save_version(TEXT.replace("  - {type: webhook}\n", ""), editor)
    body = b"{}"
    assert hook(pipeline, body, signature_for(pipeline.webhook_secret, body)).status_code == 409


def test_schedules_follow_the_file(pipeline, editor):
    task = PeriodicTask.objects.get(name__startswith=f"pipeline-schedule:{pipeline.pk}:")
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("0", "3", "1")
    assert json.loads(task.args) == [pipeline.pk]
    pipeline.save_version(TEXT.replace('cron: "0 3 * * 1"', 'cron: "30 4 * * *"'), editor)
    task = PeriodicTask.objects.get(name__startswith=f"pipeline-schedule:{pipeline.pk}:")
    assert (task.crontab.minute, task.crontab.hour, task.crontab.day_of_week) == ("30", "4", "*")
    pipeline.save_version(TEXT.replace('  - {type: schedule, cron: "0 3 * * 1"}\n', ""), editor)
    assert not PeriodicTask.objects.filter(name__startswith="pipeline-schedule:").exists()


def test_archiving_removes_the_schedule(pipeline, editor):
    pipeline.archive(editor)
    assert not PeriodicTask.objects.filter(name__startswith="pipeline-schedule:").exists()
    pipeline.restore(editor)
    assert PeriodicTask.objects.filter(name__startswith="pipeline-schedule:").count() == 1


def test_the_scheduled_task_starts_a_run(pipeline):
    from pipelines_app.tasks import start_scheduled_run

    run_id = start_scheduled_run(pipeline.pk)
    assert PipelineRun.objects.get(pk=run_id).trigger == "schedule"


def test_drift_hook_starts_pipelines_with_a_drift_trigger(pipeline, editor):
    Pipeline.objects.create_from_yaml(
        TEXT.replace("name: hooked", "name: other").replace("  - {type: drift}\n", ""), editor
    )
    runs = start_for_drift("hooked-model", {"feature": "income"})
    assert [r.pipeline.slug for r in runs] == ["hooked"]
    assert runs[0].trigger == "drift"
