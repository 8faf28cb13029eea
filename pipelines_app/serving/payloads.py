"""Scoring requests in MLflow's formats, checked against a model's feature schema and typed like training data.

``parse_payload`` reads the body into rows, accepting what ``mlflow models serve`` accepts: JSON with one of
``dataframe_split``, ``dataframe_records``, ``instances``, ``inputs`` (records, an object of columns, one row as
an object, or lists in the model's feature order), ``text/csv`` with or without pandas' index column, or
``application/vnd.apache.parquet``; any other content type is 415. ``type_columns`` checks every row against the
feature schema and returns the columns typed exactly as ``ml.datasets.apply_schema`` types training data
(numbers as float with NaN for missing, categories as text), or every problem found, each with its row and
column. Columns the model does not know are ignored (and named on ``Rows.ignored``) unless the environment
refuses them.

Errors carry the ``error_code`` MLflow answers for a model with a signature (checked against ``mlflow models serve``
3.17.2 on the demo model): ``BAD_REQUEST`` for a body that is not a readable request (not JSON, the wrong keys, a
malformed split, records, CSV or Parquet) and for a value that cannot be converted to its column's type (MLflow
converts while it parses), ``INVALID_PARAMETER_VALUE`` for rows that do not fit the model's schema otherwise
(missing or refused columns, no rows).

No Django here: it is unit-tested alone. pandas is not used, and pyarrow is imported only for a Parquet body.
"""

from __future__ import annotations

import csv
import io
import json
import math
from itertools import islice

import numpy as np
import orjson

from pipelines_app.ml.datasets import MISSING_MARKERS

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
_SPLIT_KEYS = frozenset(("columns", "data", "index"))
BAD_REQUEST = "BAD_REQUEST"
INVALID_PARAMETER_VALUE = "INVALID_PARAMETER_VALUE"
JSON_TYPES = ("application/json",)
CSV_TYPES = ("text/csv", "application/csv")
PARQUET_TYPE = "application/vnd.apache.parquet"
ACCEPTED_TYPES = "application/json, text/csv or application/vnd.apache.parquet"
MAX_PROBLEMS = 50
_WHOLE_LIMIT = 2**53
MAX_NUMBER_DIGITS = 300
# A Parquet body is compressed: what its needed columns decode to is bounded apart from the body's own size, so
# that a few kilobytes of repeated values cannot become gigabytes of Python objects.
PARQUET_MAX_DECODED_BYTES = 64 * 1024 * 1024
_REQUIRED_INPUT = f"The input must be a JSON dictionary with exactly one of the input fields {', '.join(FORMATS)}"
_NOT_SPLIT = "Invalid input. Provided dataframe_split field is not a valid dataframe representation in 'split' format"
_NOT_RECORDS = (
    "Invalid input. Provided dataframe_records field is not a valid dataframe representation in 'records' format"
)


class PayloadError(Exception):
    """A request that cannot be scored: ``problems`` lists what is wrong (row and column where known), ``code``
    is MLflow's ``error_code`` for it and ``message`` (when given) the sentence MLflow's own answer starts with."""

    def __init__(self, problems, status=400, code=BAD_REQUEST, message=None):
        if isinstance(problems, str):
            problems = [{"problem": problems}]
        super().__init__("; ".join(p["problem"] for p in problems[:3]))
        self.problems = problems
        self.status = status
        self.code = code
        self.message = message

    def as_json(self):
        body = {"error_code": self.code, "message": self.message or _summary(self.problems)}
        body["problems"] = self.problems[:MAX_PROBLEMS]
        if len(self.problems) > MAX_PROBLEMS:
            body["more_problems"] = len(self.problems) - MAX_PROBLEMS
        return body


def _summary(problems):
    first = problems[0]
    where = []
    if first.get("row") is not None:
        where.append(f"row {first['row']}")
    if first.get("column") is not None:
        where.append(f"column '{first['column']}'")
    prefix = f"{', '.join(where)}: " if where else ""
    more = f" (and {len(problems) - 1} more problem{'s' if len(problems) > 2 else ''})" if len(problems) > 1 else ""
    return f"{prefix}{first['problem']}{more}"


class Rows:
    """Parsed rows: a table (``names`` and row lists of values), records (dicts), or ``columns`` (name → list of
    values, ``n`` rows). ``type_columns`` sets ``ignored``: the columns it left out as unknown to the model."""

    def __init__(self, names=None, values=None, records=None, columns=None, n=0):
        self.names, self.values, self.records, self.columns, self.n = names, values, records, columns, n
        self.ignored = ()

    def __len__(self):
        if self.columns is not None:
            return self.n
        return len(self.records if self.records is not None else self.values)


def parse_payload(body: bytes, content_type: str, features: list[str], *, max_rows: int = 10_000) -> Rows:
    """The rows of a scoring request. ``content_type`` is the whole header (parameters included: MLflow refuses
    a charset other than UTF-8 and any other parameter with 415); ``features`` gives the column order for rows
    sent as bare lists; ``max_rows`` bounds a Parquet body before it is decoded."""
    kind, _, parameters = (content_type or "").partition(";")
    kind = kind.strip().lower()
    if parameters:
        _check_parameters(parameters)
    if kind in JSON_TYPES or kind.endswith("+json"):
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            data = _lenient_json(body)  # NaN and Infinity, which pandas writes; or the reason it is not JSON
        return _parse_json(data, features)
    if kind in CSV_TYPES:
        return _parse_csv(body)
    if kind == PARQUET_TYPE:
        return _parse_parquet(body, features, max_rows)
    message = f"This predictor only supports the content types {ACCEPTED_TYPES}. Got '{_clip(kind) or 'none'}'."
    raise PayloadError(message, status=415)


def _check_parameters(parameters):
    pairs = [part.strip().partition("=") for part in parameters.split(";") if part.strip()]
    unknown = sorted({_clip(name.strip().lower()) for name, _, _ in pairs} - {"charset"})
    if unknown:
        raise PayloadError(f"Unrecognized content type parameters: {', '.join(unknown)}.", status=415)
    for _, _, value in pairs:
        if value.strip().lower() != "utf-8":
            raise PayloadError("The scoring server only supports UTF-8.", status=415)


def _lenient_json(body):
    # Only bodies orjson refused come here, so the hostile ones do too: nested past orjson's 1,024 levels (json's
    # own recursion would raise RecursionError) or holding a number too large for a double.
    try:
        return json.loads(body, parse_int=_bounded_int)
    except UnicodeDecodeError:
        problem = "The body is not UTF-8 text."
    except json.JSONDecodeError as exc:
        problem = f"The body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}."
    except RecursionError:
        problem = "The body is not valid JSON for scoring: it is nested too deeply."
    except ValueError as exc:
        problem = f"The body is not valid JSON for scoring: {exc}."
    message = f"Invalid input. Ensure that input is a valid JSON formatted string. Error: {problem}"
    raise PayloadError(problem, message=message)


def _bounded_int(text):
    # Any longer and float() overflows when the value is typed, or int() refuses it (Python's 4,300-digit limit).
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number has {len(text):,} digits; at most {MAX_NUMBER_DIGITS} are accepted")
    return int(text)


def _parse_json(data, features):
    if not isinstance(data, dict):
        got = "a list" if isinstance(data, list) else f"unexpected input type '{_json_type(data)}'"
        raise PayloadError(f"Invalid input. {_REQUIRED_INPUT}. Received {got}.")
    present = [key for key in FORMATS if key in data]
    if len(present) != 1:
        shown = ", ".join(repr(_clip(str(key))) for key in islice(data, 10)) + (", ..." if len(data) > 10 else "")
        raise PayloadError(f"{_REQUIRED_INPUT}. Received dictionary with input fields: [{shown}].")
    key = present[0]
    value = data[key]
    if key == "dataframe_split":
        return _parse_split(value)
    if key == "dataframe_records":
        return _parse_records(value)
    if isinstance(value, dict):
        return _parse_object(value, key)
    return _parse_instances(value, key, features)


def _parse_split(value):
    if not isinstance(value, dict):
        raise PayloadError(f"Invalid input. Dataframe split format must be a dictionary. Got {_json_type(value)}.")
    if "data" not in value or not value.keys() <= _SPLIT_KEYS:
        keys = ", ".join(repr(_clip(k)) for k in islice(value, 10))
        raise PayloadError(
            "Invalid input. Dataframe split format must have 'data' field and optionally 'columns' and 'index' "
            f"fields. Got [{keys}]."
        )
    data = value["data"]
    if not isinstance(data, list):
        raise PayloadError("dataframe_split.data must be a list of rows.", message=f"{_NOT_SPLIT}: data is not a list.")
    names = value.get("columns")
    if names is None:
        # pandas names them 0, 1, …: MLflow then finds none of the model's inputs, and so does type_columns.
        names = [str(i) for i in range(len(data[0]) if data and isinstance(data[0], list) else 0)]
    elif not isinstance(names, list) or not all(type(n) is str for n in names):
        if not isinstance(names, list) or not all(_is_name(n) for n in names):
            raise PayloadError("dataframe_split.columns must be a list of column names.", message=f"{_NOT_SPLIT}.")
        names = [n if isinstance(n, str) else str(n) for n in names]  # pandas' default names are numbers
    if len(set(names)) != len(names):
        raise PayloadError("dataframe_split.columns names a column twice.", message=f"{_NOT_SPLIT}.")
    index = value.get("index")
    if index is not None and (not isinstance(index, list) or len(index) != len(data)):
        count = f"{len(index)} labels" if isinstance(index, list) else "no list"
        problem = f"dataframe_split.index has {count} for {len(data)} rows."
        raise PayloadError(problem, message=f"{_NOT_SPLIT}: {problem}")
    width = len(names)
    problems = [
        {
            "row": i,
            "problem": f"has {len(row)} values for {width} columns" if isinstance(row, list) else "is not a list",
        }
        for i, row in enumerate(data)
        if not isinstance(row, list) or len(row) != width
    ]
    if problems:
        raise PayloadError(problems, message=f"{_NOT_SPLIT}: {_summary(problems)}")
    return Rows(names=names, values=data)


def _parse_records(value):
    if not isinstance(value, list):
        raise PayloadError(
            f"Invalid input. Dataframe records format must be a list of records. Got {_json_type(value)}."
        )
    problems = [
        {"row": i, "problem": "is not an object of column: value"}
        for i, r in enumerate(value)
        if not isinstance(r, dict)
    ]
    if problems:
        raise PayloadError(problems, message=f"{_NOT_RECORDS}: {_summary(problems)}")
    return Rows(records=value)


def _parse_object(value, key):
    """``instances``/``inputs`` as an object: of columns (each a list of values), or one row (each a value)."""
    lists = [name for name, v in value.items() if isinstance(v, list)]
    if not lists:
        return Rows(records=[value])
    if len(lists) != len(value):
        scalars = [name for name, v in value.items() if not isinstance(v, list)]
        problems = [{"column": name, "problem": f"is a single value among {key} columns"} for name in scalars]
        raise PayloadError(
            problems,
            message=f"{key} as an object is either columns (every value a list) or one row (no value a list): "
            f"it mixes both ({len(lists)} lists, {len(scalars)} single values).",
        )
    lengths = {len(value[name]) for name in lists}
    if len(lengths) > 1:
        shown = ", ".join(f"{_clip(name)}: {len(value[name])}" for name in lists[:10])
        raise PayloadError(f"{key} columns have different lengths ({shown}).")
    return Rows(names=lists, columns=value, n=lengths.pop())


def _parse_instances(value, key, features):
    if not isinstance(value, list):
        raise PayloadError(f"{key} must be a list of rows or an object of columns, not {_json_type(value)}.")
    if all(isinstance(r, dict) for r in value):
        return Rows(records=value)
    if all(isinstance(r, list) for r in value):
        # Bare lists of values: in the order of the model's features.
        problems = [
            {"row": i, "problem": f"has {len(r)} values; the model takes {len(features)} ({', '.join(features)})"}
            for i, r in enumerate(value)
            if len(r) != len(features)
        ]
        if problems:
            raise PayloadError(problems, code=INVALID_PARAMETER_VALUE)
        return Rows(names=list(features), values=value)
    raise PayloadError(f"{key} must be a list of objects (column: value) or of lists of values, not a mix.")


def _parse_csv(body):
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise PayloadError("The CSV body is not UTF-8 text.") from None
    reader = csv.reader(io.StringIO(text))
    try:
        lines = [line for line in reader if line]
    except csv.Error as exc:
        raise PayloadError(f"The CSV body cannot be read: {exc}.") from None
    if not lines:
        raise PayloadError("The CSV body is empty: send a header line and at least one row.")
    names, data = lines[0], lines[1:]
    # DataFrame.to_csv() writes the index first, under an empty name (or, with index_label=False, under none:
    # then every row has one value more than the header). pandas reads it back as the index, and so do we.
    if names[0] == "" and all(len(row) == len(names) for row in data):
        names, data = names[1:], [row[1:] for row in data]
    elif data and all(len(row) == len(names) + 1 for row in data):
        data = [row[1:] for row in data]
    if len(set(names)) != len(names):
        raise PayloadError("The CSV header names a column twice.")
    problems = [
        {"row": i, "problem": f"has {len(row)} values for {len(names)} columns"}
        for i, row in enumerate(data)
        if len(row) != len(names)
    ]
    if problems:
        raise PayloadError(problems)
    return Rows(names=names, values=data)


def _parse_parquet(body, features, max_rows):
    # Imported on the first Parquet body, not with this module: JSON and CSV requests never need pyarrow, and a
    # worker that never sees Parquet is spared its import time and memory.
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(pa.BufferReader(body))
        schema, n = parquet.schema_arrow, parquet.metadata.num_rows
        index = {name for name in (schema.pandas_metadata or {}).get("index_columns", []) if isinstance(name, str)}
    except Exception as exc:  # noqa: BLE001  (whatever pyarrow makes of a caller's bytes, it is the body's fault)
        raise PayloadError(f"The body is not a Parquet file: {_clip(str(exc), 200)}") from None
    if n > max_rows:
        raise PayloadError(f"The request has {n} rows; at most {max_rows} are scored per request.")
    names = [name for name in schema.names if name not in index]  # pandas' index is not a column, as in CSV
    if len(set(names)) != len(names):
        raise PayloadError("The Parquet body names a column twice.")
    wanted = [name for name in features if name in names]
    wanted_set = set(wanted)
    problems, text = [], []
    for name in wanted:
        kind = schema.field(name).type
        if pa.types.is_dictionary(kind):
            kind = kind.value_type
        if pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind):
            text.append(name)
        elif not (pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_boolean(kind)):
            if not pa.types.is_null(kind):
                problems.append(
                    {"column": name, "problem": f"has Parquet type {_clip(str(kind))}: send numbers or text"}
                )
    if problems:
        raise PayloadError(problems)  # values of the wrong type: BAD_REQUEST, as in type_columns
    try:
        metadata = parquet.metadata
        stored = sum(
            column.total_uncompressed_size
            for group in range(metadata.num_row_groups)
            for column in (metadata.row_group(group).column(i) for i in range(metadata.row_group(group).num_columns))
            if column.path_in_schema in wanted_set
        )
        if stored > PARQUET_MAX_DECODED_BYTES:
            raise PayloadError(_too_large(stored))
        # Text is read as dictionaries, so that what it expands to is measured before any of it is.
        table = pq.ParquetFile(pa.BufferReader(body), read_dictionary=text).read(columns=wanted, use_threads=False)
        expanded = sum(_text_bytes(table.column(name)) for name in text)
        if stored + expanded > PARQUET_MAX_DECODED_BYTES:
            raise PayloadError(_too_large(stored + expanded))
        columns = {name: table.column(name).to_pylist() for name in wanted}
    except PayloadError:
        raise
    except Exception as exc:  # noqa: BLE001  (as above: a damaged page, a bad value, bytes that are not UTF-8)
        raise PayloadError(f"The Parquet body cannot be read: {_clip(str(exc), 200)}") from None
    return Rows(names=names, columns=columns, n=n)


def _text_bytes(column):
    import pyarrow as pa
    import pyarrow.compute as pc

    total = 0
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            lengths = pc.binary_length(chunk.dictionary)
            total += pc.sum(pc.take(lengths, chunk.indices)).as_py() or 0
        else:
            total += chunk.nbytes
    return total


def _too_large(size):
    return f"The Parquet body decodes to {size:,} bytes; at most {PARQUET_MAX_DECODED_BYTES:,} are read."


def type_columns(rows: Rows, feature_schema: list[dict], *, ignore_unknown=False, max_rows=10_000):
    """Every feature's values typed as in training, as ``{feature: [values]}``; raises ``PayloadError`` listing
    every missing, unknown or mistyped column and every value that cannot be converted, by row and column.
    Unknown columns are refused unless ``ignore_unknown``; then they are named in ``rows.ignored``."""
    n = len(rows)
    if n == 0:
        raise PayloadError("The request has no rows to score.", code=INVALID_PARAMETER_VALUE)
    if n > max_rows:
        raise PayloadError(f"The request has {n} rows; at most {max_rows} are scored per request.")
    features = [entry["name"] for entry in feature_schema]
    known = set(features)
    problems = []
    if rows.records is not None:
        seen = set().union(*(r.keys() for r in rows.records))
        unknown = sorted(seen - known)
        raw = {}
        for name in features:
            raw[name] = [r.get(name, _ABSENT) for r in rows.records]
            for i, value in enumerate(raw[name]):
                if value is _ABSENT:
                    problems.append({"row": i, "column": name, "problem": "is missing"})
    else:
        present = set(rows.names)
        unknown = [name for name in rows.names if name not in known]
        missing = [name for name in features if name not in present]
        problems += [{"column": name, "problem": "is missing: the model needs it"} for name in missing]
        if rows.columns is not None:
            raw = {name: rows.columns[name] for name in features if name in present}
        else:
            by_name = dict(zip(rows.names, zip(*rows.values, strict=True), strict=True)) if rows.values else {}
            raw = {name: list(by_name.get(name, ())) for name in features if name in present}
    if unknown:
        if ignore_unknown:
            rows.ignored = unknown
        else:
            problems += [
                {"column": name, "problem": f"is not a feature of this model (its features: {', '.join(features)})"}
                for name in unknown
            ]
    typed, mistyped = {}, False
    for entry in feature_schema:
        name = entry["name"]
        if name not in raw:
            continue
        numeric = entry["kind"] == "numeric"
        fast = _numbers_at_once(raw[name]) if numeric else _texts_at_once(raw[name])
        if fast is not None:
            typed[name] = fast
            continue
        convert = _number if numeric else _category
        out = []
        for i, value in enumerate(raw[name]):
            if value is _ABSENT:
                out.append(math.nan)
                continue
            result = convert(value)
            if result is _BAD:
                expected = "a number" if entry["kind"] == "numeric" else "a category (text or number)"
                problems.append({"row": i, "column": name, "problem": f"{_shown(value)} is not {expected}"})
                result, mistyped = math.nan, True
            out.append(result)
        typed[name] = out
    if problems:
        raise PayloadError(problems, code=BAD_REQUEST if mistyped else INVALID_PARAMETER_VALUE)
    return typed, n


_ABSENT = object()
_BAD = object()
# From this many rows on, a column is first typed in one go (the common case: every value already of its kind);
# below it, or when that fails, value by value.
_AT_ONCE_ROWS = 8


def _numbers_at_once(values):
    """A column of JSON numbers as floats (non-finite ones missing), as ``_number`` gives them, or None when any
    value is of another type (text, null, a list...), which the value-by-value path then reports or converts."""
    if len(values) < _AT_ONCE_ROWS:
        return None
    try:
        array = np.array(values)
    except (ValueError, TypeError, OverflowError):
        return None
    if array.ndim != 1 or array.dtype.kind not in "if":  # "b": all booleans, "U"/"O": text, null, mixed
        return None
    array = array.astype(np.float64)
    array[~np.isfinite(array)] = np.nan
    return array.tolist()


def _texts_at_once(values):
    """A column of non-empty texts as it is (``_category`` keeps each), or None for any other value."""
    if len(values) < _AT_ONCE_ROWS:
        return None
    for value in values:
        if type(value) is not str or not value:
            return None
    return list(values)


def _is_name(value):
    return isinstance(value, str) or (isinstance(value, int | float) and not isinstance(value, bool))


def _json_type(value):
    if isinstance(value, dict):
        return "dictionary"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"


def _clip(text, limit=40):
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _shown(value):
    if isinstance(value, list | dict):
        # Not dumped: it may be nested deep enough to exhaust json.dumps' recursion.
        return "a list" if isinstance(value, list) else "an object"
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return _clip(text)


def _number(value):
    if value is None:
        return math.nan
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        number = float(value)
        return number if math.isfinite(number) else math.nan
    if isinstance(value, str):
        text = value.strip()
        if not text or text.lower() in MISSING_MARKERS:
            return math.nan
        try:
            number = float(text)
        except ValueError:
            return _BAD
        return number if math.isfinite(number) else math.nan
    return _BAD


def _category(value):
    if value is None:
        return math.nan
    if isinstance(value, str):
        return value if value != "" else math.nan
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return math.nan if value != value else str(value)
        if value == round(value) and abs(value) < _WHOLE_LIMIT:
            return str(int(value))
        return str(value)
    return _BAD
