"""Attack 7 of issue 13: JSON built to crash the parser or what reads it.

JSON nested 2,000 deep made serving's fallback parser raise RecursionError and every DRF endpoint do the same;
integers of thousands of digits made int() raise ValueError or float() OverflowError. Each was a 500, and serving
did not count it. Now each is a 400 with the reason, and serving counts it as a refused request.
"""

import pytest

from pipelines_app.models import ApiToken, PredictionLog
from pipelines_app.serving.prediction_log import drain
from tests.conftest import api_client, deploy_demo_model
from tests.serving.conftest import _fresh_caches, _logs_flushed_in_the_request  # noqa: F401

URL = "/serve/credit-card-approval/staging/invocations"
DEEP = b"[" * 2000 + b"]" * 2000
LONG_NUMBER = b"1" * 5000


@pytest.fixture
def scoring(demo_dataset, environments, editor, client):
    """The demo model serving in staging, and a way to post raw bytes to it with a token."""
    deploy_demo_model(demo_dataset, "credit-card-approval", "staging")
    token = ApiToken.objects.issue(editor)[1]

    def post(body):
        return client.post(URL, data=body, content_type="application/json", HTTP_AUTHORIZATION=f"Token {token}")

    return post


def refused_in_monitoring():
    drain()
    return PredictionLog.objects.filter(status_code=400).count()


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"dataframe_records": ' + DEEP + b"}", "nested too deeply"),
        (b'{"dataframe_records": [{"age": ' + LONG_NUMBER + b"}]}", "5,000 digits"),
        # Few enough digits for int(), too many for the float a numeric column is typed as.
        (b'{"dataframe_records": [{"age": ' + b"9" * 400 + b"}]}", "400 digits"),
    ],
    ids=["nested-2000-deep", "5000-digit-integer", "integer-beyond-a-float"],
)
def test_scoring_refuses_hostile_json_with_400_and_counts_it(scoring, body, reason):
    response = scoring(body)

    assert response.status_code == 400
    assert reason in response.json()["message"]
    assert refused_in_monitoring() == 1


def test_scoring_refuses_a_deeply_nested_cell_without_writing_it_out(scoring):
    # Shallow enough for orjson (1,024 levels), deep enough to exhaust json.dumps when the problem quoted the value.
    cell = b"[" * 1000 + b"]" * 1000
    response = scoring(b'{"dataframe_records": [{"age": ' + cell + b"}]}")

    assert response.status_code == 400
    assert {"row": 0, "column": "age", "problem": "a list is not a number"} in response.json()["problems"]
    assert refused_in_monitoring() == 1


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"yaml": ' + DEEP + b"}", "nested more than 64 deep"),
        (b'{"yaml": "x", "note": ' + LONG_NUMBER + b"}", "5,000 digits"),
        (b'{"yaml": "x", "note": 1e999}', "too large"),
        (b'{"yaml": "x", "note": NaN}', "not a JSON number"),
    ],
    ids=["nested-2000-deep", "5000-digit-integer", "float-overflow", "nan"],
)
def test_api_refuses_hostile_json_with_400_and_the_reason(editor, environments, body, reason):
    client = api_client(editor)

    response = client.post("/api/v1/pipelines/validate/", data=body, content_type="application/json")

    assert response.status_code == 400
    assert reason in response.json()["detail"]


def test_every_api_endpoint_uses_the_bounded_parser(editor, credit_pipeline):
    client = api_client(editor)
    # Endpoints without parsers of their own: feedback, starting a run.
    for url in ("/api/v1/feedback/", f"/api/v1/pipelines/{credit_pipeline.slug}/runs/"):
        response = client.post(url, data=b'{"inputs": ' + DEEP + b"}", content_type="application/json")
        assert response.status_code == 400, url
        assert "nested more than 64 deep" in response.json()["detail"], url
    assert not credit_pipeline.runs.exists()
