"""MLflow's own scoring-server cases, replayed against /serve/<model>/<environment>/invocations.

Each test below is one test of ``tests/pyfunc/test_scoring_server.py`` in the mlflow repository (named after it),
with the request it sends and the status, ``error_code`` and message it expects from ``mlflow models serve``;
ours must answer the same. MLflow's tests score a k-nearest-neighbours model on iris without a signature; here
the demo model (with its feature schema) gets the same requests built from the demo data. Where a model with a
signature makes MLflow answer differently, the test says so. The cases of the LLM models (chat, completions,
embeddings payloads), of the keras models' tensor inputs and of MLflow's parsing helpers called directly have no
counterpart for a tabular model over HTTP and are left out.

Two differences are deliberate: our errors never carry MLflow's ``stack_trace`` (a trace of the server's code is
not the caller's to read) and they carry ``problems``, every bad row and column, beside MLflow's keys.

Then the requests MLflow accepts that an earlier release of ours refused (issue 16): an object of columns under
``instances``, one row as an object, records with an extra column, ``DataFrame.to_csv()`` with its index,
Parquet, ``/health`` and ``/version``.
"""

import io
import json

import numpy as np
import pandas as pd
import pytest

from pipelines_app.models import ApiToken
from pipelines_app.views.serving import release
from tests.conftest import DEMO_CSV

BASE = "/serve/credit-card-approval/staging"
URL = f"{BASE}/invocations"
CONTENT_TYPE_JSON = "application/json"
CONTENT_TYPE_CSV = "text/csv"
BAD_REQUEST = "BAD_REQUEST"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"


@pytest.fixture
def token(editor):
    return ApiToken.objects.issue(editor)[1]


@pytest.fixture(scope="module")
def inference_data():
    """Ten applications of the demo data, as the model's callers send them (its features only)."""
    frame = pd.read_csv(DEMO_CSV).head(10)
    return frame.drop(columns=["card", "share", "expenditure"])


@pytest.fixture
def score(client, deployed, token):
    """``pyfunc_serve_and_score_model`` of MLflow's tests: data as sent, and the content type."""

    def send(data, content_type=CONTENT_TYPE_JSON):
        if isinstance(data, pd.DataFrame):  # as MLflow's helper sends a DataFrame
            data = json.dumps({"dataframe_split": data.to_dict(orient="split")})
        # CONTENT_TYPE as well: Django's test client leaves it out of a request with an empty body.
        return client.post(
            URL, data=data, content_type=content_type, CONTENT_TYPE=content_type, HTTP_AUTHORIZATION=f"Token {token}"
        )

    return send


def error(response, status=400):
    """The error body, after checking what every one of ours carries."""
    assert response.status_code == status, response.content
    body = response.json()
    assert isinstance(body.get("message"), str) and body["message"]
    assert isinstance(body.get("problems"), list) and body["problems"]
    assert "stack_trace" not in body  # deliberately: see the module's docstring
    return body


def scored(response, rows):
    assert response.status_code == 200, response.content
    predictions = response.json()["predictions"]
    assert len(predictions) == rows
    return predictions


def test_scoring_server_responds_to_malformed_json_input_with_error_code_and_message(score):
    body = error(score("this is,,,, not valid json"))
    assert body["error_code"] == BAD_REQUEST
    assert "Invalid input. Ensure that input is a valid JSON formatted string." in body["message"]


@pytest.mark.parametrize("not_a_dict_content", [1, "1", [1]])
def test_scoring_server_responds_to_invalid_json_format_with_error_code_and_message(score, not_a_dict_content):
    body = error(score(json.dumps(not_a_dict_content)))
    assert body["error_code"] == BAD_REQUEST
    assert "The input must be a JSON dictionary with exactly one of the input fields" in body["message"]


@pytest.mark.parametrize(
    "incorrect_format", [{"not": "a serialized dataframe"}, {"dataframe_records": [], "dataframe_split": {"data": []}}]
)
def test_scoring_server_responds_to_invalid_json_format_with_error_code_and_message_for_dicts(score, incorrect_format):
    body = error(score(json.dumps(incorrect_format)))
    assert body["error_code"] == BAD_REQUEST
    assert "The input must be a JSON dictionary with exactly one of the input fields" in body["message"]


def test_scoring_server_responds_to_invalid_pandas_input_format_with_stacktrace_and_error_code(score, inference_data):
    wrong_records_content = json.dumps({"dataframe_records": inference_data.to_dict(orient="split")})
    wrong_split_content = json.dumps({"dataframe_split": inference_data.to_dict(orient="records")})

    body = error(score(wrong_split_content))
    assert body["error_code"] == BAD_REQUEST
    assert "Dataframe split format must be a dictionary. Got list" in body["message"]

    body = error(score(wrong_records_content))
    assert body["error_code"] == BAD_REQUEST
    assert "Dataframe records format must be a list of records. Got dictionary." in body["message"]


def test_scoring_server_responds_to_invalid_dataframe_with_stacktrace_and_error_code(score):
    body = error(score(json.dumps({"dataframe_split": {"index": [1, 2], "data": [[1], [2], [3]]}})))
    assert body["error_code"] == BAD_REQUEST
    assert "Provided dataframe_split field is not a valid dataframe representation" in body["message"]


def test_scoring_server_responds_to_incompatible_inference_dataframe_with_stacktrace_and_error_code(score):
    # MLflow's model has no signature: its predict() fails and MLflow answers BAD_REQUEST. For a model with a
    # signature, as ours all have, MLflow's schema check refuses the frame first: INVALID_PARAMETER_VALUE.
    body = error(score(pd.DataFrame(np.array(range(10)))))
    assert body["error_code"] == INVALID_PARAMETER_VALUE
    missing = {p.get("column") for p in body["problems"] if "missing" in p["problem"]}
    assert {"reports", "age", "income", "owner"} <= missing


def test_scoring_server_responds_to_invalid_csv_input_with_stacktrace_and_error_code(score):
    # Any empty string is not valid pandas CSV
    body = error(score("", content_type=CONTENT_TYPE_CSV))
    assert body["error_code"] == BAD_REQUEST


def test_scoring_server_successfully_evaluates_correct_dataframes_with_pandas_records_orientation(
    score, inference_data
):
    pandas_record_content = json.dumps({"dataframe_records": inference_data.to_dict(orient="records")})
    scored(score(pandas_record_content), 10)
    # Testing the charset parameter
    scored(score(pandas_record_content, content_type=CONTENT_TYPE_JSON + "; charset=UTF-8"), 10)


def test_scoring_server_successfully_evaluates_correct_dataframes_with_pandas_split_orientation(score, inference_data):
    pandas_split_content = json.dumps({"dataframe_split": inference_data.to_dict(orient="split")})
    # Testing the charset parameter
    scored(score(pandas_split_content, content_type=CONTENT_TYPE_JSON + "; charset=UTF-8"), 10)
    scored(score(pandas_split_content), 10)


def test_scoring_server_responds_to_invalid_content_type_request_with_unsupported_content_type_code(
    score, inference_data
):
    pandas_split_content = inference_data.to_json(orient="split")
    error(score(pandas_split_content, content_type="not_a_supported_content_type"), status=415)


def test_scoring_server_responds_to_invalid_content_type_request_with_unrecognized_content_param(score, inference_data):
    pandas_split_content = inference_data.to_json(orient="split")
    error(score(pandas_split_content, content_type=CONTENT_TYPE_JSON + "; something=something"), status=415)


def test_scoring_server_refuses_a_charset_other_than_utf_8(score, inference_data):
    # Not one of MLflow's tests, but its scoring server's first check: 415 for any charset but UTF-8.
    content = json.dumps({"dataframe_split": inference_data.to_dict(orient="split")})
    error(score(content, content_type=CONTENT_TYPE_JSON + "; charset=latin-1"), status=415)


def test_scoring_server_successfully_evaluates_correct_tf_serving_sklearn(score, inference_data):
    inp_dict = {"instances": inference_data.to_numpy().tolist()}
    scored(score(json.dumps(inp_dict)), 10)


def test_scoring_server_successfully_evaluates_correct_tf_serving_keras_instances(score, inference_data):
    # MLflow's keras model takes a tensor per input name, per instance; a tabular model, a value per column.
    inp_dict = {"instances": inference_data.to_dict(orient="records")}
    scored(score(json.dumps(inp_dict)), 10)


def test_scoring_server_successfully_evaluates_correct_tf_serving_keras_inputs(score, inference_data):
    inp_dict = {"inputs": inference_data.to_dict(orient="list")}
    scored(score(json.dumps(inp_dict)), 10)


def test_serving_model_with_schema(score, inference_data):
    df = inference_data[list(reversed(inference_data.columns))]  # MLflow shuffles the columns
    split = score(json.dumps({"dataframe_split": df.to_dict(orient="split")}))
    records = score(json.dumps({"dataframe_records": inference_data.to_dict(orient="records")}))
    inputs = score(json.dumps({"inputs": df.to_dict(orient="list")}))
    assert scored(split, 10) == scored(records, 10) == scored(inputs, 10)
    assert split.json()["probabilities"] == pytest.approx(inputs.json()["probabilities"], abs=1e-12)


def test_serving_model_with_param_schema(score, inference_data):
    dataframe = {"dataframe_split": inference_data.to_dict(orient="split")}
    # Success if passing no parameters
    scored(score(json.dumps(dataframe), content_type=CONTENT_TYPE_JSON + "; charset=UTF-8"), 10)
    # Ignore parameters specified in payload if it is not defined in ParamSchema
    payload = {**dataframe, "params": {"invalid_param": "value"}}
    scored(score(json.dumps(payload), content_type=CONTENT_TYPE_JSON + "; charset=UTF-8"), 10)


def test_scoring_server_client(client, score, inference_data):
    """What ``mlflow.pyfunc.scoring_server.client.ScoringServerClient`` does: wait on /ping, invoke, /version."""
    assert client.get(f"{BASE}/ping").status_code == 200  # wait_server_ready
    response = score(json.dumps({"dataframe_split": inference_data.to_dict(orient="split")}))
    predictions = pd.DataFrame(data=scored(response, 10))  # PredictionsResponse.get_predictions()
    assert predictions.shape == (10, 1)
    version = client.get(f"{BASE}/version")  # get_version(): raise_for_status(), then the text
    assert version.status_code == 200 and version.content.decode() == release()


# Not in MLflow's test file: what `mlflow models serve` 3.17.2 answered when the same fitted demo model, saved with
# its signature (benchmarks/mlflow_model.py), was sent these requests.


def test_a_missing_column_is_invalid_parameter_value(score, inference_data):
    body = error(score(json.dumps({"dataframe_records": inference_data.drop(columns=["income"]).to_dict("records")})))
    assert body["error_code"] == INVALID_PARAMETER_VALUE
    assert {(p["row"], p["column"], p["problem"]) for p in body["problems"]} == {
        (i, "income", "is missing") for i in range(10)
    }


def test_a_value_that_cannot_be_converted_is_bad_request(score, inference_data):
    record = {**inference_data.to_dict(orient="records")[0], "age": "old"}
    body = error(score(json.dumps({"dataframe_records": [record]})))
    assert body["error_code"] == BAD_REQUEST
    assert body["problems"] == [{"row": 0, "column": "age", "problem": "'old' is not a number"}]


def test_no_rows_is_invalid_parameter_value(score):
    assert error(score(json.dumps({"dataframe_records": []})))["error_code"] == INVALID_PARAMETER_VALUE


def test_a_body_that_is_not_parquet_is_bad_request(score):
    body = error(score(b"not parquet at all", content_type="application/vnd.apache.parquet"))
    assert body["error_code"] == BAD_REQUEST and "Parquet" in body["message"]


# What MLflow accepts and our earlier release refused.


def test_instances_as_an_object_of_columns(score, inference_data):
    assert scored(score(json.dumps({"instances": inference_data.to_dict(orient="list")})), 10)


@pytest.mark.parametrize("key", ["instances", "inputs"])
def test_one_row_as_an_object(score, inference_data, key):
    row = inference_data.to_dict(orient="records")[0]
    one = scored(score(json.dumps({key: row})), 1)
    assert one == scored(score(json.dumps({"dataframe_records": [row]})), 1)


def test_records_with_an_extra_column_are_scored_and_the_column_named(score, inference_data):
    records = [{**r, "applicant_id": i} for i, r in enumerate(inference_data.to_dict(orient="records"))]
    response = score(json.dumps({"dataframe_records": records}))
    scored(response, 10)
    assert response["X-Ignored-Columns"] == "applicant_id"


@pytest.mark.parametrize("index", [True, False])
def test_csv_written_by_pandas_with_or_without_its_index(score, inference_data, index):
    frame = inference_data.set_axis(range(100, 110))  # an index that is not the row numbers
    response = score(frame.to_csv(index=index), content_type=CONTENT_TYPE_CSV)
    expected = score(json.dumps({"dataframe_records": inference_data.to_dict(orient="records")}))
    assert scored(response, 10) == scored(expected, 10)
    assert not response.has_header("X-Ignored-Columns")


def test_parquet(score, inference_data):
    out = io.BytesIO()
    inference_data.to_parquet(out)
    response = score(out.getvalue(), content_type="application/vnd.apache.parquet")
    expected = score(json.dumps({"dataframe_records": inference_data.to_dict(orient="records")}))
    assert scored(response, 10) == scored(expected, 10)
    assert response.json()["probabilities"] == pytest.approx(expected.json()["probabilities"], abs=1e-12)


def test_text_plain_is_an_unsupported_content_type(score, inference_data):
    error(score(inference_data.to_csv(index=False), content_type="text/plain"), status=415)


def test_health_answers_as_ping_does(client, deployed):
    assert client.get(f"{BASE}/health").status_code == 200
    assert client.get("/serve/credit-card-approval/production/health").status_code == 404
