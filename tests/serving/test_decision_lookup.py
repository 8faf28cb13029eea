"""The decision lookup: GET /api/v1/predictions/<request_id>/ and /decisions/?id=…, what a compliance or
customer-service person opens to answer "why was this application declined?"."""

import math

import pytest

from pipelines_app.models import ApiToken
from pipelines_app.serving.prediction_log import drain
from tests.serving.conftest import RECORD

URL = "/serve/credit-card-approval/staging/invocations"
DECLINED = {**RECORD, "reports": 9, "income": 1.1, "majorcards": 0, "active": 0, "age": None}


@pytest.fixture
def scored(client, deployed, editor):
    """Two applications scored in one request (the second declined, with a missing age), logged; the answer."""
    token = ApiToken.objects.issue(editor)[1]
    response = client.post(
        URL,
        {"dataframe_records": [RECORD, DECLINED]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
        HTTP_X_REQUEST_ID="app-2026-0001",
    )
    assert response.status_code == 200
    assert drain() == 1
    return response.json()


def test_the_api_gives_inputs_answer_version_reasons_and_label(client_for, viewer, editor, scored, deployed):
    row_id = scored["request_ids"][1]
    feedback = {"request_id": row_id, "label": "no"}
    assert client_for(editor).post("/api/v1/feedback/", feedback, content_type="application/json").status_code == 200
    api = client_for(viewer)
    body = api.get(f"/api/v1/predictions/{row_id}/").json()
    assert body["request_id"] == row_id and body["client_request_id"] == "app-2026-0001"
    assert body["model"] == "credit-card-approval" and body["environment"] == "staging"
    assert body["version"] == deployed.version
    assert body["prediction"] == scored["predictions"][1] == "no"
    assert body["score"] == pytest.approx(scored["probabilities"][1])
    assert body["inputs"]["reports"] == 9 and body["inputs"]["age"] is None
    assert body["label"] == "no"
    explanation = body["explanation"]
    total = explanation["base"] + sum(explanation["contributions"].values())
    assert math.isclose(total, math.log(body["score"] / (1 - body["score"])), abs_tol=1e-6)
    assert explanation["reasons"][0] == min(explanation["contributions"], key=explanation["contributions"].get)
    # The caller's own id names the same row (<id>-<row> in a batch).
    assert api.get("/api/v1/predictions/app-2026-0001-1/").json()["request_id"] == row_id


def test_an_unknown_id_is_a_404_and_anonymous_callers_are_refused(client, client_for, viewer, scored):
    assert client_for(viewer).get("/api/v1/predictions/nothing-like-it/").status_code == 404
    assert client.get(f"/api/v1/predictions/{scored['request_ids'][0]}/").status_code in (401, 403)


def test_the_page_shows_the_reasons_of_a_declined_application(client_for, viewer, scored):
    row_id = scored["request_ids"][1]
    page = client_for(viewer).get("/decisions/", {"id": row_id})
    assert page.status_code == 200
    text = page.content.decode()
    assert "Principal reasons" in text and row_id in text and "reports" in text and "missing" in text


def test_the_page_answers_bad_ids_with_a_4xx_and_says_why(client, client_for, viewer, db):
    page = client_for(viewer)
    assert page.get("/decisions/").status_code == 200  # the empty lookup form
    unknown = page.get("/decisions/", {"id": "<script>alert(1)</script>"})
    assert unknown.status_code == 404 and "No answered request" in unknown.content.decode()
    assert "<script>alert(1)</script>" not in unknown.content.decode()  # shown as text
    assert page.get("/decisions/", {"id": "x" * 81}).status_code == 400
    assert client.get("/decisions/").status_code == 302  # anonymous: to the login page


def test_ids_no_row_can_have_are_404_not_errors(client_for, viewer, db):
    api = client_for(viewer)
    for bad in ("%00", "a%0Ab", "x" * 200):
        assert api.get(f"/api/v1/predictions/{bad}/").status_code == 404
    assert api.get("/decisions/", {"id": "a\x00b"}).status_code == 404


def test_the_lookup_reads_a_fixed_handful_of_rows(client_for, viewer, scored, django_assert_max_num_queries):
    # The row, its version, deployment, model and environment, the label; the model is already loaded.
    api = client_for(viewer)
    with django_assert_max_num_queries(12):
        assert api.get(f"/api/v1/predictions/{scored['request_ids'][1]}/").status_code == 200


def test_reasons_asked_for_are_logged_with_the_prediction_in_the_columns_own_words(
    client, client_for, editor, viewer, deployed
):
    from pipelines_app.models import PredictionLog

    dataset = deployed.dataset_version.dataset
    dataset.describe_columns({"reports": "Major derogatory reports", "income": "Yearly income"}, editor)
    token = ApiToken.objects.issue(editor)[1]
    response = client.post(
        URL + "?explain=3",
        {"dataframe_records": [DECLINED]},
        content_type="application/json",
        HTTP_AUTHORIZATION=f"Token {token}",
    )
    assert response.status_code == 200
    given = response.json()["explanations"][0]
    assert "reports" in given["reasons"]
    assert given["reason_texts"][given["reasons"].index("reports")] == "Major derogatory reports"
    assert drain() == 1
    logged = PredictionLog.objects.get(request_id=response["X-Request-ID"])
    assert logged.explanations == [given]
    # The lookup shows what the caller was given, as logged, in the columns' words.
    body = client_for(viewer).get(f"/api/v1/predictions/{response['X-Request-ID']}/").json()
    assert body["explanation"]["logged"] is True and body["explanation"]["reasons"] == given["reasons"]
    page = client_for(viewer).get("/decisions/", {"id": response["X-Request-ID"]}).content.decode()
    assert "Major derogatory reports <small" in page and "as logged" in page


def test_a_request_without_explain_logs_no_explanation(client, editor, deployed):
    from pipelines_app.models import PredictionLog

    token = ApiToken.objects.issue(editor)[1]
    response = client.post(
        URL, {"dataframe_records": [RECORD]}, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}"
    )
    assert response.status_code == 200 and "explanations" not in response.json()
    assert drain() == 1
    assert PredictionLog.objects.get(request_id=response["X-Request-ID"]).explanations is None
