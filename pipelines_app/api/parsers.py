"""Request parsers for the API: JSON with bounded depth and number size, and a pipeline file sent as the body.

Both refuse hostile bodies with a 4xx before any view runs: a body nested thousands deep would otherwise end in a
RecursionError (500) wherever the data is walked, and a 5,000-digit number in an OverflowError or ValueError.
"""

import json

from rest_framework.exceptions import APIException, ParseError
from rest_framework.parsers import BaseParser, JSONParser

from pipelines_app.spec import MAX_FILE_BYTES

# Deeper than any body the API takes (a run's inputs, feedback, a pipeline file as {"yaml": ...}) by far.
JSON_MAX_DEPTH = 64
# Characters in one number: a float has 17 significant digits and an exponent; more is an attack, not data.
JSON_MAX_NUMBER_CHARS = 100


class PayloadTooLarge(APIException):
    status_code = 413
    default_detail = "The request body is too large."
    default_code = "payload_too_large"


def _bounded_int(text):
    if len(text) > JSON_MAX_NUMBER_CHARS:
        raise ValueError(f"a number has {len(text):,} digits; at most {JSON_MAX_NUMBER_CHARS} are accepted")
    return int(text)


def _bounded_float(text):
    if len(text) > JSON_MAX_NUMBER_CHARS:
        raise ValueError(f"a number is {len(text):,} characters long; at most {JSON_MAX_NUMBER_CHARS} are accepted")
    number = float(text)
    if number in (float("inf"), float("-inf")):
        raise ValueError(f"the number {text} is too large to be held as a float")
    return number


def _refuse_constant(name):
    raise ValueError(f"{name} is not a JSON number")


def json_depth_exceeds(data, limit: int) -> bool:
    """Whether lists and objects in `data` nest deeper than `limit`; walked without recursion."""
    pending = [(data, 1)]
    while pending:
        value, depth = pending.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        pending.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def loads_bounded(text):
    """JSON text as data, or ValueError saying what is wrong: too deep, a number too long, NaN or Infinity."""
    try:
        data = json.loads(text, parse_int=_bounded_int, parse_float=_bounded_float, parse_constant=_refuse_constant)
    except RecursionError:
        raise ValueError(f"lists and objects are nested more than {JSON_MAX_DEPTH} deep") from None
    if json_depth_exceeds(data, JSON_MAX_DEPTH):
        raise ValueError(f"lists and objects are nested more than {JSON_MAX_DEPTH} deep")
    return data


class BoundedJSONParser(JSONParser):
    """DRF's JSON parser with the bounds above; the default parser for every API view (REST_FRAMEWORK)."""

    def parse(self, stream, media_type=None, parser_context=None):
        raw = stream.read() if stream is not None else b""
        try:
            return loads_bounded(raw.decode("utf-8-sig") if isinstance(raw, bytes) else raw)
        except UnicodeDecodeError:
            raise ParseError("JSON parse error - the body is not UTF-8 text.") from None
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None


class PipelineFileParser(BaseParser):
    """A pipeline file sent as the body itself (application/yaml or text/yaml) → {"yaml": text}."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        # Read one byte past the limit and no further: the stream is the socket, and a 30 MB body read whole
        # took 44 s to parse as YAML before this bound.
        raw = stream.read(MAX_FILE_BYTES + 1) if stream is not None else b""
        if len(raw) > MAX_FILE_BYTES:
            raise PayloadTooLarge(f"A pipeline file may be at most {MAX_FILE_BYTES:,} bytes; this one is larger.")
        try:
            return {"yaml": raw.decode("utf-8-sig")}
        except UnicodeDecodeError:
            raise ParseError("The pipeline file must be UTF-8 text.") from None


class TextYAMLParser(PipelineFileParser):
    media_type = "text/yaml"


class XYAMLParser(PipelineFileParser):
    media_type = "application/x-yaml"


class PlainTextParser(PipelineFileParser):
    media_type = "text/plain"
