"""Reading a pipeline file: parse_pipeline() returns the validated PipelineSpec or raises SpecInvalid with
every problem; validate_pipeline() returns the problems (an empty list for a valid file).

Order of work: YAML (syntax, duplicate keys, tags) -> the models (types, keys, per-step rules) -> whole-file
checks (names, step order, references, database names). A file that cannot be read as a mapping stops at the
first stage; everything else is collected, so one round of editing can fix all of it.
"""

from pydantic import ValidationError

from .context import SpecContext
from .errors import SpecError, SpecInvalid, finish_errors
from .messages import translate_validation_error
from .models import PipelineSpec
from .semantics import semantic_errors
from .yaml_nodes import load_yaml

# Pipeline files are a few kilobytes; a megabyte is far beyond any real one, and YAML parsing costs seconds per MB.
MAX_FILE_BYTES = 1_000_000


def parse_pipeline(text: str, context: SpecContext | None = None) -> PipelineSpec:
    """The pipeline in `text`, validated; SpecInvalid lists every problem, sorted by line and column."""
    spec, errors = _read(text, context)
    if errors:
        raise SpecInvalid(errors)
    return spec


def validate_pipeline(text: str, context: SpecContext | None = None) -> list[SpecError]:
    """Every problem in `text`, sorted by line and column; [] when the file is valid."""
    return _read(text, context)[1]


def _read(text: str, context: SpecContext | None) -> tuple[PipelineSpec | None, list[SpecError]]:
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, [SpecError(1, 1, f"the file is not UTF-8 text (byte {exc.start + 1} cannot be read)")]
    if not isinstance(text, str):
        return None, [SpecError(1, 1, "the pipeline file must be text")]
    if len(text) > MAX_FILE_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FILE_BYTES:
        too_large = f"the file is larger than {MAX_FILE_BYTES:,} bytes, the most a pipeline file may be"
        return None, [SpecError(1, 1, too_large)]
    loaded = load_yaml(text)
    if loaded.fatal:
        return None, loaded.errors
    errors = list(loaded.errors)
    version = loaded.data.get("version")
    if isinstance(version, int) and not isinstance(version, bool) and version != 1:
        # Another version is another format: its keys would only produce a page of misleading errors.
        return None, [loaded.error(("version",), f"unsupported version {version}; this server reads version 1")]
    spec = None
    try:
        spec = PipelineSpec.model_validate(loaded.data)
    except ValidationError as exc:
        # A value the YAML reading already complained about (a refused tag, NaN) needs no second message.
        reported = {(error.line, error.column) for error in loaded.errors}
        errors += [
            error for error in translate_validation_error(exc, loaded) if (error.line, error.column) not in reported
        ]
    except RecursionError:
        errors.append(SpecError(1, 1, "the file is nested too deeply to be a pipeline file"))
    try:
        errors += semantic_errors(loaded, context)
    except RecursionError:
        errors.append(SpecError(1, 1, "the file is nested too deeply to be a pipeline file"))
    errors = finish_errors(errors)
    return (None if errors else spec), errors
