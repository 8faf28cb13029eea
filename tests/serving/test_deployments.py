"""Deploy strategies and what follows: canary split, shadow, rollback, history at a time, feedback, integrity."""

import json
import time
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from pipelines_app.engine.deployments import deploy_version, rollback
from pipelines_app.engine.runs import start_run
from pipelines_app.models import (
    ApiToken,
    AuditEvent,
    Deployment,
    DeploymentEvent,
    Environment,
    Feedback,
    Notification,
    PredictionLog,
)
from pipelines_app.serving.prediction_log import drain
from tests.conftest import api_client, wait_for
from tests.serving.conftest import RECORD


@pytest.fixture
def versions(credit_pipeline, run_inline, editor, redis_url):
    """Two trained versions of the demo model; v1 serves in production."""
    first = run_inline(start_run(credit_pipeline, editor)).model_version
    second = run_inline(start_run(credit_pipeline, editor, {"max_iter": 200})).model_version
    production = Environment.objects.get(name="production")
    deploy_version(production, first, "system")
    return first, second


@pytest.fixture
def token(editor):
    return ApiToken.objects.issue(editor)[1]


def score(client, token, environment="production", request_id=None, record=RECORD):
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    if request_id:
        headers["HTTP_X_REQUEST_ID"] = request_id
    return client.post(
        f"/serve/credit-card-approval/{environment}/invocations",
        data=json.dumps({"dataframe_records": [record]}),
        content_type="application/json",
        **headers,
    )


def production():
    return Deployment.objects.get(environment__name="production")


def test_a_new_deployment_is_picked_up_without_a_restart(client, versions, token):
    first, second = versions
    assert score(client, token)["X-Model-Version"] == str(first.version)
    deploy_version(Environment.objects.get(name="production"), second, "system")
    started = time.monotonic()
    wait_for(lambda: score(client, token)["X-Model-Version"] == str(second.version), 3, 0.05, "the new version")
    assert time.monotonic() - started < 2.0


def test_a_canary_gets_its_share_of_traffic(client, versions, token):
    first, second = versions
    deploy_version(Environment.objects.get(name="production"), second, "system", "canary", 10)
    answered = [score(client, token) for _ in range(2000)]
    canary = [r for r in answered if r["X-Model-Version"] == str(second.version)]
    # 10% of 2,000 is 200; four standard deviations (13.4 each) either side: three failed about once in 370 runs.
    assert 146 <= len(canary) <= 254
    assert all(r["X-Deployment-Role"] == "canary" for r in canary)
    while drain():  # one buffer item per request here, more than one drain takes
        pass
    logged = PredictionLog.objects.filter(request_id__in=[r["X-Request-ID"] for r in canary])
    assert {(p.role, p.model_version_id) for p in logged} == {("canary", second.pk)}


def test_a_shadow_is_logged_but_never_answers(client, versions, token):
    first, second = versions
    deploy_version(Environment.objects.get(name="production"), second, "system", "shadow")
    response = score(client, token)
    assert response["X-Model-Version"] == str(first.version)
    assert "shadow" not in response.content.decode()
    drain()
    rows = {p.role: p for p in PredictionLog.objects.filter(request_id=response["X-Request-ID"])}
    assert set(rows) == {"primary", "shadow"}
    assert rows["shadow"].model_version == second and rows["shadow"].predictions[0] in ("yes", "no")
    assert rows["shadow"].inputs == rows["primary"].inputs
    assert rows["primary"].model_version == first


def test_rollback_goes_back_to_the_previous_primary_and_is_audited(client, versions, token, editor):
    first, second = versions
    deploy_version(Environment.objects.get(name="production"), second, "system")
    response = api_client(editor).post("/api/v1/deployments/production/credit-card-approval/rollback/")
    assert response.status_code == 200 and response.json()["primary_version"] == first.version
    assert production().primary_version == first
    event = AuditEvent.objects.get(verb="deployment.rolled_back")
    assert event.actor_name == editor.username and event.payload == {"from": second.version, "to": first.version}
    wait_for(lambda: score(client, token)["X-Model-Version"] == str(first.version), 3, 0.05, "the rollback to serve")
    again = api_client(editor).post("/api/v1/deployments/production/credit-card-approval/rollback/")
    assert again.status_code == 409 and "no earlier version" in again.json()["detail"]


def test_rolling_back_twice_walks_further_back(versions, editor, credit_pipeline, run_inline):
    first, second = versions
    third = run_inline(start_run(credit_pipeline, editor, {"max_iter": 300})).model_version
    environment = Environment.objects.get(name="production")
    deploy_version(environment, second, "system")
    deploy_version(environment, third, "system")
    assert rollback(production(), editor).primary_version == second
    assert rollback(production(), editor).primary_version == first


def test_viewers_cannot_roll_back(versions, viewer):
    response = api_client(viewer).post("/api/v1/deployments/production/credit-card-approval/rollback/")
    assert response.status_code == 403
    assert production().primary_version == versions[0]


def test_promote_and_abort_a_canary(versions, editor):
    first, second = versions
    environment = Environment.objects.get(name="production")
    client = api_client(editor)
    assert client.post("/api/v1/deployments/production/credit-card-approval/abort-canary/").status_code == 409
    deploy_version(environment, second, "system", "canary", 20)
    aborted = client.post("/api/v1/deployments/production/credit-card-approval/abort-canary/").json()
    assert aborted["canary_version"] is None and aborted["primary_version"] == first.version
    deploy_version(environment, second, "system", "canary", 20)
    promoted = client.post("/api/v1/deployments/production/credit-card-approval/promote-canary/").json()
    assert promoted["primary_version"] == second.version and promoted["canary_version"] is None
    verbs = set(AuditEvent.objects.values_list("verb", flat=True))
    assert {"deployment.canary_aborted", "deployment.canary_promoted"} <= verbs


def test_the_history_answers_which_version_served_at_a_time(versions, editor):
    first, second = versions
    deployment = production()
    DeploymentEvent.objects.filter(deployment=deployment).update(created_at=timezone.now() - timedelta(hours=2))
    deploy_version(Environment.objects.get(name="production"), second, "system")
    url = "/api/v1/deployments/production/credit-card-approval/"
    client = api_client(editor)
    hour_ago = (timezone.now() - timedelta(hours=1)).isoformat()
    assert client.get(url, {"at": hour_ago}).json()["at"]["primary_version"] == first.version
    assert client.get(url, {"at": timezone.now().isoformat()}).json()["at"]["primary_version"] == second.version
    long_ago = (timezone.now() - timedelta(days=1)).isoformat()
    assert client.get(url, {"at": long_ago}).json()["at"]["primary_version"] is None
    body = client.get(url).json()
    assert [e["action"] for e in body["history"]] == ["deploy", "deploy"]
    assert client.get(url, {"at": "yesterday"}).status_code == 400
    assert client.get(url, {"at": "2026-11-27T10:00:00"}).status_code == 400  # no time zone
    assert client.get("/api/v1/deployments/production/nope/").status_code == 404


def test_a_changed_model_file_is_refused_and_raises_an_alert(client, versions, token, admin_user):
    first, _ = versions
    Path(first.artifact.path).write_bytes(b"not the model")  # someone replaced the file in the artifact store
    response = score(client, token)
    assert response.status_code == 503 and "SHA-256" in response.json()["message"]
    assert AuditEvent.objects.filter(verb="serving.model_refused", object_id=str(first.pk)).exists()
    assert Notification.objects.filter(user=admin_user, message__contains="integrity check").exists()


def test_feedback_joins_labels_by_request_id(client, versions, token, editor):
    ids = [score(client, token)["X-Request-ID"] for _ in range(3)]
    response = api_client(editor).post(
        "/api/v1/feedback/",
        [
            {"request_id": ids[0], "label": "yes"},
            {"request_id": ids[1], "label": "no"},
            {"request_id": "x", "label": 1},
        ],
        format="json",
    )
    assert response.status_code == 200
    assert response.json() == {"accepted": 2, "unknown": ["x"], "problems": []}
    assert Feedback.objects.get(request_id=ids[0]).label == "yes"
    single = api_client(editor).post("/api/v1/feedback/", {"request_id": ids[2], "label": "yes"}, format="json")
    assert single.json()["accepted"] == 1
    # Rows of a batch have ids of their own.
    batch = client.post(
        "/serve/credit-card-approval/production/invocations",
        data=json.dumps({"dataframe_records": [RECORD, RECORD]}),
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    ).json()["request_ids"]
    labels = [{"request_id": batch[1], "label": "no"}, {"request_id": batch[1][:-1] + "7", "label": "no"}]
    joined = api_client(editor).post("/api/v1/feedback/", labels, format="json").json()
    assert joined["accepted"] == 1 and joined["unknown"] == [batch[1][:-1] + "7"]
    stored = Feedback.objects.get(request_id=batch[1])
    assert stored.row == 1 and stored.prediction_log.rows == 2


@pytest.mark.parametrize(
    "body", [[], {"label": "yes"}, {"request_id": "a"}, {"request_id": "a", "label": None}, "text", [1, 2]]
)
def test_unreadable_feedback_is_400(versions, editor, body):
    response = api_client(editor).post("/api/v1/feedback/", body, format="json")
    assert response.status_code == 400
    assert not Feedback.objects.exists()


def test_feedback_needs_an_editor(versions, viewer):
    assert (
        api_client(viewer).post("/api/v1/feedback/", {"request_id": "a", "label": 1}, format="json").status_code == 403
    )


def test_serving_goes_on_when_the_log_buffer_is_down(client, versions, token, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens there
    response = score(client, token)
    assert response.status_code == 200
    logged = PredictionLog.objects.get(request_id=response["X-Request-ID"])
    assert logged.predictions == response.json()["predictions"]


def test_a_log_neither_redis_nor_the_database_takes_is_counted_and_shown(client_for, versions, editor, settings):
    import time as clock

    from django.db import connection

    from pipelines_app.serving import prediction_log

    if connection.vendor != "postgresql":
        pytest.skip("SQLite stores a request id of any length, so the database never refuses this entry")
    deployment = production()
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # the buffer is down
    # A request id longer than the column: the database refuses the direct write too.
    prediction_log.record(
        {
            "request_id": "x" * 200,
            "rows": 0,
            "deployment_id": deployment.pk,
            "status_code": 400,
            "error": "",
            "created_at": clock.time(),
        }
    )
    assert Deployment.objects.get(pk=deployment.pk).logs_lost == 0  # counted once the database answers again
    prediction_log.write([])
    assert Deployment.objects.get(pk=deployment.pk).logs_lost == 1
    page = client_for(editor).get("/deployments/production/credit-card-approval/").content.decode()
    assert "Prediction logs lost" in page
