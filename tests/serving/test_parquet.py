"""POST /serve/…/invocations with ``Content-Type: application/vnd.apache.parquet``: scored as the same rows in JSON
are, and any body that is not a Parquet file we can read is a 400 that says why, within bounded memory."""

import csv
import io
import json

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipelines_app.models import ApiToken, Environment
from pipelines_app.serving import payloads
from tests.conftest import DEMO_CSV

URL = "/serve/credit-card-approval/staging/invocations"
PARQUET = "application/vnd.apache.parquet"


@pytest.fixture
def token(editor):
    return ApiToken.objects.issue(editor)[1]


@pytest.fixture(scope="module")
def frame():
    with open(DEMO_CSV) as f:
        records = list(csv.DictReader(f))[:20]
    features = [c for c in records[0] if c not in ("card", "share", "expenditure")]
    numbers = [c for c in features if c not in ("owner", "selfemp")]
    data = pd.DataFrame([{c: r[c] for c in features} for r in records])
    return data.astype(dict.fromkeys(numbers, "float64"))


def parquet(table_or_frame, **options):
    out = io.BytesIO()
    if isinstance(table_or_frame, pd.DataFrame):
        table_or_frame.to_parquet(out, **options)
    else:
        pq.write_table(table_or_frame, out, **options)
    return out.getvalue()


def post(client, token, body, content_type=PARQUET):
    # CONTENT_TYPE as well: Django's test client leaves it out of a request with an empty body.
    return client.post(
        URL, data=body, content_type=content_type, CONTENT_TYPE=content_type, HTTP_AUTHORIZATION=f"Token {token}"
    )


def test_parquet_is_scored_as_the_same_rows_in_json(client, deployed, token, frame):
    response = post(client, token, parquet(frame))
    assert response.status_code == 200, response.content
    reference = post(client, token, json.dumps({"dataframe_records": frame.to_dict("records")}), "application/json")
    assert response.json()["predictions"] == reference.json()["predictions"]
    assert response.json()["probabilities"] == pytest.approx(reference.json()["probabilities"], abs=1e-12)


def test_categories_integers_missing_values_and_pandas_index_are_read(client, deployed, token, frame):
    odd = frame.copy()
    odd["owner"] = odd["owner"].astype("category")  # written as a dictionary column
    odd["reports"] = odd["reports"].astype("int64")
    odd.loc[0, "income"] = None
    odd.index = range(500, 520)  # stored as __index_level_0__: the index, not a column
    response = post(client, token, parquet(odd))
    assert response.status_code == 200, response.content
    assert len(response.json()["predictions"]) == 20
    assert not response.has_header("X-Ignored-Columns")


def test_extra_columns_are_ignored_and_named_or_refused(client, deployed, token, frame):
    body = parquet(frame.assign(applicant_id=range(20)))
    response = post(client, token, body)
    assert response.status_code == 200 and response["X-Ignored-Columns"] == "applicant_id"
    Environment.objects.filter(name="staging").update(ignore_unknown_columns=False)
    from pipelines_app.serving import models_cache

    models_cache.forget()
    refused = post(client, token, body)
    assert refused.status_code == 400 and refused.json()["problems"][0]["column"] == "applicant_id"


def test_missing_and_mistyped_columns_are_listed(client, deployed, token, frame):
    bad = frame.drop(columns=["income"]).assign(age=frame["age"].astype(str))
    bad.loc[3, "age"] = "old"
    response = post(client, token, parquet(bad))
    assert response.status_code == 400
    answer = response.json()
    assert answer["error_code"] == "BAD_REQUEST"  # a value that cannot be converted, as MLflow answers it
    assert {"column": "income", "problem": "is missing: the model needs it"} in answer["problems"]
    assert {"row": 3, "column": "age", "problem": "'old' is not a number"} in answer["problems"]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"", "not a Parquet file"),
        (b"reports,age\n0,37\n", "not a Parquet file"),
        (b"PAR1" + b"\x00" * 64 + b"PAR1", "not a Parquet file"),
        (json.dumps({"dataframe_records": [{"age": 1}]}).encode(), "not a Parquet file"),
    ],
)
def test_a_body_that_is_not_parquet_is_400_naming_it(client, deployed, token, body, reason):
    response = post(client, token, body)
    assert response.status_code == 400, response.content
    answer = response.json()
    assert answer["error_code"] == "BAD_REQUEST" and reason in answer["message"]


def test_a_damaged_parquet_file_is_400_not_500(client, deployed, token, frame):
    good = parquet(frame, compression="snappy")
    for cut in (len(good) // 3, len(good) // 2, len(good) - 9):
        damaged = good[:cut] + bytes(b ^ 0x5A for b in good[cut : cut + 40]) + good[cut + 40 :]
        response = post(client, token, damaged)
        assert response.status_code in (200, 400), (cut, response.content)
    truncated = post(client, token, good[: len(good) // 2])
    assert truncated.status_code == 400 and "Parquet" in truncated.json()["message"]


def test_nested_and_temporal_columns_are_refused_by_their_type(client, deployed, token, frame):
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = table.set_column(table.schema.get_field_index("age"), "age", pa.array([[1.0]] * 20))
    table = table.set_column(
        table.schema.get_field_index("months"), "months", pa.array([pd.Timestamp("2026-01-01")] * 20)
    )
    response = post(client, token, parquet(table))
    assert response.status_code == 400
    problems = {p["column"]: p["problem"] for p in response.json()["problems"]}
    assert "list<" in problems["age"] and "timestamp" in problems["months"]


def test_rows_are_counted_before_they_are_read(client, deployed, token, frame, settings):
    settings.SERVING_MAX_ROWS = 10
    response = post(client, token, parquet(frame))
    assert response.status_code == 400 and "at most 10" in response.json()["message"]


def test_what_a_small_body_decodes_to_is_bounded(client, deployed, token, frame, monkeypatch):
    # A long text repeated in every row: a few hundred bytes as a dictionary page, megabytes decoded.
    bomb = frame.assign(owner="y" * 100_000)
    body = parquet(bomb, compression="zstd")
    assert len(body) < 20_000
    monkeypatch.setattr(payloads, "PARQUET_MAX_DECODED_BYTES", 1_000_000)
    response = post(client, token, body)
    assert response.status_code == 400 and "decodes to" in response.json()["message"]
