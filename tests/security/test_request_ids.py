"""Attack 8 of issue 13: traffic hidden from monitoring by choosing the X-Request-ID.

A caller's X-Request-ID used to be the request's id: the same id twice was logged once, and the id decided
canary or primary. Now the server's id names every request and routes it; the caller's is kept beside it.
"""

import json

import pytest

from pipelines_app.engine.deployments import deploy_version
from pipelines_app.engine.runs import start_run
from pipelines_app.models import ApiToken, Environment, Feedback, PredictionLog
from pipelines_app.serving.prediction_log import drain
from tests.conftest import api_client
from tests.serving.conftest import RECORD, _fresh_caches, _logs_flushed_in_the_request  # noqa: F401


@pytest.fixture
def versions(credit_pipeline, run_inline, editor):
    """Two trained versions of the demo model; the first serves in production."""
    first = run_inline(start_run(credit_pipeline, editor)).model_version
    second = run_inline(start_run(credit_pipeline, editor, {"max_iter": 200})).model_version
    deploy_version(Environment.objects.get(name="production"), first, "system")
    return first, second


@pytest.fixture
def token(editor):
    return ApiToken.objects.issue(editor)[1]


def score(client, token, client_id=None, records=(RECORD,)):
    headers = {"HTTP_AUTHORIZATION": f"Token {token}"}
    if client_id is not None:
        headers["HTTP_X_REQUEST_ID"] = client_id
    return client.post(
        "/serve/credit-card-approval/production/invocations",
        data=json.dumps({"dataframe_records": list(records)}),
        content_type="application/json",
        **headers,
    )


def drain_all():
    while drain():
        pass


def test_two_requests_with_the_same_request_id_are_two_log_rows(client, versions, token):
    first, _ = versions
    answers = [score(client, token, "order-42") for _ in range(2)]
    refused = score(client, token, "order-42", records=[{"age": "old"}])
    assert [a.status_code for a in answers] == [200, 200] and refused.status_code == 400
    server_ids = [a["X-Request-ID"] for a in [*answers, refused]]
    assert len(set(server_ids)) == 3 and "order-42" not in server_ids
    drain_all()
    logged = PredictionLog.objects.filter(client_request_id="order-42").order_by("id")
    assert [(p.request_id, p.status_code) for p in logged] == list(zip(server_ids, (200, 200, 400), strict=True))
    assert all(p.model_version == first for p in logged)


def test_a_callers_request_id_is_kept_exactly_as_sent(client, versions, token):
    client_id = 'order 42 \\ "a" 100%'  # printable ASCII, with what COPY and SQL must escape
    response = score(client, token, client_id)
    drain_all()
    assert PredictionLog.objects.get(request_id=response["X-Request-ID"]).client_request_id == client_id


def test_the_same_request_id_lands_on_both_sides_of_a_canary(client, versions, token):
    first, second = versions
    deploy_version(Environment.objects.get(name="production"), second, "system", "canary", 50)
    answers = [score(client, token, "always-the-same") for _ in range(40)]
    # Both sides: one side alone would happen once in 2^39 runs.
    assert {a["X-Deployment-Role"] for a in answers} == {"primary", "canary"}
    drain_all()
    logged = PredictionLog.objects.filter(client_request_id="always-the-same")
    assert logged.count() == 40
    assert set(logged.values_list("role", "model_version")) == {("primary", first.pk), ("canary", second.pk)}


def test_feedback_joins_a_label_by_the_callers_request_id(client, versions, token, editor):
    score(client, token, "loan-7")
    latest = score(client, token, "loan-7")  # a reused id: its latest request is the one meant
    batch = score(client, token, "batch-9", records=[RECORD, RECORD])
    labels = [{"request_id": "loan-7", "label": "no"}, {"request_id": "batch-9-1", "label": "yes"}]
    answer = api_client(editor).post("/api/v1/feedback/", labels, format="json").json()
    assert answer == {"accepted": 2, "unknown": [], "problems": []}
    # Stored under the server's row ids, so that labelling a row by either id keeps one label.
    single = Feedback.objects.get(request_id=latest["X-Request-ID"])
    assert single.label == "no" and single.prediction_log.client_request_id == "loan-7"
    row = Feedback.objects.get(request_id=batch.json()["request_ids"][1])
    assert row.label == "yes" and row.row == 1
    again = [{"request_id": batch.json()["request_ids"][1], "label": "no"}]
    assert api_client(editor).post("/api/v1/feedback/", again, format="json").json()["accepted"] == 1
    assert Feedback.objects.count() == 2 and Feedback.objects.get(pk=row.pk).label == "no"


def test_a_callers_id_cannot_take_over_another_requests_row_or_label(client, versions, token, editor):
    victim = score(client, token)["X-Request-ID"]
    other = score(client, token, victim)["X-Request-ID"]  # a second caller sends the first one's id as its own
    drain_all()
    assert PredictionLog.objects.get(request_id=other).client_request_id == victim
    labels = [{"request_id": victim, "label": "no"}]
    assert api_client(editor).post("/api/v1/feedback/", labels, format="json").json()["accepted"] == 1
    assert Feedback.objects.get().prediction_log.request_id == victim  # the server's id is looked up first


@pytest.mark.parametrize("client_id", ["x" * 65, "caf\u00e9", "tab\there"])
def test_a_request_id_that_cannot_be_kept_is_refused_and_counted(client, versions, token, client_id):
    response = score(client, token, client_id)
    assert response.status_code == 400
    assert "X-Request-ID" in response.json()["message"]
    drain_all()
    refused = PredictionLog.objects.get(request_id=response["X-Request-ID"])
    assert refused.status_code == 400 and refused.client_request_id is None
