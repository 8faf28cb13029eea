"""Scoring requests in MLflow's formats, checked against a model's feature schema and typed like training data.

``parse_payload`` reads the body (JSON with one of ``dataframe_split``, ``dataframe_records``, ``instances``,
``inputs``; or ``text/csv``) into rows; ``type_columns`` checks every row against the feature schema and returns
the columns typed exactly as ``ml.datasets.apply_schema`` types training data (numbers as float with NaN for
missing, categories as text), or every problem found, each with its row and column.

No Django here: it is unit-tested alone.
"""

from __future__ import annotations

import csv
import io
import json
import math

import orjson

from pipelines_app.ml.datasets import MISSING_MARKERS

FORMATS = ("dataframe_split", "dataframe_records", "instances", "inputs")
MAX_PROBLEMS = 50
_WHOLE_LIMIT = 2**53
MAX_NUMBER_DIGITS = 300


class PayloadError(Exception):
    """A request that cannot be scored: ``problems`` lists what is wrong (row and column where known)."""

    def __init__(self, problems, status=400):
        if isinstance(problems, str):
            problems = [{"problem": problems}]
        super().__init__("; ".join(p["problem"] for p in problems[:3]))
        self.problems = problems
        self.status = status

    def as_json(self):
        shown = self.problems[:MAX_PROBLEMS]
        body = {"error": "bad_request" if self.status == 400 else "payload_too_large", "problems": shown}
        if len(self.problems) > MAX_PROBLEMS:
            body["more_problems"] = len(self.problems) - MAX_PROBLEMS
        body["message"] = _summary(self.problems)
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
    """Parsed rows: either a table (``names`` and lists of values) or records (dicts)."""

    def __init__(self, names=None, values=None, records=None):
        self.names, self.values, self.records = names, values, records

    def __len__(self):
        return len(self.records if self.records is not None else self.values)


def parse_payload(body: bytes, content_type: str, features: list[str]) -> Rows:
    """The rows of a scoring request; ``features`` gives the column order for rows sent as bare lists."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind in ("text/csv", "application/csv"):
        return _parse_csv(body)
    if kind != "application/json" and not kind.endswith("+json"):
        raise PayloadError(
            f"Content-Type '{kind or 'none'}' is not accepted: send application/json (dataframe_split, "
            "dataframe_records, instances or inputs) or text/csv."
        )
    try:
        data = orjson.loads(body)
    except orjson.JSONDecodeError:
        data = _lenient_json(body)  # NaN and Infinity, which pandas writes; or the reason it is not JSON
    return _parse_json(data, features)


def _lenient_json(body):
    # Only bodies orjson refused come here, so the hostile ones do too: nested past orjson's 1,024 levels (json's
    # own recursion would raise RecursionError) or holding a number too large for a double.
    try:
        return json.loads(body, parse_int=_bounded_int)
    except UnicodeDecodeError:
        raise PayloadError("The body is not UTF-8 text.") from None
    except json.JSONDecodeError as exc:
        raise PayloadError(f"The body is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}.") from None
    except RecursionError:
        raise PayloadError("The body is not valid JSON for scoring: it is nested too deeply.") from None
    except ValueError as exc:
        raise PayloadError(f"The body is not valid JSON for scoring: {exc}.") from None


def _bounded_int(text):
    # Any longer and float() overflows when the value is typed, or int() refuses it (Python's 4,300-digit limit).
    if len(text) > MAX_NUMBER_DIGITS:
        raise ValueError(f"a number has {len(text):,} digits; at most {MAX_NUMBER_DIGITS} are accepted")
    return int(text)


def _parse_json(data, features):
    if not isinstance(data, dict):
        raise PayloadError(f"The JSON body must be an object with one of {', '.join(FORMATS)}.")
    present = [key for key in FORMATS if key in data]
    if len(present) != 1:
        named = f"it has {', '.join(present)}" if present else f"it has {', '.join(map(str, data)) or 'no keys'}"
        raise PayloadError(f"The JSON body must have exactly one of {', '.join(FORMATS)}; {named}.")
    key = present[0]
    value = data[key]
    if key == "dataframe_split":
        return _parse_split(value)
    if key == "dataframe_records":
        return _parse_records(value, key)
    if key == "inputs" and isinstance(value, dict):
        return _parse_columnar(value)
    return _parse_instances(value, key, features)


def _parse_split(value):
    if not isinstance(value, dict) or "columns" not in value or "data" not in value:
        raise PayloadError('dataframe_split must be an object with "columns" and "data".')
    names, data = value["columns"], value["data"]
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise PayloadError("dataframe_split.columns must be a list of column names.")
    if len(set(names)) != len(names):
        raise PayloadError("dataframe_split.columns names a column twice.")
    if not isinstance(data, list):
        raise PayloadError("dataframe_split.data must be a list of rows.")
    problems = [
        {
            "row": i,
            "problem": f"has {len(row) if isinstance(row, list) else 'no list of'} values for {len(names)} columns",
        }
        for i, row in enumerate(data)
        if not isinstance(row, list) or len(row) != len(names)
    ]
    if problems:
        raise PayloadError(problems)
    return Rows(names=names, values=data)


def _parse_records(value, key):
    if not isinstance(value, list):
        raise PayloadError(f"{key} must be a list of rows, each an object of column: value.")
    problems = [
        {"row": i, "problem": "is not an object of column: value"}
        for i, r in enumerate(value)
        if not isinstance(r, dict)
    ]
    if problems:
        raise PayloadError(problems)
    return Rows(records=value)


def _parse_columnar(value):
    lengths = {name: len(v) if isinstance(v, list) else None for name, v in value.items()}
    if any(n is None for n in lengths.values()):
        bad = [name for name, n in lengths.items() if n is None]
        raise PayloadError([{"column": name, "problem": "inputs as columns needs a list of values"} for name in bad])
    if len(set(lengths.values())) > 1:
        raise PayloadError(f"inputs columns have different lengths: {lengths}.")
    names = list(value)
    n = next(iter(lengths.values()), 0)
    return Rows(names=names, values=[[value[name][i] for name in names] for i in range(n)])


def _parse_instances(value, key, features):
    if not isinstance(value, list):
        raise PayloadError(f"{key} must be a list of rows.")
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
            raise PayloadError(problems)
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


def type_columns(rows: Rows, feature_schema: list[dict], *, ignore_unknown=False, max_rows=10_000):
    """Every feature's values typed as in training, as ``{feature: [values]}``; raises ``PayloadError`` listing
    every missing, unknown or mistyped column and every value that cannot be converted, by row and column."""
    n = len(rows)
    if n == 0:
        raise PayloadError("The request has no rows to score.")
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
        positions = {name: i for i, name in enumerate(rows.names)}
        unknown = [name for name in rows.names if name not in known]
        missing = [name for name in features if name not in positions]
        problems += [{"column": name, "problem": "is missing: the model needs it"} for name in missing]
        raw = {name: [row[positions[name]] for row in rows.values] for name in features if name in positions}
    if unknown and not ignore_unknown:
        problems += [
            {"column": name, "problem": f"is not a feature of this model (its features: {', '.join(features)})"}
            for name in unknown
        ]
    typed = {}
    for entry in feature_schema:
        name = entry["name"]
        if name not in raw:
            continue
        convert = _number if entry["kind"] == "numeric" else _category
        out = []
        for i, value in enumerate(raw[name]):
            if value is _ABSENT:
                out.append(math.nan)
                continue
            result = convert(value)
            if result is _BAD:
                expected = "a number" if entry["kind"] == "numeric" else "a category (text or number)"
                problems.append({"row": i, "column": name, "problem": f"{_shown(value)} is not {expected}"})
                result = math.nan
            out.append(result)
        typed[name] = out
    if problems:
        raise PayloadError(problems)
    return typed, n


_ABSENT = object()
_BAD = object()


def _shown(value):
    if isinstance(value, list | dict):
        # Not dumped: it may be nested deep enough to exhaust json.dumps' recursion.
        return "a list" if isinstance(value, list) else "an object"
    text = json.dumps(value) if not isinstance(value, str) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


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
