"""The Open Inference Protocol (KServe V2, Triton's HTTP/REST API): infer requests read into the rows scoring takes,
answers and model metadata written.

An infer request carries one input tensor per column, ``{"name": <column>, "shape": [n] or [n, 1], "datatype": ...,
"data": [...]}``, or carries the tensor's bytes after the JSON as Triton's binary tensor extension has it (the
``Inference-Header-Content-Length`` header gives the JSON's length, each input's ``binary_data_size`` its bytes):
``tritonclient`` sends that by default. ``parse_infer_request`` checks every tensor's datatype, shape and values and
that its datatype fits the feature it names, and returns the ``Rows`` that ``payloads.type_columns`` then checks
against the feature schema exactly as for ``/invocations``. ``encode_answer`` writes the output tensors as JSON, or
as binary where the request asks for it.

No Django here: it is unit-tested alone.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass, field

import numpy as np
import orjson

from pipelines_app.serving.payloads import MAX_PROBLEMS, PayloadError, Rows

# Each datatype's binary form (little-endian, as the protocol has it); BYTES is length-prefixed instead.
_BINARY = {
    "BOOL": np.dtype("?"),
    "UINT8": np.dtype("<u1"),
    "UINT16": np.dtype("<u2"),
    "UINT32": np.dtype("<u4"),
    "UINT64": np.dtype("<u8"),
    "INT8": np.dtype("<i1"),
    "INT16": np.dtype("<i2"),
    "INT32": np.dtype("<i4"),
    "INT64": np.dtype("<i8"),
    "FP16": np.dtype("<f2"),
    "FP32": np.dtype("<f4"),
    "FP64": np.dtype("<f8"),
}
DATATYPES = (*_BINARY, "BYTES")
_INTEGER_RANGES = {name: (int(np.iinfo(t).min), int(np.iinfo(t).max)) for name, t in _BINARY.items() if t.kind in "iu"}
_FLOATS = ("FP16", "FP32", "FP64")
# What a feature of each kind may be sent as: a number column as any number (or BOOL, as /invocations takes
# true and false there), a category as text or a whole number (typed to text, as /invocations does).
ACCEPTED = {
    "numeric": (*_FLOATS, *_INTEGER_RANGES, "BOOL"),
    "categorical": ("BYTES", *_INTEGER_RANGES, "BOOL"),
}
# What metadata announces for each kind.
DECLARED = {"numeric": "FP64", "categorical": "BYTES"}
OUTPUTS = ("predictions", "probabilities")
# The Python types a JSON value of each datatype may have (None: a missing value, in every datatype).
_JSON_TYPES = {name: {int, float, type(None)} for name in _FLOATS}
_JSON_TYPES |= {name: {int, type(None)} for name in _INTEGER_RANGES}
_JSON_TYPES |= {"BOOL": {bool, type(None)}, "BYTES": {str, type(None)}}
_EXPECTED = {"BOOL": "true or false", "BYTES": "text"} | {name: "a number" for name in _FLOATS}


@dataclass
class InferRequest:
    """A parsed infer request: the caller's id, its rows, and which outputs it wants and how."""

    id: str | None
    rows: Rows
    outputs: tuple[str, ...]
    binary: set[str] = field(default_factory=set)  # outputs to send as binary data after the JSON


class _TooManyRows(PayloadError):
    """Refuses the whole request at once, before any more of it is read."""


def decode_body(body: bytes, encoding: str | None, limit: int) -> bytes:
    """The body with its Content-Encoding (gzip or deflate, as tritonclient compresses) undone, at most ``limit``
    bytes of it: a small compressed body must not inflate past the limit an uncompressed one has."""
    encoding = (encoding or "identity").strip().lower()
    if encoding == "identity":
        return body
    if encoding not in ("gzip", "deflate"):
        raise PayloadError(f"Content-Encoding '{encoding}' is not accepted: send gzip, deflate or none.")
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS)
    try:
        out = inflater.decompress(body, limit + 1)
    except zlib.error as exc:
        raise PayloadError(f"The body is not valid {encoding} data: {exc}.") from None
    if len(out) > limit or inflater.unconsumed_tail:
        raise PayloadError(f"The body inflates past {limit} bytes, the most accepted.", status=413)
    return out


def parse_infer_request(
    body: bytes,
    header_length: str | None,
    feature_schema: list[dict],
    *,
    outputs: tuple[str, ...] = OUTPUTS,
    max_rows: int = 10_000,
) -> InferRequest:
    """The rows of an infer request (one tensor per column), checked tensor by tensor; raises ``PayloadError``
    listing every problem. ``header_length`` is the ``Inference-Header-Content-Length`` header, or None when the
    body is all JSON; ``outputs`` are the outputs this model gives."""
    head, binary = _split(body, header_length)
    try:
        data = orjson.loads(head)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"The body is not valid JSON: {exc}.") from None
    if not isinstance(data, dict):
        raise PayloadError('The JSON body must be an object with "inputs": one tensor per column.')
    request_id = data.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise PayloadError('"id" must be a string.')
    parameters = data.get("parameters", {})
    if not isinstance(parameters, dict):
        raise PayloadError('"parameters" must be an object.')
    wanted, binary_outputs = _requested_outputs(data.get("outputs"), parameters, outputs)
    inputs = data.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise PayloadError('"inputs" must be a non-empty list of tensors, one per column.')
    kinds = {entry["name"]: entry["kind"] for entry in feature_schema}
    names, columns, counts, problems, offset = [], [], {}, [], 0
    for position, tensor in enumerate(inputs):
        if not isinstance(tensor, dict) or not isinstance(tensor.get("name"), str):
            problems.append({"problem": f"input {position} is not a tensor with a name"})
            continue
        name = tensor["name"]
        if name in counts:
            problems.append({"column": name, "problem": "is sent twice"})
            continue
        try:
            n, values, offset = _read_tensor(tensor, binary, offset, kinds.get(name), max_rows)
        except _TooManyRows:
            raise
        except PayloadError as exc:
            problems += [{"column": name, **p} for p in exc.problems]
            counts[name] = None
            offset += _binary_size(tensor)  # so that the next input's binary data is still found
            continue
        names.append(name)
        columns.append(values)
        counts[name] = n
    if offset != len(binary) and not problems:
        problems.append({"problem": f"{len(binary) - offset} bytes of binary data follow the last input's"})
    sizes = {name: n for name, n in counts.items() if n is not None}
    if len(set(sizes.values())) > 1:
        listed = ", ".join(f"{name}: {n}" for name, n in sizes.items())
        problems.append({"problem": f"the inputs have different numbers of rows ({listed}): one value per row each"})
    if problems:
        raise PayloadError(problems)
    return InferRequest(
        id=request_id,
        # Rows of tuples: type_columns reads them by position, as it reads row lists.
        rows=Rows(names=names, values=list(zip(*columns, strict=True))),
        outputs=wanted,
        binary=binary_outputs,
    )


def _split(body, header_length):
    """(the JSON, the binary data after it)."""
    if header_length is None:
        return body, b""
    try:
        length = int(header_length)
    except ValueError:
        length = -1
    if not 0 < length <= len(body):
        raise PayloadError(
            f"Inference-Header-Content-Length is '{header_length[:20]}': it must be the length of the JSON at the "
            f"start of the body (1 to {len(body)})."
        )
    return body[:length], body[length:]


def _binary_size(tensor):
    parameters = tensor.get("parameters")
    size = parameters.get("binary_data_size") if isinstance(parameters, dict) else None
    return size if type(size) is int and size >= 0 else 0


def _requested_outputs(requested, parameters, available):
    """(the outputs to answer, those to send as binary): all outputs unless the request names some."""
    everything_binary = parameters.get("binary_data_output") is True
    if requested is None:
        return available, set(available) if everything_binary else set()
    named = isinstance(requested, list) and all(
        isinstance(o, dict) and isinstance(o.get("name"), str) for o in requested
    )
    if not named:
        raise PayloadError('"outputs" must be a list of objects with a "name".')
    names, binary = [], set()
    for output in requested:
        name = output["name"]
        if name not in available:
            raise PayloadError(f"output '{name}' is not one this model gives ({', '.join(available)}).")
        if name in names:
            continue
        names.append(name)
        given = output.get("parameters") if isinstance(output.get("parameters"), dict) else {}
        if given.get("binary_data", everything_binary) is True:
            binary.add(name)
    return tuple(names), binary


def _read_tensor(tensor, binary, offset, kind, max_rows):
    """(rows, values, the offset of the next input's binary data); raises PayloadError for this tensor."""
    datatype, shape = tensor.get("datatype"), tensor.get("shape")
    if datatype not in DATATYPES:
        raise PayloadError(f"datatype {_shown(datatype)} is not one of {', '.join(DATATYPES)}")
    if kind is not None and datatype not in ACCEPTED[kind]:
        expected = "a number" if kind == "numeric" else "a category"
        raise PayloadError(
            f"is {datatype}, but the feature is {expected}: send it as {DECLARED[kind]} "
            f"(or {', '.join(d for d in ACCEPTED[kind] if d != DECLARED[kind])})"
        )
    if not isinstance(shape, list) or not all(type(d) is int and d >= 0 for d in shape):
        raise PayloadError(f"shape {_shown(shape)} is not a list of sizes")
    if len(shape) not in (1, 2) or (len(shape) == 2 and shape[1] != 1):
        raise PayloadError(f"shape {shape} is not [n] or [n, 1]: one tensor per column, one value per row")
    n = shape[0]
    if n > max_rows:
        raise _TooManyRows(f"The request has {n} rows; at most {max_rows} are scored per request.")
    parameters = tensor.get("parameters") if isinstance(tensor.get("parameters"), dict) else {}
    if "shared_memory_region" in parameters:
        raise PayloadError("shared memory is not supported: send the data in the request")
    size = parameters.get("binary_data_size")
    if size is not None:
        if "data" in tensor:
            raise PayloadError('has both "data" and binary data')
        if type(size) is not int or size < 0 or offset + size > len(binary):
            raise PayloadError(
                f"binary_data_size {_shown(size)} is more than the {len(binary) - offset} bytes of binary data left"
            )
        return n, _from_binary(binary[offset : offset + size], datatype, n), offset + size
    data = tensor.get("data")
    if not isinstance(data, list):
        raise PayloadError('needs "data": a list of values (or binary data)')
    if len(shape) == 2 and any(type(v) is list for v in data):
        if not all(type(v) is list and len(v) == 1 for v in data):
            raise PayloadError(f"data for shape {shape} must be n values, or n lists of one value")
        data = [v[0] for v in data]
    if len(data) != n:
        raise PayloadError(f"has {len(data)} values for shape {shape}")
    _check_values(data, datatype)
    return n, data, offset


def _check_values(data, datatype):
    """Every JSON value is of the tensor's datatype (null: a missing value)."""
    allowed = _JSON_TYPES[datatype]
    if set(map(type, data)) <= allowed:
        problems = []
    else:
        expected = _EXPECTED.get(datatype, "a whole number")
        problems = [
            {"row": i, "problem": f"{_shown(v)} is not {expected} ({datatype})"}
            for i, v in enumerate(data)
            if type(v) not in allowed
        ]
    if not problems and datatype in _INTEGER_RANGES:
        low, high = _INTEGER_RANGES[datatype]
        problems = [
            {"row": i, "problem": f"{v} is out of {datatype}'s range ({low} to {high})"}
            for i, v in enumerate(data)
            if v is not None and not low <= v <= high
        ]
    if problems:
        raise PayloadError(problems[:MAX_PROBLEMS])


def _from_binary(chunk, datatype, n):
    if datatype == "BYTES":
        return _bytes_elements(chunk, n)
    dtype = _BINARY[datatype]
    if len(chunk) != n * dtype.itemsize:
        raise PayloadError(f"has {len(chunk)} bytes of binary data; {n} {datatype} values take {n * dtype.itemsize}")
    return np.frombuffer(chunk, dtype).tolist()


def _bytes_elements(chunk, n):
    """BYTES in binary: each element as its length (4 bytes, little-endian), then its bytes; decoded as UTF-8."""
    values, offset, end = [], 0, len(chunk)
    while offset < end and len(values) <= n:
        if offset + 4 > end:
            raise PayloadError("has binary BYTES data cut short in an element's length")
        (size,) = struct.unpack_from("<I", chunk, offset)
        offset += 4
        if offset + size > end:
            raise PayloadError(f"has binary BYTES data cut short: element {len(values)} claims {size} bytes")
        values.append(chunk[offset : offset + size])
        offset += size
    if len(values) != n:
        raise PayloadError(f"has {'more than ' if len(values) > n else ''}{len(values)} BYTES elements for {n} rows")
    text, problems = [], []
    for i, value in enumerate(values):
        try:
            text.append(value.decode())
        except UnicodeDecodeError:
            problems.append({"row": i, "problem": "is not UTF-8 text"})
    if problems:
        raise PayloadError(problems[:MAX_PROBLEMS])
    return text


def _shown(value):
    if isinstance(value, list | dict):
        return "a list" if isinstance(value, list) else "an object"
    text = orjson.dumps(value).decode() if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def output_tensors(wanted, classifier, predictions, proba):
    """The answer's tensors as (name, datatype, shape, data), in the order asked: ``predictions`` (labels as BYTES
    for a classifier, FP64 for a regressor), and a classifier's ``probabilities``, one row per input row and one
    column per class (the classes in the model's order), flattened row by row."""
    n = len(predictions)
    tensors = []
    for name in wanted:
        if name == "predictions":
            tensors.append((name, "BYTES" if classifier else "FP64", [n], predictions))
        else:
            matrix = np.ascontiguousarray(proba, dtype=np.float64)
            tensors.append((name, "FP64", list(matrix.shape), matrix.ravel()))
    return tensors


def encode_answer(head: dict, tensors, binary: set[str]) -> tuple[bytes, int | None]:
    """The answer's body, and the length of its JSON when binary data follow it (else None). ``head`` holds
    ``model_name``, ``model_version``, ``id`` and ``parameters``."""
    outputs, blobs = [], []
    for name, datatype, shape, data in tensors:
        tensor = {"name": name, "datatype": datatype, "shape": shape}
        if name in binary:
            blob = _to_binary(data, datatype)
            tensor["parameters"] = {"binary_data_size": len(blob)}
            blobs.append(blob)
        else:
            tensor["data"] = data
        outputs.append(tensor)
    text = orjson.dumps({**head, "outputs": outputs}, option=orjson.OPT_SERIALIZE_NUMPY)
    if not blobs:
        return text, None
    return b"".join([text, *blobs]), len(text)


def _to_binary(data, datatype):
    if datatype == "BYTES":
        encoded = [str(v).encode() for v in data]
        return b"".join(struct.pack("<I", len(v)) + v for v in encoded)
    return np.asarray(data, dtype=_BINARY[datatype]).tobytes()


def model_metadata(name: str, versions: list[str], feature_schema: list[dict], classes: list[str]) -> dict:
    """V2 model metadata: an input per feature (FP64 for numbers, BYTES for categories), one value per row; the
    outputs ``predictions`` and, for a classifier, ``probabilities`` (a column per class, in ``classes`` order)."""
    classifier = bool(classes)
    outputs = [{"name": "predictions", "datatype": "BYTES" if classifier else "FP64", "shape": [-1]}]
    if classifier:
        outputs.append({"name": "probabilities", "datatype": "FP64", "shape": [-1, len(classes)]})
    return {
        "name": name,
        "versions": versions,
        "platform": "scikit-learn",
        "inputs": [
            {"name": entry["name"], "datatype": DECLARED[entry["kind"]], "shape": [-1]} for entry in feature_schema
        ],
        "outputs": outputs,
    }


def error_body(exc: PayloadError) -> dict:
    """V2's error answer, ``{"error": <message>}``, with every problem listed beside it as /invocations does."""
    problems = exc.problems
    first = problems[0]
    where = [f"row {first['row']}"] if first.get("row") is not None else []
    where += [f"column '{first['column']}'"] if first.get("column") is not None else []
    more = len(problems) - 1
    message = (f"{', '.join(where)}: " if where else "") + first["problem"]
    if more:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return {"error": message, "problems": problems[:MAX_PROBLEMS]}
