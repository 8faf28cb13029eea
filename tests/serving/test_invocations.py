"""POST /serve/<model>/<environment>/invocations in every MLflow format, and every bad input as a clear 4xx with
MLflow's error keys (MLflow's own cases are replayed in test_mlflow_scoring_cases.py)."""

import csv
import io
import json
import re

import orjson
import pytest

from pipelines_app.models import ApiToken, Environment, PredictionLog
from pipelines_app.serving.prediction_log import drain
from tests.conftest import DEMO_CSV

URL = "/serve/credit-card-approval/staging/invocations"


@pytest.fixture
def token(editor):
    return ApiToken.objects.issue(editor)[1]


@pytest.fixture
def rows():
    with open(DEMO_CSV) as f:
        records = list(csv.DictReader(f))[:5]
    features = [c for c in records[0] if c not in ("card", "share", "expenditure")]
    return features, [{c: r[c] for c in features} for r in records]


def post(client, token, body, content_type="application/json", **headers):
    data = body if isinstance(body, (bytes, str)) else json.dumps(body)
    if token:
        headers["HTTP_AUTHORIZATION"] = f"Token {token}"
    return client.post(URL, data=data, content_type=content_type, **headers)


def typed(value):
    try:
        return float(value)
    except ValueError:
        return value


def test_dataframe_split_answers_predictions_probabilities_and_request_ids(client, deployed, token, rows):
    features, records = rows
    body = {"dataframe_split": {"columns": features, "data": [[typed(r[c]) for c in features] for r in records]}}
    response = post(client, token, body)
    assert response.status_code == 200, response.content
    answer = response.json()
    assert len(answer["predictions"]) == 5 and set(answer["predictions"]) <= {"yes", "no"}
    assert all(0 <= p <= 1 for p in answer["probabilities"])
    assert [p >= 0.5 for p in answer["probabilities"]] == [p == "yes" for p in answer["predictions"]]
    assert len(answer["request_ids"]) == 5 and answer["request_ids"][0].startswith(response["X-Request-ID"])
    assert response["X-Model-Version"] == str(deployed.version)
    assert response["X-Scoring-Path"] == "fast"
    # Ids are 32 hex digits that grow with time (so that the log's index grows at its end).
    later = post(client, token, body)["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", later) and later > response["X-Request-ID"]


@pytest.mark.parametrize("shape", ["dataframe_records", "instances", "inputs", "inputs_columns", "instances_lists"])
def test_every_mlflow_json_shape_gives_the_same_answer(client, deployed, token, rows, shape):
    features, records = rows
    reference = post(client, token, {"dataframe_records": records}).json()["probabilities"]
    body = {
        "dataframe_records": {"dataframe_records": records},
        "instances": {"instances": records},
        "inputs": {"inputs": records},
        "inputs_columns": {"inputs": {c: [r[c] for r in records] for c in features}},
        "instances_lists": {"instances": [[r[c] for c in features] for r in records]},
    }[shape]
    response = post(client, token, body)
    assert response.status_code == 200, response.content
    assert response.json()["probabilities"] == pytest.approx(reference, abs=1e-12)


def test_text_csv_is_scored(client, deployed, token, rows):
    features, records = rows
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=features)
    writer.writeheader()
    writer.writerows(records)
    response = post(client, token, out.getvalue(), content_type="text/csv")
    assert response.status_code == 200, response.content
    assert len(response.json()["predictions"]) == 5


def test_missing_values_and_unseen_categories_are_scored(client, deployed, token, rows):
    _, records = rows
    record = {**records[0], "income": None, "owner": "maybe", "age": ""}
    response = post(client, token, {"dataframe_records": [record]})
    assert response.status_code == 200, response.content


def test_every_problem_is_listed_by_row_and_column(client, deployed, token, rows):
    Environment.objects.filter(name="staging").update(ignore_unknown_columns=False)
    _, records = rows
    bad = [dict(r) for r in records[:3]]
    del bad[0]["income"]
    bad[1]["age"] = "old"
    bad[2]["colour"] = "blue"
    response = post(client, token, {"dataframe_records": bad})
    assert response.status_code == 400
    assert response.json()["error_code"] == "BAD_REQUEST"  # as MLflow: a value it cannot convert comes first
    problems = response.json()["problems"]
    assert {"row": 0, "column": "income", "problem": "is missing"} in problems
    assert any(
        p.get("row") == 1 and p.get("column") == "age" and "'old' is not a number" in p["problem"] for p in problems
    )
    assert any(p.get("column") == "colour" and "not a feature" in p["problem"] for p in problems)
    assert not PredictionLog.objects.filter(status_code=200).exists()


@pytest.mark.parametrize(
    ("body", "content_type", "message", "error_code"),
    [
        (b"{not json", "application/json", "not valid JSON", "BAD_REQUEST"),
        ({"rows": []}, "application/json", "exactly one of", "BAD_REQUEST"),
        ({"dataframe_records": []}, "application/json", "no rows", "INVALID_PARAMETER_VALUE"),
        (
            {"dataframe_split": {"columns": ["age"], "data": [[1, 2]]}},
            "application/json",
            "2 values for 1",
            "BAD_REQUEST",
        ),
        ({"dataframe_split": {"columns": ["age"]}}, "application/json", "must have 'data' field", "BAD_REQUEST"),
        ({"dataframe_split": {"columns": ["age"], "data": [], "rows": 1}}, "application/json", "'rows'", "BAD_REQUEST"),
        ({"dataframe_split": {"columns": [["age"]], "data": [[1]]}}, "application/json", "column names", "BAD_REQUEST"),
        ({"dataframe_records": {"age": [1]}}, "application/json", "Got dictionary", "BAD_REQUEST"),
        ({"instances": [{"age": 1}, [1]]}, "application/json", "not a mix", "BAD_REQUEST"),
        ({"instances": [[1, 2]]}, "application/json", "the model takes 9", "INVALID_PARAMETER_VALUE"),
        ({"inputs": {"age": [1, 2], "income": 3}}, "application/json", "single value", "BAD_REQUEST"),
        ({"inputs": {"age": [1, 2], "income": [3]}}, "application/json", "different lengths", "BAD_REQUEST"),
        ({"inputs": "age"}, "application/json", "not string", "BAD_REQUEST"),
        ({"dataframe_records": [{"age": [1, 2]}]}, "application/json", "is not a number", "BAD_REQUEST"),
        (b"\xff\xfe", "text/csv", "not UTF-8", "BAD_REQUEST"),
        ("\n", "text/csv", "empty", "BAD_REQUEST"),
        ("age,age\n1,2", "text/csv", "twice", "BAD_REQUEST"),
        ("age,income\n1", "text/csv", "1 values for 2 columns", "BAD_REQUEST"),
    ],
)
def test_bad_payloads_are_400_with_the_reason(client, deployed, token, body, content_type, message, error_code):
    response = post(client, token, body, content_type=content_type)
    assert response.status_code == 400
    answer = response.json()
    assert answer["error_code"] == error_code and answer["message"], answer
    assert any(message in p["problem"] for p in answer["problems"]), answer


@pytest.mark.parametrize(
    "content_type",
    ["text/plain", "application/x-www-form-urlencoded", "application/xml", "application/json; format=pandas-split"],
)
def test_other_content_types_are_415(client, deployed, token, rows, content_type):
    _, records = rows
    response = post(client, token, {"dataframe_records": records}, content_type=content_type)
    assert response.status_code == 415
    answer = response.json()
    assert answer["error_code"] == "BAD_REQUEST" and answer["problems"]
    assert "application/json" in answer["message"] or "format" in answer["message"]


def test_a_request_without_a_content_type_is_415(client, deployed, token):
    response = client.generic("POST", URL, b"{}", CONTENT_TYPE="", HTTP_AUTHORIZATION=f"Token {token}")
    assert response.status_code == 415 and "Got 'none'" in response.json()["message"]


def test_the_batch_limit_and_the_body_limit(client, deployed, token, rows, settings):
    _, records = rows
    settings.SERVING_MAX_ROWS = 3
    response = post(client, token, {"dataframe_records": records})
    assert response.status_code == 400 and "at most 3" in response.json()["message"]
    settings.SERVING_MAX_BYTES = 100
    response = post(client, token, {"dataframe_records": records})
    assert response.status_code == 413 and response.json()["error_code"] == "BAD_REQUEST"
    assert "at most 100" in response.json()["message"]


def test_unknown_columns_are_ignored_and_named_in_a_header(client, deployed, token, rows):
    features, records = rows
    response = post(client, token, {"dataframe_records": [{**records[0], "colour": "blue"}, {**records[1], "id": 7}]})
    assert response.status_code == 200, response.content
    assert response["X-Ignored-Columns"] == "colour, id"  # every record's, once each
    assert (
        response.json()["probabilities"]
        == post(client, token, {"dataframe_records": records[:2]}).json()["probabilities"]
    )
    split = {"dataframe_split": {"columns": ["z", *features], "data": [[1, *(typed(records[0][c]) for c in features)]]}}
    assert post(client, token, split)["X-Ignored-Columns"] == "z"
    assert not post(client, token, {"dataframe_records": records[:1]}).has_header("X-Ignored-Columns")


def test_ignored_column_names_are_percent_encoded_and_the_header_bounded(client, deployed, token, rows):
    _, records = rows
    odd = {**records[0], "a,b": 1, "naïve": 2, "line\nbreak": 3, "100%": 4}
    response = post(client, token, {"dataframe_records": [odd]})
    assert response.status_code == 200, response.content
    assert response["X-Ignored-Columns"] == "100%25, a%2Cb, line%0Abreak, na%C3%AFve"
    many = {**records[0], **{f"extra_{i:04d}_{'x' * 40}": i for i in range(500)}}
    response = post(client, token, {"dataframe_records": [many]})
    assert response.status_code == 200
    shown = response["X-Ignored-Columns"].split(", ")
    assert len(response["X-Ignored-Columns"]) <= 2000 and shown[0].startswith("extra_0000_")
    assert int(response["X-Ignored-Columns-Omitted"]) == 500 - len(shown)


def test_an_environment_may_refuse_unknown_columns(client, deployed, token, rows):
    Environment.objects.filter(name="staging").update(ignore_unknown_columns=False)
    _, records = rows
    response = post(client, token, {"dataframe_records": [{**records[0], "colour": "blue"}]})
    assert response.status_code == 400
    answer = response.json()
    assert answer["error_code"] == "INVALID_PARAMETER_VALUE"
    assert (
        answer["problems"] == [{"column": "colour", "problem": answer["problems"][0]["problem"]}]
        and "is not a feature of this model" in answer["message"]
    )
    assert not response.has_header("X-Ignored-Columns")


def test_environments_ignore_unknown_columns_unless_told_to_refuse(db):
    assert Environment.objects.create(name="dev").ignore_unknown_columns
    assert set(Environment.objects.values_list("name", "ignore_unknown_columns")) >= {
        ("staging", True),
        ("production", True),
    }


def test_a_token_is_required_unless_the_environment_is_public(client, deployed, rows):
    _, records = rows
    body = {"dataframe_records": records[:1]}
    response = post(client, None, body)
    assert response.status_code == 401 and "needs a token" in response.json()["message"]
    assert response.json()["error_code"] == "UNAUTHENTICATED"
    refused = post(client, "mlops_not-a-token", body)
    assert refused.status_code == 403 and refused.json()["error_code"] == "PERMISSION_DENIED"
    Environment.objects.filter(name="staging").update(public=True)
    from pipelines_app.serving import models_cache

    models_cache.forget()
    assert post(client, None, body).status_code == 200


def test_a_predict_only_token_scores_but_reaches_nothing_else(client, deployed, editor, rows):
    _, raw = ApiToken.objects.issue(editor, predict_only=True)
    _, records = rows
    assert post(client, raw, {"dataframe_records": records[:1]}).status_code == 200
    assert client.get("/api/v1/runs/", HTTP_AUTHORIZATION=f"Token {raw}").status_code == 403


def test_bearer_tokens_work_and_revoked_ones_stop(client, deployed, editor, rows):
    token, raw = ApiToken.objects.issue(editor)
    _, records = rows
    body = {"dataframe_records": records[:1]}
    assert post(client, None, body, HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    token.revoke()
    from pipelines_app.views import serving

    serving._tokens.forget()  # the per-process cache keeps a decision for at most 5 seconds
    assert post(client, raw, body).status_code == 403


def test_get_on_invocations_is_405(client, deployed, token):
    assert client.get(URL, HTTP_AUTHORIZATION=f"Token {token}").status_code == 405


def test_every_prediction_is_logged_with_its_request_id(client, deployed, token, rows):
    _, records = rows
    answer = post(client, token, {"dataframe_records": records[:3]}).json()
    single = post(client, token, {"dataframe_records": records[3:4]})
    post(client, token, {"dataframe_records": [{"age": "old"}]})
    assert drain() == 3  # one row per request, a batch included
    batch = PredictionLog.objects.get(rows=3)
    assert batch.row_ids() == answer["request_ids"]
    assert batch.model_version == deployed and batch.role == "primary"
    assert batch.predictions == answer["predictions"] and batch.scores == pytest.approx(answer["probabilities"])
    assert batch.inputs["owner"] == [r["owner"] for r in records[:3]] and batch.latency_ms > 0
    one = PredictionLog.objects.get(request_id=single["X-Request-ID"])
    assert one.rows == 1 and one.predictions == single.json()["predictions"]
    refused = PredictionLog.objects.get(status_code=400)
    assert "is missing" in refused.error or "not a number" in refused.error
    assert drain() == 0  # drained once, written once


def test_the_flusher_thread_moves_logs_off_the_request_path(settings, redis_url):
    import redis

    from pipelines_app.serving import prediction_log
    from tests.conftest import wait_for

    settings.PREDICTION_LOG_BACKGROUND = True
    client = redis.Redis.from_url(redis_url)
    client.delete(prediction_log.BUFFER_KEY)
    prediction_log.record({"request_id": "r1", "rows": 0, "deployment_id": 1, "created_at": 0})
    wait_for(lambda: client.llen(prediction_log.BUFFER_KEY) == 1, 5, 0.01, "the flusher to push the entry")
    assert prediction_log.decode(client.lpop(prediction_log.BUFFER_KEY))["request_id"] == "r1"


def test_one_flush_is_one_buffer_item_and_every_entry_in_it_is_stored(client, deployed, token, redis_url):
    import time as clock

    import redis

    from pipelines_app.models import Deployment
    from pipelines_app.serving import prediction_log

    deployment = Deployment.objects.get(environment__name="staging")
    buffer = redis.Redis.from_url(redis_url)
    buffer.delete(prediction_log.BUFFER_KEY)
    for rid in ("first", "second", "third"):
        entry = {"request_id": rid, "rows": 1, "deployment_id": deployment.pk, "model_version_id": deployed.pk,
                 "role": "primary", "inputs": {"age": [30.0]}, "predictions": ["yes"], "scores": [0.9],
                 "latency_ms": 1.0, "created_at": clock.time()}  # fmt: skip
        prediction_log._pending.append(prediction_log.encode(entry))
    assert prediction_log.flush() == 3
    assert buffer.llen(prediction_log.BUFFER_KEY) == 1
    assert prediction_log.drain() == 3
    assert set(PredictionLog.objects.values_list("request_id", flat=True)) == {"first", "second", "third"}
    assert buffer.llen(prediction_log.BUFFER_KEY) == 0


def test_entries_buffered_before_the_keys_were_words_are_still_stored(client, deployed, token, redis_url):
    """Entries an older release left in the buffer, with its short keys, are stored after an upgrade."""
    import time as clock

    import redis

    from pipelines_app.models import Deployment
    from pipelines_app.serving import prediction_log

    deployment = Deployment.objects.get(environment__name="staging")
    buffer = redis.Redis.from_url(redis_url)
    buffer.delete(prediction_log.BUFFER_KEY)
    head = {"rid": "old", "crid": "theirs", "n": 1, "dep": deployment.pk, "ver": deployed.pk, "role": "primary",
            "shadow": None, "lat": 2.5, "t": clock.time()}  # fmt: skip
    inputs, predictions, scores = {"age": [30.0]}, ["yes"], [0.9]  # after the head, in this order
    buffer.rpush(prediction_log.BUFFER_KEY, b"\x1e".join(map(orjson.dumps, [head, inputs, predictions, scores])))

    assert prediction_log.drain() == 1
    stored = PredictionLog.objects.get(request_id="old")
    assert stored.client_request_id == "theirs" and stored.rows == 1 and stored.latency_ms == 2.5
    assert stored.deployment_id == deployment.pk and stored.model_version_id == deployed.pk
    assert stored.inputs == inputs and stored.predictions == predictions and stored.scores == scores


def test_entries_written_twice_are_stored_once(client, deployed, token, rows):
    """A drain that stops between writing and trimming the buffer writes the same entries again."""
    import time as clock

    from pipelines_app.models import Deployment
    from pipelines_app.serving.prediction_log import write

    deployment = Deployment.objects.get(environment__name="staging")
    entry = {
        "request_id": "again",
        "rows": 2,
        "deployment_id": deployment.pk,
        "model_version_id": deployed.pk,
        "role": "primary",
        "inputs": {"age": [30.0, float("nan")]},
        "predictions": ["yes", "no"],
        "scores": [0.9, 0.2],
        "latency_ms": 1.0,
        "created_at": clock.time(),
    }
    entry = orjson.loads(orjson.dumps(entry))  # as the buffer hands it over: the missing age is null
    assert write([entry]) == 1
    write([entry])
    stored = PredictionLog.objects.get(request_id="again")
    assert stored.inputs == {"age": [30.0, None]} and stored.rows == 2


def test_entries_of_a_deployment_removed_meanwhile_are_dropped_not_fatal(client, deployed, token, rows):
    import time as clock

    from pipelines_app.serving.prediction_log import write

    entry = {"request_id": "gone", "rows": 1, "deployment_id": 999_999, "model_version_id": deployed.pk,
             "role": "primary", "inputs": {"age": [1.0]}, "predictions": ["yes"], "scores": [0.9], "latency_ms": 1.0,
             "created_at": clock.time()}  # fmt: skip
    _, records = rows
    assert post(client, token, {"dataframe_records": records[:1]}).status_code == 200
    assert write([entry]) == 0
    assert drain() == 1  # the real request is still written


def test_logs_are_stored_as_compressed_text_on_postgresql(db):
    """The storage the logging benchmark was measured on (jsonb cost the drain twice as much)."""
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("column types and compression are PostgreSQL's")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT attname, format_type(atttypid, atttypmod), attcompression FROM pg_attribute "
            "WHERE attrelid = %s::regclass AND attname IN ('inputs', 'predictions', 'scores')",
            [PredictionLog._meta.db_table],
        )
        columns = {name: (kind, compression) for name, kind, compression in cursor.fetchall()}
    assert {kind for kind, _ in columns.values()} == {"text"} and len(columns) == 3
    assert {compression for _, compression in columns.values()} <= {"l", ""}  # LZ4 where the server has it


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "application/json"),
        (b'{"inputs": {"age": 1' + b"0" * 5000 + b"}}", "application/json"),
        (b'{"dataframe_records": [{"age": NaN, "income": Infinity}]}', "application/json"),
        (b'{"inputs": {}}', "application/json"),
        (b'{"instances": {"age": [[[[1]]]]}}', "application/json"),
        (b'{"dataframe_split": {"columns": [1.5, null], "data": [[1, 2]]}}', "application/json"),
        (b"age\x00,income\n1,2", "text/csv"),
        (b'"unterminated\n1,2', "text/csv"),
        (",".join(f"c{i}" for i in range(20_000)).encode() + b"\n" + b"1," * 19_999 + b"1", "text/csv"),
        (b"PAR1\x15\x00PAR1", "application/vnd.apache.parquet"),
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "application/vnd.apache.parquet"),
        (b"{}", "application/json; charset=utf-16"),
    ],
)
def test_hostile_bodies_are_refused_never_500(client, deployed, token, body, content_type):
    response = post(client, token, body, content_type=content_type)
    assert response.status_code in (400, 413, 415), response.content[:300]
    answer = response.json()
    assert answer["error_code"] in ("BAD_REQUEST", "INVALID_PARAMETER_VALUE") and answer["problems"]
