"""``serving.payloads`` alone (no Django): what each content type and request shape reads as, MLflow's error code
for each refusal, and that hostile bodies end in a PayloadError, never in another exception."""

import io
import json
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pipelines_app.serving import payloads
from pipelines_app.serving.payloads import (
    BAD_REQUEST,
    INVALID_PARAMETER_VALUE,
    PayloadError,
    Rows,
    parse_payload,
    type_columns,
)

SCHEMA = [{"name": "age", "kind": "numeric"}, {"name": "owner", "kind": "categorical"}]
FEATURES = ["age", "owner"]
CONTENT_TYPES = ["application/json", "text/csv", "application/vnd.apache.parquet"]


def typed(body, content_type="application/json", ignore_unknown=True):
    if not isinstance(body, bytes):
        body = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    rows = parse_payload(body, content_type, FEATURES)
    columns, n = type_columns(rows, SCHEMA, ignore_unknown=ignore_unknown)
    return columns, n, list(rows.ignored)


def refusal(body, content_type="application/json", **options):
    with pytest.raises(PayloadError) as caught:
        typed(body, content_type, **options)
    return caught.value


@pytest.mark.parametrize(
    "body",
    [
        {"dataframe_split": {"columns": ["age", "owner"], "data": [[30, "yes"]]}},
        {"dataframe_split": {"index": [7], "columns": ["owner", "age"], "data": [["yes", 30]]}},
        {"dataframe_records": [{"age": 30, "owner": "yes"}]},
        {"instances": [{"age": 30, "owner": "yes"}]},
        {"instances": [[30, "yes"]]},
        {"instances": {"age": [30], "owner": ["yes"]}},
        {"instances": {"age": 30, "owner": "yes"}},
        {"inputs": {"age": [30], "owner": ["yes"]}},
        {"inputs": {"age": 30, "owner": "yes"}},
        {"inputs": [{"age": "30", "owner": "yes"}], "params": {"anything": 1}},
    ],
)
def test_every_shape_mlflow_accepts_reads_as_the_same_row(body):
    assert typed(body) == ({"age": [30.0], "owner": ["yes"]}, 1, [])


@pytest.mark.parametrize(
    "text",
    [
        "age,owner\n30,yes\n",
        ",age,owner\n0,30,yes\n",  # DataFrame.to_csv(): the index first, under no name
        "age,owner\n12,30,yes\n",  # to_csv(index_label=False): one value more than the header
        "\ufeffage,owner\r\n30,yes\r\n",
    ],
)
def test_csv_with_or_without_pandas_index(text):
    assert typed(text, "text/csv") == ({"age": [30.0], "owner": ["yes"]}, 1, [])


def test_csv_written_by_pandas_reads_back():
    frame = pd.DataFrame({"owner": ["yes", "no", None], "age": [30.5, None, 41.0]}, index=[10, 11, 12])
    columns, n, ignored = typed(frame.to_csv(), "text/csv")
    assert n == 3 and ignored == [] and columns["owner"][:2] == ["yes", "no"] and columns["age"][0] == 30.5


def test_parquet_reads_as_its_columns():
    out = io.BytesIO()
    pd.DataFrame({"owner": ["yes"], "age": [30], "id": [5]}).to_parquet(out)
    assert typed(out.getvalue(), "application/vnd.apache.parquet") == ({"age": [30.0], "owner": ["yes"]}, 1, ["id"])


def test_unknown_columns_are_named_in_order_or_refused():
    body = {"dataframe_split": {"columns": ["z", "age", "a", "owner"], "data": [[1, 30, 2, "yes"]]}}
    assert typed(body)[2] == ["z", "a"]
    refused = refusal(body, ignore_unknown=False)
    assert refused.code == INVALID_PARAMETER_VALUE and [p["column"] for p in refused.problems] == ["z", "a"]


def test_a_split_without_columns_names_them_as_pandas_does():
    refused = refusal({"dataframe_split": {"data": [[30, "yes"]]}})
    assert refused.code == INVALID_PARAMETER_VALUE
    assert {p["column"] for p in refused.problems} == {"age", "owner"}  # missing; 0 and 1 are ignored


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/json; charset=utf-8", None),
        ("application/json;charset=UTF-8", None),
        ('application/json; charset="utf-8"', 415),  # as MLflow: the charset is utf-8, unquoted
        ("application/json; charset=utf8", 415),
        ("text/csv; charset=utf-8", None),
        ("application/json; charset=latin-1", 415),
        ("application/json; format=pandas-split", 415),
        ("application/json; charset=utf-8; q=1", 415),
        ("text/plain", 415),
        ("application/octet-stream", 415),
        ("", 415),
    ],
)
def test_content_type_and_its_parameters(content_type, status):
    body = b"age,owner\n30,yes\n" if content_type.startswith("text/csv") else b'{"inputs": {"age": 1, "owner": "x"}}'
    if status is None:
        assert typed(body, content_type)[1] == 1
    else:
        refused = refusal(body, content_type)
        assert refused.status == status and refused.code == BAD_REQUEST


@pytest.mark.parametrize(
    ("body", "words", "code"),
    [
        (
            b"this is,,,, not valid json",
            "Invalid input. Ensure that input is a valid JSON formatted string.",
            BAD_REQUEST,
        ),
        ([1], "The input must be a JSON dictionary with exactly one of the input fields", BAD_REQUEST),
        (
            {"inputs": [], "instances": []},
            "Received dictionary with input fields: ['inputs', 'instances']",
            BAD_REQUEST,
        ),
        ({"dataframe_split": []}, "Dataframe split format must be a dictionary. Got list.", BAD_REQUEST),
        ({"dataframe_records": {}}, "Dataframe records format must be a list of records. Got dictionary.", BAD_REQUEST),
        ({"dataframe_split": {"index": [1], "data": [[1], [2]]}}, "not a valid dataframe representation", BAD_REQUEST),
        ({"dataframe_split": {"data": [[1, 2], [3]]}}, "not a valid dataframe representation", BAD_REQUEST),
        ({"dataframe_records": [1]}, "not a valid dataframe representation in 'records' format", BAD_REQUEST),
        ({"dataframe_records": []}, "no rows", INVALID_PARAMETER_VALUE),
        ({"dataframe_records": [{"age": "old", "owner": "x"}]}, "'old' is not a number", BAD_REQUEST),
        ({"dataframe_records": [{"age": 1}]}, "is missing", INVALID_PARAMETER_VALUE),
    ],
)
def test_each_refusal_has_mlflows_code_and_words(body, words, code):
    refused = refusal(body)
    assert refused.code == code and refused.status == 400
    answer = refused.as_json()
    assert list(answer) == ["error_code", "message", "problems"] and words in answer["message"]


def test_a_message_about_many_keys_stays_short():
    refused = refusal({f"key{i}" * 50: i for i in range(10_000)})
    assert len(refused.as_json()["message"]) < 1000


def test_problems_beyond_fifty_are_counted():
    refused = refusal({"dataframe_records": [{"age": "old", "owner": "x"}] * 80})
    answer = refused.as_json()
    assert len(answer["problems"]) == 50 and answer["more_problems"] == 30


def test_rows_from_other_protocols_are_typed_the_same():
    rows = Rows(names=["owner", "age"], columns={"owner": ["yes"], "age": ["30"]}, n=1)
    assert type_columns(rows, SCHEMA) == ({"age": [30.0], "owner": ["yes"]}, 1)


@settings(max_examples=200, deadline=None)
@given(body=st.binary(max_size=400), content_type=st.sampled_from(CONTENT_TYPES))
def test_any_bytes_are_rows_or_a_payload_error(body, content_type):
    try:
        typed(body, content_type)
    except PayloadError as exc:
        assert exc.status in (400, 413, 415) and exc.as_json()["message"]


json_values = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True) | st.integers() | st.text(max_size=5),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8), children, max_size=3),
    max_leaves=12,
)


@settings(max_examples=300, deadline=None)
@given(
    key=st.sampled_from(["dataframe_split", "dataframe_records", "instances", "inputs"]),
    value=json_values
    | st.fixed_dictionaries({"columns": json_values, "data": json_values})
    | st.dictionaries(st.sampled_from(["age", "owner", "x"]), json_values, max_size=3),
)
def test_any_json_under_a_format_key_is_rows_or_a_payload_error(key, value):
    try:
        typed({key: value})
    except PayloadError as exc:
        assert exc.status == 400 and exc.code in (BAD_REQUEST, INVALID_PARAMETER_VALUE)


json_values = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.none(),
    st.text(max_size=4),
)


def same(a, b):
    return all((x != x and y != y) or x == y for x, y in zip(a, b, strict=True))


@given(values=st.lists(json_values, min_size=0, max_size=40))
def test_typing_a_column_at_once_gives_what_value_by_value_gives(values):
    numbers = payloads._numbers_at_once(values)
    if numbers is not None:
        assert same(numbers, [payloads._number(v) for v in values])
    texts = payloads._texts_at_once(values)
    if texts is not None:
        assert texts == [payloads._category(v) for v in values]


def test_long_columns_of_plain_numbers_and_texts_are_typed_at_once():
    assert same(payloads._numbers_at_once([1, 2.5, True, float("inf")] * 3), [1.0, 2.5, 1.0, math.nan] * 3)
    typed = payloads._numbers_at_once([1, 2.5, 3] * 4)
    assert typed == [1.0, 2.5, 3.0] * 4
    assert payloads._numbers_at_once([1, "2", 3] * 4) is None  # text: value by value
    assert payloads._texts_at_once(["yes", "no"] * 5) == ["yes", "no"] * 5
    assert payloads._texts_at_once(["yes", ""] * 5) is None  # "" is missing: value by value
