"""Attack 9 of issue 13 (webhook replay, audit flooding, slugs told apart by 404 and 403), the non-ASCII
X-Signature-256 of attack 7, and webhook secrets at rest.

A signed delivery could be replayed forever, its secret never changed; every anonymous bad signature wrote an
audit row under the chain's lock; an unknown slug answered 404 where a known one answered 403.
"""

import json
import time
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from pipelines_app.engine.triggers import record_webhook_rejections, signature_for
from pipelines_app.models import AuditEvent, Pipeline, PipelineRun

pytestmark = pytest.mark.usefixtures("environments")

TEXT = """version: 1
name: hooked
model: hooked-model
inputs:
  n: {type: integer, default: 5}
triggers:
  - {type: webhook}
stages:
  - name: data
    steps:
      - {name: load, type: ingest, dataset: credit-card-applications}
"""
BODY = json.dumps({"inputs": {"n": 7}}).encode()


@pytest.fixture(autouse=True)
def _fresh_counters(redis_url):
    # Refusal counters and seen signatures live in the cache; each test starts from none.
    cache.clear()


@pytest.fixture
def within_one_minute():
    """Counters are per clock minute: start a test that counts where its requests cannot straddle two."""
    if time.time() % 60 > 45:
        time.sleep(60 - time.time() % 60 + 0.1)


@pytest.fixture
def pipeline(editor):
    return Pipeline.objects.create_from_yaml(TEXT, editor)


def hook(slug, body=BODY, signature=None, timestamp=None, address="127.0.0.1"):
    headers = {"REMOTE_ADDR": address}
    if signature is not None:
        headers["HTTP_X_SIGNATURE_256"] = signature
    if timestamp is not None:
        headers["HTTP_X_SIGNATURE_TIMESTAMP"] = str(timestamp)
    return APIClient().post(f"/api/v1/hooks/pipelines/{slug}/", data=body, content_type="application/json", **headers)


def timestamped(secret, body=BODY, at=None):
    timestamp = int(at if at is not None else time.time())
    return {"signature": signature_for(secret, body, timestamp), "timestamp": timestamp}


def test_a_timestamped_signature_starts_a_run(pipeline):
    response = hook(pipeline.slug, **timestamped(pipeline.webhook_secret))
    assert response.status_code == 201, response.content
    assert PipelineRun.objects.get().inputs == {"n": 7}


def test_a_timestamped_delivery_cannot_be_replayed(pipeline):
    signed = timestamped(pipeline.webhook_secret)
    assert hook(pipeline.slug, **signed).status_code == 201
    replay = hook(pipeline.slug, **signed)
    assert replay.status_code == 403
    assert "used already" in replay.json()["detail"]
    assert PipelineRun.objects.count() == 1


@pytest.mark.parametrize("offset", [-301, 301, -3600])
def test_a_timestamp_more_than_five_minutes_off_is_refused(pipeline, offset):
    response = hook(pipeline.slug, **timestamped(pipeline.webhook_secret, at=time.time() + offset))
    assert response.status_code == 403
    assert "5 minutes" in response.json()["detail"]
    assert hook(pipeline.slug, **timestamped(pipeline.webhook_secret, at=time.time() - 250)).status_code == 201
    assert PipelineRun.objects.count() == 1


def test_a_signature_moved_to_another_timestamp_is_refused(pipeline):
    signed = timestamped(pipeline.webhook_secret)
    assert hook(pipeline.slug, signed["signature"], timestamp=signed["timestamp"] + 1).status_code == 403
    assert not PipelineRun.objects.exists()


def test_untimestamped_signatures_still_work_unless_the_site_requires_timestamps(pipeline, settings):
    signature = signature_for(pipeline.webhook_secret, BODY)
    assert hook(pipeline.slug, signature=signature).status_code == 201
    settings.WEBHOOK_REQUIRE_TIMESTAMP = True
    refused = hook(pipeline.slug, signature=signature)
    assert refused.status_code == 403 and "X-Signature-Timestamp" in refused.json()["detail"]
    assert PipelineRun.objects.count() == 1


def test_an_editor_rotates_the_secret_and_the_old_one_works_through_the_grace_period(pipeline, client_for, editor):
    old = pipeline.webhook_secret
    page = client_for(editor).post(f"/pipelines/{pipeline.slug}/webhook/rotate/", follow=True)
    assert page.status_code == 200
    pipeline.refresh_from_db()
    new = pipeline.webhook_secret
    assert new != old and new in page.content.decode()  # the new secret is shown to the editor
    assert "The old one keeps working until" in page.content.decode()
    assert hook(pipeline.slug, **timestamped(new)).status_code == 201
    assert hook(pipeline.slug, **timestamped(old, at=time.time() - 1)).status_code == 201
    rotated = AuditEvent.objects.get(verb="pipeline.webhook_secret_rotated")
    assert rotated.actor == editor and rotated.object_id == str(pipeline.pk)
    # The grace period (WEBHOOK_SECRET_GRACE_HOURS, 24 by default) ends: the old secret stops working.
    assert pipeline.previous_webhook_secret_until > timezone.now() + timedelta(hours=23)
    Pipeline.objects.filter(pk=pipeline.pk).update(previous_webhook_secret_until=timezone.now())
    assert hook(pipeline.slug, **timestamped(old, at=time.time() - 2)).status_code == 403
    assert hook(pipeline.slug, **timestamped(new, at=time.time() - 2)).status_code == 201


def test_with_no_grace_period_the_old_secret_stops_at_once(pipeline, client_for, editor, settings):
    settings.WEBHOOK_SECRET_GRACE_HOURS = 0
    old = pipeline.webhook_secret
    client_for(editor).post(f"/pipelines/{pipeline.slug}/webhook/rotate/")
    assert hook(pipeline.slug, **timestamped(old)).status_code == 403


def test_a_viewer_cannot_rotate_the_secret_nor_see_it(pipeline, client_for, viewer):
    old = pipeline.sealed_webhook_secret
    viewer_client = client_for(viewer)
    assert viewer_client.post(f"/pipelines/{pipeline.slug}/webhook/rotate/").status_code == 403
    assert viewer_client.get(f"/pipelines/{pipeline.slug}/webhook/rotate/").status_code == 405
    pipeline.refresh_from_db()
    assert pipeline.sealed_webhook_secret == old
    assert pipeline.webhook_secret not in viewer_client.get(f"/pipelines/{pipeline.slug}/").content.decode()
    assert not AuditEvent.objects.filter(verb="pipeline.webhook_secret_rotated").exists()


def test_webhook_secrets_are_not_stored_in_clear(pipeline, client_for, editor):
    client_for(editor).post(f"/pipelines/{pipeline.slug}/webhook/rotate/")
    pipeline.refresh_from_db()
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM pipelines_app_pipeline WHERE id = %s", [pipeline.pk])
        row = " ".join(str(value) for value in cursor.fetchone())
    previous = pipeline.webhook_secrets()[1]
    assert pipeline.webhook_secret not in row and previous not in row
    assert pipeline.webhook_secret in client_for(editor).get(f"/pipelines/{pipeline.slug}/").content.decode()


def test_secrets_survive_a_new_secret_key_listed_in_the_fallbacks(pipeline, settings, client_for, editor):
    secret = pipeline.webhook_secret
    settings.SECRET_KEY_FALLBACKS = [settings.SECRET_KEY]
    settings.SECRET_KEY = "a-new-secret-key-" + "x" * 40
    assert hook(pipeline.slug, **timestamped(secret)).status_code == 201
    settings.SECRET_KEY_FALLBACKS = []
    # Without the old key the secret cannot be opened: deliveries are refused and the page says why.
    assert hook(pipeline.slug, **timestamped(secret, at=time.time() - 1)).status_code == 403
    page = client_for(editor).get(f"/pipelines/{pipeline.slug}/").content.decode()
    assert "cannot be read with this site" in page


def test_bad_signatures_make_one_audit_event_per_minute_with_their_count(pipeline, within_one_minute):
    for n in range(25):
        assert hook(pipeline.slug, signature="sha256=" + f"{n:064x}", address=f"10.0.0.{n}").status_code == 403
    hook(pipeline.slug)  # no signature at all
    assert not AuditEvent.objects.filter(verb="webhook.rejected").exists()  # nothing took the chain's lock
    assert record_webhook_rejections() == 0  # the minute has not ended
    assert record_webhook_rejections(now=time.time() + 60) == 1
    event = AuditEvent.objects.get(verb="webhook.rejected")
    assert event.object_type == "pipeline" and event.object_id == str(pipeline.pk)
    assert event.payload["count"] == 26
    assert event.payload["reasons"] == {"wrong signature": 25, "missing signature": 1}
    assert event.payload["first_address"] == "10.0.0.0"
    assert record_webhook_rejections(now=time.time() + 60) == 0  # recorded once


def test_too_many_bad_signatures_from_one_address_get_429(pipeline, settings, within_one_minute):
    settings.WEBHOOK_BAD_SIGNATURES_PER_MINUTE = 5
    answers = [hook(slug, signature="sha256=" + "0" * 64) for slug in [pipeline.slug, "no-such-pipeline"] * 3]
    assert [a.status_code for a in answers] == [403] * 5 + [429]
    assert 1 <= int(answers[-1]["Retry-After"]) <= 60
    assert hook(pipeline.slug, signature="x", address="10.1.1.1").status_code == 403  # another address is not held
    # The pipeline's own sender, with a valid signature, is not locked out by whoever floods it.
    assert hook(pipeline.slug, **timestamped(pipeline.webhook_secret)).status_code == 201


def test_too_many_bad_signatures_for_one_pipeline_get_429_whatever_the_address(pipeline, settings, within_one_minute):
    settings.WEBHOOK_BAD_SIGNATURES_PER_MINUTE = 5
    codes = [hook(pipeline.slug, signature="x", address=f"10.2.0.{n}").status_code for n in range(7)]
    assert codes == [403] * 5 + [429] * 2
    assert hook("other-slug", signature="x", address="10.3.0.1").status_code == 403


@pytest.mark.parametrize(
    "signature",
    [None, "", "sha256=" + "0" * 64, "nonsense", "sha256=é" + "0" * 63, "sha256=\u00ff\u00fe"],
    ids=["none", "empty", "zeros", "nonsense", "non-ascii", "latin-1"],
)
def test_an_unknown_slug_and_a_wrong_signature_get_the_same_answer(pipeline, signature):
    known = hook(pipeline.slug, signature=signature)
    unknown = hook("no-such-pipeline", signature=signature)
    assert known.status_code == unknown.status_code == 403
    assert known.content == unknown.content
    assert known.json() == {"detail": "Missing or wrong X-Signature-256, or no such pipeline."}


@pytest.mark.parametrize("signature", ["sha256=é", "sha256=" + "\u00e9" * 64, "\u00ff"])
def test_a_non_ascii_signature_is_a_wrong_signature_not_a_500(pipeline, signature):
    response = hook(pipeline.slug, signature=signature)
    assert response.status_code == 403
    assert response.json() == {"detail": "Missing or wrong X-Signature-256, or no such pipeline."}
    assert not PipelineRun.objects.exists()


@pytest.mark.parametrize("timestamp", ["é", "12abc", "9" * 5000, "-5", " "])
def test_a_malformed_timestamp_is_a_wrong_signature_not_a_500(pipeline, timestamp):
    response = hook(pipeline.slug, signature=signature_for(pipeline.webhook_secret, BODY), timestamp=timestamp)
    if timestamp.strip():
        assert response.status_code == 403
        assert response.json() == {"detail": "Missing or wrong X-Signature-256, or no such pipeline."}
    else:  # an empty header is no timestamp: the untimestamped signature holds
        assert response.status_code == 201


def test_a_valid_signature_over_json_nested_thousands_deep_is_400(pipeline):
    body = b"[" * 5000 + b"]" * 5000
    response = hook(pipeline.slug, body=body, **timestamped(pipeline.webhook_secret, body=body))
    assert response.status_code == 400
