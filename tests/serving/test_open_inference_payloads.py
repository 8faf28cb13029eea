"""Open Inference Protocol (V2) requests read into rows and answers written, without Django: every bad input is a
PayloadError that names its column and row."""

import gzip
import struct

import numpy as np
import orjson
import pytest
import tritonclient.http as triton

from pipelines_app.serving.open_inference import (
    decode_body,
    encode_answer,
    error_body,
    model_metadata,
    output_tensors,
    parse_infer_request,
)
from pipelines_app.serving.payloads import PayloadError, type_columns

SCHEMA = [
    {"name": "age", "kind": "numeric"},
    {"name": "income", "kind": "numeric"},
    {"name": "owner", "kind": "categorical"},
]
AGES, INCOMES, OWNERS = [37.5, 33.0], [4.52, 2.42], ["yes", "no"]


def tensor(name, datatype, data, shape=None):
    return {"name": name, "datatype": datatype, "shape": shape or [len(data)], "data": data}


def good_inputs():
    return [tensor("age", "FP64", AGES), tensor("income", "FP64", INCOMES), tensor("owner", "BYTES", OWNERS)]


def parse(body, header_length=None, **options):
    if not isinstance(body, bytes):
        body = orjson.dumps(body)
    return parse_infer_request(body, header_length, SCHEMA, **options)


def typed(request):
    return type_columns(request.rows, SCHEMA)


def problems_of(body, header_length=None, **options):
    with pytest.raises(PayloadError) as caught:
        request = parse(body, header_length, **options)
        typed(request)
    return caught.value


def test_one_tensor_per_column_is_typed_as_invocations_types_records():
    request = parse({"id": "mine", "inputs": good_inputs()})
    records = [{"age": a, "income": i, "owner": o} for a, i, o in zip(AGES, INCOMES, OWNERS, strict=True)]
    from pipelines_app.serving.payloads import Rows

    assert typed(request) == type_columns(Rows(records=records), SCHEMA)
    assert request.id == "mine" and request.outputs == ("predictions", "probabilities") and request.binary == set()


def test_shape_n_by_1_is_accepted_flat_or_nested():
    inputs = good_inputs()
    inputs[0] = tensor("age", "FP64", [[a] for a in AGES], shape=[2, 1])
    inputs[1]["shape"] = [2, 1]
    columns, n = typed(parse({"inputs": inputs}))
    assert n == 2 and columns["age"] == AGES and columns["income"] == INCOMES


def test_whole_numbers_bools_and_nulls_are_accepted_where_the_feature_takes_them():
    inputs = [
        tensor("age", "INT64", [37, None]),
        tensor("income", "BOOL", [True, False]),
        tensor("owner", "INT32", [1, 0]),
    ]
    columns, _ = typed(parse({"inputs": inputs}))
    assert columns["age"][0] == 37.0 and columns["age"][1] != columns["age"][1]  # NaN: missing
    assert columns["income"] == [1.0, 0.0] and columns["owner"] == ["1", "0"]


def test_binary_tensors_as_tritonclient_sends_them_by_default():
    inputs = []
    for name, values in (("age", np.array(AGES)), ("income", np.array(INCOMES, dtype=np.float32))):
        inputs.append(triton.InferInput(name, [2], "FP64" if values.dtype == np.float64 else "FP32"))
        inputs[-1].set_data_from_numpy(values)
    inputs.append(triton.InferInput("owner", [2, 1], "BYTES").set_data_from_numpy(np.array([OWNERS], dtype=object).T))
    body, json_size = triton.InferenceServerClient.generate_request_body(inputs, request_id="r-1")
    request = parse(body, str(json_size))
    columns, n = typed(request)
    assert n == 2 and columns["age"] == AGES and columns["owner"] == OWNERS
    assert columns["income"] == [float(np.float32(v)) for v in INCOMES]
    assert request.id == "r-1" and request.binary == {"predictions", "probabilities"}  # binary_data_output


def test_requested_outputs_are_answered_in_their_order_and_form():
    outputs = [{"name": "probabilities", "parameters": {"binary_data": True}}, {"name": "predictions"}]
    request = parse({"inputs": good_inputs(), "outputs": outputs})
    assert request.outputs == ("probabilities", "predictions") and request.binary == {"probabilities"}


@pytest.mark.parametrize(
    ("inputs", "column", "message"),
    [
        ([tensor("age", "BYTES", ["old", "young"])], "age", "is BYTES, but the feature is a number"),
        ([tensor("owner", "FP64", [1.0, 0.0])], "owner", "is FP64, but the feature is a category"),
        ([tensor("age", "FP128", [1.0, 2.0])], "age", "datatype 'FP128' is not one of"),
        ([tensor("age", "FP64", [1.0, "old"])], "age", "'old' is not a number (FP64)"),
        ([tensor("age", "INT64", [1, 2.5])], "age", "2.5 is not a whole number (INT64)"),
        ([tensor("age", "INT8", [1, 300])], "age", "300 is out of INT8's range (-128 to 127)"),
        ([tensor("owner", "BYTES", ["yes", 3])], "owner", "3 is not text (BYTES)"),
        ([tensor("age", "BOOL", [1, 0])], "age", "1 is not true or false (BOOL)"),
    ],
)
def test_a_wrong_datatype_is_refused_with_its_column(inputs, column, message):
    body = {"inputs": [*(t for t in good_inputs() if t["name"] != column), *inputs]}
    exc = problems_of(body)
    assert exc.status == 400
    assert any(p.get("column") == column and message in p["problem"] for p in exc.problems), exc.problems


@pytest.mark.parametrize(
    ("changed", "message"),
    [
        (tensor("age", "FP64", [1.0, 2.0, 3.0], shape=[2]), "has 3 values for shape [2]"),
        (tensor("age", "FP64", [1.0, 2.0], shape=[1, 2]), "is not [n] or [n, 1]"),
        (tensor("age", "FP64", [1.0, 2.0], shape=[2, 2, 1]), "is not [n] or [n, 1]"),
        (tensor("age", "FP64", [1.0, 2.0], shape="2"), "is not a list of sizes"),
        (tensor("age", "FP64", [[1.0, 2.0], [3.0, 4.0]], shape=[2, 1]), "n lists of one value"),
        (tensor("age", "FP64", [1.0, 2.0, 3.0]), "different numbers of rows (income: 2, owner: 2, age: 3)"),
        ({"name": "age", "datatype": "FP64", "shape": [2]}, 'needs "data"'),
    ],
)
def test_mismatched_shapes_and_lengths_are_refused(changed, message):
    body = {"inputs": [*(t for t in good_inputs() if t["name"] != "age"), changed]}
    exc = problems_of(body)
    assert any(message in p["problem"] for p in exc.problems), exc.problems


def test_an_unknown_column_is_refused_unless_the_environment_ignores_it():
    body = {"inputs": [*good_inputs(), tensor("colour", "BYTES", ["red", "blue"])]}
    exc = problems_of(body)
    assert any(p.get("column") == "colour" and "not a feature" in p["problem"] for p in exc.problems)
    request = parse(body)
    columns, _ = type_columns(request.rows, SCHEMA, ignore_unknown=True)
    assert set(columns) == {"age", "income", "owner"}


def test_a_missing_column_is_refused():
    exc = problems_of({"inputs": good_inputs()[:2]})
    assert {"column": "owner", "problem": "is missing: the model needs it"} in exc.problems


def test_a_column_sent_twice_is_refused():
    exc = problems_of({"inputs": [*good_inputs(), tensor("age", "FP64", AGES)]})
    assert {"column": "age", "problem": "is sent twice"} in exc.problems


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", 'must be an object with "inputs"'),
        ({"inputs": []}, '"inputs" must be a non-empty list'),
        ({"instances": [{"age": 1}]}, '"inputs" must be a non-empty list'),
        ({"inputs": good_inputs(), "id": 7}, '"id" must be a string'),
        ({"inputs": good_inputs(), "parameters": []}, '"parameters" must be an object'),
        ({"inputs": good_inputs(), "outputs": [{"name": "explanations"}]}, "output 'explanations' is not one"),
        ({"inputs": [*good_inputs(), 3]}, "input 3 is not a tensor with a name"),
    ],
)
def test_a_body_that_is_not_a_v2_request_is_refused(body, message):
    exc = problems_of(body)
    assert exc.status == 400 and any(message in p["problem"] for p in exc.problems), exc.problems


def test_too_many_rows_is_refused_before_the_data_are_read():
    exc = problems_of({"inputs": [tensor("age", "FP64", [1.0] * 5), *good_inputs()[1:]]}, max_rows=3)
    assert exc.problems == [{"problem": "The request has 5 rows; at most 3 are scored per request."}]


def test_a_compressed_body_may_not_inflate_past_the_limit():
    body = orjson.dumps({"inputs": good_inputs()})
    assert decode_body(gzip.compress(body), "gzip", 10_000) == body
    with pytest.raises(PayloadError) as caught:
        decode_body(gzip.compress(b" " * 100_000), "gzip", 10_000)
    assert caught.value.status == 413
    with pytest.raises(PayloadError, match="not valid gzip"):
        decode_body(b"plain", "gzip", 10_000)
    with pytest.raises(PayloadError, match="'br' is not accepted"):
        decode_body(body, "br", 10_000)


def binary_body(inputs_json, blobs):
    head = orjson.dumps({"inputs": inputs_json})
    return head + b"".join(blobs), str(len(head))


@pytest.mark.parametrize(
    ("size", "blob", "message"),
    [
        (16, np.array([1.0, 2.0]).tobytes() + b"x", "1 bytes of binary data follow"),
        (12, np.array([1.0, 2.0]).tobytes()[:12], "12 bytes of binary data; 2 FP64 values take 16"),
        (24, np.array([1.0, 2.0]).tobytes(), "binary_data_size 24 is more than the 16 bytes"),
    ],
)
def test_binary_data_of_the_wrong_size_is_refused(size, blob, message):
    age = {"name": "age", "datatype": "FP64", "shape": [2], "parameters": {"binary_data_size": size}}
    body, length = binary_body([age, *good_inputs()[1:]], [blob])
    exc = problems_of(body, length)
    assert any(message in p["problem"] for p in exc.problems), exc.problems


def test_binary_text_is_checked_element_by_element():
    blob = struct.pack("<I", 3) + b"yes" + struct.pack("<I", 2) + b"\xff\xfe"
    owner = {"name": "owner", "datatype": "BYTES", "shape": [2], "parameters": {"binary_data_size": len(blob)}}
    body, length = binary_body([*good_inputs()[:2], owner], [blob])
    assert {"row": 1, "column": "owner", "problem": "is not UTF-8 text"} in problems_of(body, length).problems
    short = struct.pack("<I", 3) + b"yes" + struct.pack("<I", 9) + b"no"
    owner["parameters"]["binary_data_size"] = len(short)
    body, length = binary_body([*good_inputs()[:2], owner], [short])
    assert any("cut short" in p["problem"] for p in problems_of(body, length).problems)


@pytest.mark.parametrize("length", ["abc", "0", "100000"])
def test_a_header_length_that_does_not_fit_the_body_is_refused(length):
    exc = problems_of(orjson.dumps({"inputs": good_inputs()}), length)
    assert "Inference-Header-Content-Length" in exc.problems[0]["problem"]


def test_an_answer_reads_back_with_tritonclient_in_json_and_in_binary():
    proba = np.array([[0.25, 0.75], [0.9, 0.1]])
    tensors = output_tensors(("predictions", "probabilities"), True, ["yes", "no"], proba)
    head = {"model_name": "m", "model_version": "3", "id": "r", "parameters": {"request_id": "abc"}}
    for binary in (set(), {"predictions"}, {"predictions", "probabilities"}):
        body, length = encode_answer(head, tensors, binary)
        assert (length is None) == (not binary)
        result = triton.InferenceServerClient.parse_response_body(body, header_length=length)
        assert [v.decode() if isinstance(v, bytes) else v for v in result.as_numpy("predictions")] == ["yes", "no"]
        assert result.as_numpy("probabilities").tolist() == proba.tolist()
        assert result.get_response()["model_version"] == "3"


def test_a_regressor_answers_numbers():
    tensors = output_tensors(("predictions",), False, [1.5, 2.5], None)
    assert tensors == [("predictions", "FP64", [2], [1.5, 2.5])]


def test_metadata_names_and_types_every_feature():
    metadata = model_metadata("m", ["production", "staging"], SCHEMA, ["no", "yes"])
    assert metadata["inputs"] == [
        {"name": "age", "datatype": "FP64", "shape": [-1]},
        {"name": "income", "datatype": "FP64", "shape": [-1]},
        {"name": "owner", "datatype": "BYTES", "shape": [-1]},
    ]
    assert [o["name"] for o in metadata["outputs"]] == ["predictions", "probabilities"]
    assert metadata["outputs"][1]["shape"] == [-1, 2] and metadata["versions"] == ["production", "staging"]


def test_an_error_is_one_message_with_every_problem_beside_it():
    exc = PayloadError([{"row": 1, "column": "age", "problem": "'old' is not a number"}, {"problem": "another"}])
    assert error_body(exc) == {
        "error": "row 1, column 'age': 'old' is not a number (and 1 more problem)",
        "problems": exc.problems,
    }


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000 + b"]" * 100_000,
        b'{"inputs": [{"name": "age", "shape": [1], "datatype": "FP64", "data": [1' + b"0" * 400 + b"]}]}",
    ],
)
def test_hostile_json_is_a_400_not_a_crash(body):
    exc = problems_of(body)
    assert exc.status == 400 and "not valid JSON" in exc.problems[0]["problem"]
