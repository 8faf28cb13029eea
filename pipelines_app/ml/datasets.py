"""Check, type and profile the CSV files that users upload as dataset versions.

This is the entry point of every dataset upload (DESIGN.md §5, DatasetVersion):

- ``read_csv_checked`` turns the uploaded bytes into a DataFrame, or raises ``DatasetError`` with a sentence a
  user can act on (what is wrong and where: line numbers, column names, byte positions);
- ``infer_schema`` guesses each column's kind, ``numeric`` or ``categorical``; the user may correct it;
- ``apply_schema`` casts the columns to those kinds: numeric ones become float64, categorical ones text;
- ``profile_dataframe`` computes the per-column statistics that the dataset page shows and that drift
  monitoring compares against (quantile bin edges with reference counts, category frequencies).

Conventions that callers can rely on:

- Only empty fields are missing when reading. Columns that hold only numbers come back as numbers (pandas
  parses them, which is fast), all others as text. In a column treated as numeric, the usual "no value"
  markers (``NA``, ``N/A``, ``NaN``, ``null``, ``None``, ``#N/A``, ``<NA>``, ``?``, any case) and infinities
  also count as missing; in a categorical column they stay ordinary categories, as "NA" may be a real value.
- A column with no values at all is categorical: nothing in it says it holds numbers.
- A numeric column marked categorical reads as its numbers written plainly: "3" for 3.0, "7" for a "007".
- Numeric bins follow ``numpy.histogram``: each bin is half-open ``[a, b)`` except the last, which is closed
  ``[a, b]``; ``count_in_bins`` counts new data by the same rule. A constant column has the edges ``[v, v]``:
  one closed bin that holds exactly ``v``, so any other value later falls outside the edges, which is drift.
- Sizes in messages use binary units (1 MB = 1024 × 1024 bytes), the way the upload limit is set.

It imports no Django so that it can be unit-tested alone and reused by steps and monitoring.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import Counter

import numpy as np
import pandas as pd
from pandas.api.types import infer_dtype, is_bool_dtype, is_numeric_dtype

NUMERIC = "numeric"
CATEGORICAL = "categorical"
KINDS = (NUMERIC, CATEGORICAL)

OTHER_CATEGORY = "__other__"
HISTOGRAM_BINS = 30
QUANTILES = {"0.05": 0.05, "0.25": 0.25, "0.5": 0.5, "0.75": 0.75, "0.95": 0.95}

# Tools write these for "no value" in columns of numbers (R writes NA, Excel #N/A, the UCI sets "?").
MISSING_MARKERS = frozenset({"na", "n/a", "nan", "null", "none", "#n/a", "<na>", "?"})

# Leading bytes of the binary files that users most often upload by mistake. Only signatures that no CSV
# header could plausibly start with are listed; other binary files are caught by their NUL bytes.
_SIGNATURES = (
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "an old Excel (.xls) or other Office file"),
    (b"\x89PNG\r\n\x1a\n", "a PNG image"),
    (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF87a", "a GIF image"),
    (b"GIF89a", "a GIF image"),
    (b"%PDF-", "a PDF document"),
    (b"\x1f\x8b", "a gzip-compressed file"),
    (b"\xfd7zXZ\x00", "an xz-compressed file"),
    (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"SQLite format 3\x00", "an SQLite database"),
)
_ZIP_SIGNATURES = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
_UTF8_BOM = b"\xef\xbb\xbf"
_UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
_SHOWN_VALUE_CHARS = 40


class DatasetError(ValueError):
    """A dataset the user gave us cannot be used; ``message`` says why in a plain sentence."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# Reading ---------------------------------------------------------------------------------------------------


def read_csv_checked(data: bytes, *, max_bytes: int, max_columns: int | None = None) -> pd.DataFrame:
    """Parse an uploaded CSV into a DataFrame (empty fields missing), or raise ``DatasetError`` saying why.

    The separator is a comma and the encoding UTF-8 (a byte-order mark is allowed). Blank lines are skipped,
    column names lose surrounding spaces, and spaces after a separator are dropped. Columns of numbers come
    back as int64/float64, the others as text. ``max_columns`` is checked on the header line alone, before the
    rest of the file is read: the checks and the parse cost time per column and row.
    """
    size = len(data)
    if size > max_bytes:
        raise DatasetError(size_limit_message(size, max_bytes))
    if size == 0:
        raise DatasetError("The file is empty.")
    raw = _decode(data)
    if not raw:
        raise DatasetError("The file is empty.")
    if raw.isspace():
        raise DatasetError("The file is empty: it holds only blank lines or spaces.")
    if max_columns is not None:
        _check_width(raw, max_columns)
    names = _check_structure(raw)
    try:
        frame = pd.read_csv(
            # Bytes parse faster than text here; the decoding above has already vouched for them.
            io.BytesIO(raw),
            encoding="utf-8",
            engine="c",
            header=0,
            names=names,
            index_col=False,
            keep_default_na=False,
            na_values=[""],
            skipinitialspace=True,
            skip_blank_lines=True,
            on_bad_lines="error",
            # Type each column once over all rows: chunked typing can leave a column half numbers, half text.
            low_memory=False,
        )
    except (pd.errors.ParserError, ValueError) as exc:
        # The quick checks above can miss a quote left open after an even number of quote characters; the
        # line-by-line scan finds it and says where. The generic message is a safety net for anything else.
        _scan_records(raw, len(names))
        raise DatasetError(f"The file could not be read as CSV: {exc}") from exc
    if frame.empty:
        raise DatasetError("The file has a header line but no data rows.")
    return frame


def _check_width(raw: bytes, max_columns: int) -> None:
    """Refuse a header line with more than ``max_columns`` columns; only the first record is read."""
    first = _Records(raw).next_filled()
    width = len(first[1]) if first else 0
    if width > max_columns:
        raise DatasetError(
            f"The file has {width:,} columns; a dataset may have at most {max_columns:,}. "
            "Leave out the columns no model needs and upload it again."
        )


def size_limit_message(size: int, max_bytes: int) -> str:
    """The sentence for a file over the size limit, e.g. "The file is 250.3 MB; the limit is 200 MB."."""
    unit, name = _size_unit(max_bytes)
    shown_size = round(size / unit, 1)
    if unit == 1 or shown_size <= max_bytes / unit:
        # Rounded, a file just over the limit would read as being at it; exact byte counts say it honestly.
        return f"The file is {size:,} bytes; the limit is {max_bytes:,} bytes."
    return f"The file is {shown_size:,.1f} {name}; the limit is {_trim(max_bytes / unit)} {name}."


def _size_unit(size: int) -> tuple[int, str]:
    for unit, name in ((1024**3, "GB"), (1024**2, "MB"), (1024, "KB")):
        if size >= unit:
            return unit, name
    return 1, "bytes"


def _trim(number: float) -> str:
    shown = f"{number:,.1f}"
    return shown[:-2] if shown.endswith(".0") else shown


def _decode(data: bytes) -> bytes:
    """The file's bytes without a byte-order mark, once they are known to be UTF-8 text."""
    head = data[:8]
    for signature, what in _SIGNATURES:
        if head.startswith(signature):
            raise DatasetError(f"This is not a CSV file (it looks like {what}). Upload a CSV file instead.")
    if head.startswith(_ZIP_SIGNATURES):
        # An .xlsx workbook is a ZIP archive whose members live under xl/; say so, it is the usual mistake.
        if b"xl/" in data:
            raise DatasetError(
                "This is not a CSV file (it looks like an Excel workbook, .xlsx). "
                "Save the sheet as CSV (comma-separated) and upload that."
            )
        raise DatasetError("This is not a CSV file (it looks like a ZIP archive). Unpack it and upload the CSV.")
    if head.startswith(_UTF16_BOMS):
        raise DatasetError("The file is UTF-16 text. Save it as UTF-8 CSV.")
    nul = data.find(b"\x00")
    if nul >= 0:
        line = data.count(b"\n", 0, nul) + 1
        raise DatasetError(
            f"This is not a CSV file: it holds binary data (a NUL byte at position {nul}, line {line}). "
            "Save it as UTF-8 CSV."
        )
    offset = len(_UTF8_BOM) if data.startswith(_UTF8_BOM) else 0
    raw = data[offset:]
    try:
        raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        position = offset + exc.start
        line = data.count(b"\n", 0, position) + 1
        raise DatasetError(
            f"The file is not UTF-8 text: byte 0x{data[position]:02X} at position {position} (line {line}). "
            "Save it as UTF-8 CSV."
        ) from None
    return raw


def _check_structure(raw: bytes) -> list[str]:
    """Check the header and that every record has as many fields as the header; return the column names.

    pandas' C parser cannot do this: it pads short rows silently and counts records rather than lines. A file
    without quotes (the common case) is checked line by line with numpy at memory speed; one with quotes, whose
    fields may hold commas and line breaks, goes through the csv module, which says where each record starts.
    """
    if b'"' not in raw and (b"\r" not in raw or raw.count(b"\r") == raw.count(b"\r\n")):
        names, data_rows = _check_unquoted(raw)
    else:
        names, data_rows = _check_quoted(raw)
    if data_rows == 0:
        raise DatasetError("The file has a header line but no data rows.")
    return names


def _check_unquoted(raw: bytes) -> tuple[list[str], int]:
    buf = np.frombuffer(raw, dtype=np.uint8)
    newlines = np.flatnonzero(buf == ord("\n"))
    starts = np.concatenate(([0], newlines + 1))
    ends = np.concatenate((newlines, [buf.size]))
    lengths = ends - starts
    has_cr = lengths > 0
    has_cr[has_cr] = buf[ends[has_cr] - 1] == ord("\r")
    lengths -= has_cr
    fields = np.ones(starts.size, dtype=np.int64)
    inside = starts < buf.size  # the piece after a final newline is empty
    # Summing uint8 into uint16 runs many times faster than from bool or into int64 (numpy 2.4). It wraps
    # past 65,535 commas, so lines long enough to hold that many are counted again exactly.
    commas = (buf == ord(",")).view(np.uint8)
    fields[inside] += np.add.reduceat(commas, starts[inside], dtype=np.uint16)
    for index in np.flatnonzero(lengths > np.iinfo(np.uint16).max):
        fields[index] = raw.count(b",", starts[index], ends[index]) + 1

    blank = lengths == 0
    # pandas skips whitespace-only lines too; they have no comma, so only one-field lines need a look.
    for index in np.flatnonzero((fields == 1) & ~blank):
        blank[index] = raw[starts[index] : starts[index] + lengths[index]].isspace()
    filled = np.flatnonzero(~blank)
    header_index = int(filled[0])
    start = starts[header_index]
    names = [name.strip() for name in raw[start : start + lengths[header_index]].decode("utf-8").split(",")]
    _check_names(names, header_index + 1)

    width = len(names)
    records = filled[1:]
    bad = records[fields[records] != width]
    if bad.size:
        first = int(bad[0])
        raise DatasetError(_field_count_message(first + 1, int(fields[first]), width, bad.size))
    return names, int(records.size)


class _Records:
    """The csv module's reading of a file, with the line each record starts on and pandas' idea of blank.

    Fields are read with ``skipinitialspace`` as pandas reads them, so that ``a, "b,c"`` has two fields in both.
    Lines are decoded as they are read, which keeps memory near the file's size.
    """

    def __init__(self, raw: bytes):
        self._line = ""
        self._reader = csv.reader(self._lines(raw), skipinitialspace=True)

    def _lines(self, raw: bytes):
        for line in io.TextIOWrapper(io.BytesIO(raw), encoding="utf-8", newline=""):
            self._line = line
            yield line

    def next_filled(self) -> tuple[int, list[str]] | None:
        """The next record that pandas would not skip as a blank line, with its first line; None at the end."""
        while True:
            line = self._reader.line_num + 1
            try:
                record = next(self._reader)
            except StopIteration:
                return None
            except csv.Error:
                raise DatasetError(_runaway_field_message(line)) from None
            # A whitespace-only line reads as [""] or [" \t"], like a line holding "" which pandas does keep.
            if record and not (len(record) == 1 and self._line.isspace()):
                return line, record

    def field_counts(self) -> np.ndarray | None:
        """Fields per remaining record (0 for an empty line) at C speed; None when the csv module gives up."""
        try:
            return np.fromiter(map(len, self._reader), dtype=np.int64)
        except csv.Error:
            return None


def _check_quoted(raw: bytes) -> tuple[list[str], int]:
    records = _Records(raw)
    header_line, header = records.next_filled() or (0, [])
    if not header:
        raise DatasetError("The file is empty: it holds only blank lines or spaces.")
    if any("\n" in name or "\r" in name for name in header):
        raise DatasetError(
            f"The header (line {header_line}) has a column name that runs over several lines. "
            'Is a quote (") left unclosed?'
        )
    names = [name.strip() for name in header]
    _check_names(names, header_line)

    width = len(names)
    lengths = records.field_counts()
    # One-field lines may be blank or not; an odd number of quote characters may mean a quoted field that is
    # never closed, which swallows the rest of the file into one record that can have the right field count.
    if lengths is None or ((lengths != width) & (lengths != 0)).any() or raw.count(b'"') % 2:
        return names, _scan_records(raw, width)
    return names, int((lengths == width).sum())


def _check_names(names: list[str], header_line: int) -> None:
    if len(names) == 1:
        message = (
            "The file has a single column; a dataset needs at least two (features and a target). "
            "Is the separator a comma?"
        )
        for separator, called in ((";", "semicolons"), ("\t", "tabs"), ("|", "vertical bars")):
            if separator in names[0]:
                message += f" The header line holds {called}; save the file with commas between the columns."
                break
        raise DatasetError(message)
    unnamed = [str(number) for number, name in enumerate(names, start=1) if not name]
    if unnamed:
        where = f"the header (line {header_line})" if header_line > 1 else "the header line"
        if len(unnamed) == 1:
            raise DatasetError(f"Column {unnamed[0]} has no name in {where}; every column needs one.")
        raise DatasetError(f"Columns {_join(unnamed)} have no name in {where}; every column needs one.")
    repeated = [(name, count) for name, count in Counter(names).items() if count > 1]
    if repeated:
        parts = [f"'{name}' appears {_times(count)}" for name, count in repeated]
        raise DatasetError(f"Column names must be unique: {_join(parts)}.")


# Appended after the text when scanning: if it comes back as a record of its own, no quote was left open.
_PROBE = "\x1eend of file\x1e"


def _scan_records(raw: bytes, width: int) -> int:
    """Find the first bad record line by line and raise for it; return the number of data rows otherwise."""
    records = _Records(raw + b"\n" + _PROBE.encode())
    last_line, _ = records.next_filled()  # the header, checked already unless a quote opened in it runs on
    first_bad = None  # (line, fields)
    bad = data_rows = 0
    closed = False
    while (found := records.next_filled()) is not None:
        line, record = found
        if record == [_PROBE]:
            closed = True
            break
        last_line = line
        if len(record) == width:
            data_rows += 1
        else:
            bad += 1
            first_bad = first_bad or (line, len(record))
    if not closed and (first_bad is None or first_bad[0] == last_line):
        raise DatasetError(_unclosed_quote_message(last_line))
    if first_bad is not None:
        raise DatasetError(_field_count_message(*first_bad, width, bad))
    return data_rows


def _field_count_message(line: int, fields: int, width: int, bad_lines: int) -> str:
    message = f"Line {line} has {_count(fields, 'field')}; the header has {width}."
    others = bad_lines - 1
    if others:
        message += f" {_count(others, 'other line')} {'has' if others == 1 else 'have'} a wrong number of fields."
    return message


def _unclosed_quote_message(line: int) -> str:
    return f'Line {line} opens a quoted field that is never closed: a " without its closing ".'


def _runaway_field_message(line: int) -> str:
    limit = csv.field_size_limit()
    return f'Line {line} starts a field longer than {limit:,} characters. Is a quote (") left unclosed?'


def _count(number: int, noun: str) -> str:
    return f"{number:,} {noun}" if number == 1 else f"{number:,} {noun}s"


def _times(count: int) -> str:
    return {2: "twice", 3: "three times"}.get(count, f"{count} times")


def _join(parts: list[str]) -> str:
    return parts[0] if len(parts) == 1 else ", ".join(parts[:-1]) + " and " + parts[-1]


# Schema ----------------------------------------------------------------------------------------------------


def infer_schema(df: pd.DataFrame) -> dict[str, str]:
    """Map each column to ``numeric`` when every value present is a number, else ``categorical``.

    Yes/no and true/false columns are categorical; 0/1 and other integer columns with few distinct values
    stay numeric (the user can correct the schema).
    """
    return {column: _infer_kind(df[column]) for column in df.columns}


def _infer_kind(series: pd.Series) -> str:
    if is_bool_dtype(series.dtype):
        return CATEGORICAL
    present = series.dropna()
    if is_numeric_dtype(series.dtype):
        numbers = present.astype("float64")
        return NUMERIC if np.isfinite(numbers).any() else CATEGORICAL
    # pandas leaves a true/false column with gaps as Python booleans, which to_numeric would take for 1 and 0.
    if infer_dtype(present, skipna=True) == "boolean":
        return CATEGORICAL
    # Most text columns give themselves away in their first values; parse the whole column only otherwise.
    if _numbers(present.iloc[:1000])[1].any():
        return CATEGORICAL
    numbers, text = _numbers(present)
    return NUMERIC if numbers.notna().any() and not text.any() else CATEGORICAL


def _numbers(series: pd.Series) -> tuple[pd.Series, pd.Series]:
    """The column as float64 (missing markers and infinities as NaN) and a mask of the values that are text."""
    if is_numeric_dtype(series.dtype) or is_bool_dtype(series.dtype):
        numbers = series.astype("float64")
        text = pd.Series(False, index=series.index)
    else:
        numbers = pd.to_numeric(series, errors="coerce").astype("float64")
        unparsed = numbers.isna() & series.notna()
        text = unparsed.copy()
        if unparsed.any():
            words = series[unparsed].astype(str).str.strip().str.lower()
            text[unparsed] = ~words.isin(MISSING_MARKERS)
    return numbers.where(np.isfinite(numbers)), text


def apply_schema(df: pd.DataFrame, schema: dict[str, str]) -> pd.DataFrame:
    """Cast the columns to their kinds: numeric ones to float64, categorical ones to text (missing stays NaN).

    Columns that the schema does not name are returned as they are. Raises ``DatasetError`` for a column the
    table lacks, an unknown kind, or a column marked numeric that holds text.
    """
    absent = [str(column) for column in schema if column not in df.columns]
    if absent:
        names = _join([f"'{name}'" for name in absent])
        raise DatasetError(f"The schema names {_count(len(absent), 'column')} that the table lacks: {names}.")
    columns = {}
    for column in df.columns:
        kind = schema.get(column)
        if kind is None:
            columns[column] = df[column]
        elif kind == NUMERIC:
            numbers, text = _numbers(df[column])
            if text.any():
                raise DatasetError(_text_in_numeric_message(column, df[column], text))
            columns[column] = numbers
        elif kind == CATEGORICAL:
            columns[column] = _text(df[column])
        else:
            raise DatasetError(f"Column '{column}' has the unknown kind '{kind}'; use 'numeric' or 'categorical'.")
    return pd.DataFrame(columns, index=df.index)


def _text_in_numeric_message(column, series: pd.Series, text: pd.Series) -> str:
    positions = np.flatnonzero(text.to_numpy())
    value = str(series.iloc[positions[0]])
    if len(value) > _SHOWN_VALUE_CHARS:
        value = value[: _SHOWN_VALUE_CHARS - 1] + "…"
    message = f"Column '{column}' is marked numeric but holds text: '{value}' in data row {positions[0] + 1:,}"
    if len(positions) > 1:
        message += f" ({len(positions):,} such values in all)"
    return message + ". Mark it categorical or correct the file."


def _text(series: pd.Series) -> pd.Series:
    """The column as text; whole numbers read "3", not "3.0", so that categories look as people write them."""
    if is_numeric_dtype(series.dtype) and not is_bool_dtype(series.dtype):
        numbers = series.astype("float64")
        text = numbers.astype("str")
        whole = np.isfinite(numbers) & (numbers == np.round(numbers)) & (numbers.abs() < 2**53)
        if whole.any():
            text[whole] = numbers[whole].astype("int64").astype("str")
        return text
    return series.astype("str")


# Profile ---------------------------------------------------------------------------------------------------


def profile_dataframe(df: pd.DataFrame, schema: dict[str, str], *, bins: int = 10, top_categories: int = 20) -> dict:
    """Per-column statistics of the table as JSON-ready data; the module docstring gives the bin rules.

    ``df`` may be as read or already cast: the schema is applied first, and columns it does not name are
    inferred. Floats are plain Python floats; a statistic that does not exist (the mean of an empty column,
    the spread of a single value) is None, never NaN or infinity.
    """
    kinds = {column: schema.get(column) or _infer_kind(df[column]) for column in df.columns}
    typed = apply_schema(df, kinds)
    rows = len(typed)
    columns_profile = {}
    for column in typed.columns:
        series = typed[column]
        missing = int(series.isna().sum())
        entry = {"kind": kinds[column], "missing": missing, "missing_fraction": missing / rows if rows else 0.0}
        if kinds[column] == NUMERIC:
            entry.update(_numeric_profile(series.to_numpy(dtype="float64", na_value=np.nan), bins))
        else:
            entry.update(_categorical_profile(series, top_categories))
        columns_profile[str(column)] = entry
    return {"rows": rows, "columns": typed.shape[1], "columns_profile": columns_profile}


def _numeric_profile(values: np.ndarray, bins: int) -> dict:
    # One sort serves everything: distinct count, quantiles, bin counts and histogram without further passes.
    ordered = np.sort(values[~np.isnan(values)])
    if ordered.size == 0:
        return {
            "distinct": 0,
            "min": None,
            "max": None,
            "mean": None,
            "std": None,
            "quantiles": dict.fromkeys(QUANTILES),
            "bin_edges": [],
            "bin_counts": [],
            "histogram": {"edges": [], "counts": []},
        }
    distinct = int(np.count_nonzero(ordered[1:] != ordered[:-1])) + 1
    quantiles = _sorted_quantiles(ordered, np.array(list(QUANTILES.values())))
    edges = np.unique(_sorted_quantiles(ordered, np.linspace(0.0, 1.0, bins + 1)))
    if edges.size == 1:
        edges = np.array([edges[0], edges[0]])
    with np.errstate(over="ignore", invalid="ignore"):
        mean = ordered.mean()
        std = ordered.std(ddof=1) if ordered.size > 1 else None
        histogram = _histogram(ordered, min(HISTOGRAM_BINS, distinct))
    return {
        "distinct": distinct,
        "min": _float(ordered[0]),
        "max": _float(ordered[-1]),
        "mean": _float(mean),
        "std": _float(std),
        "quantiles": {key: _float(value) for key, value in zip(QUANTILES, quantiles, strict=True)},
        "bin_edges": [float(edge) for edge in edges],
        "bin_counts": [int(count) for count in _sorted_counts(ordered, edges)],
        "histogram": histogram,
    }


def _sorted_quantiles(ordered: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """``numpy.quantile``'s default (linear) method, read off an already sorted array without a new pass."""
    position = probabilities * (ordered.size - 1)
    below = np.floor(position).astype(np.int64)
    above = np.minimum(below + 1, ordered.size - 1)
    fraction = position - below
    low, high = ordered[below], ordered[above]
    # Interpolating from the nearer end, as numpy does, keeps the result between the two values.
    return np.where(fraction < 0.5, low + (high - low) * fraction, high - (high - low) * (1 - fraction))


def _sorted_counts(ordered: np.ndarray, edges: np.ndarray) -> np.ndarray:
    """Counts per bin of sorted values, with ``numpy.histogram``'s rule (the last bin is closed)."""
    positions = np.searchsorted(ordered, edges, side="left")
    positions[-1] = np.searchsorted(ordered, edges[-1], side="right")
    return np.diff(positions)


def _histogram(ordered: np.ndarray, bins: int) -> dict:
    try:
        edges = np.histogram_bin_edges(ordered, bins=bins)
    except ValueError:
        # Values near the float limits overflow the range arithmetic; one bar is still an honest picture.
        edges = np.array([ordered[0], ordered[-1]])
    counts = _sorted_counts(ordered, edges)
    return {"edges": [float(edge) for edge in edges], "counts": [int(count) for count in counts]}


def count_in_bins(values, edges) -> np.ndarray:
    """Counts of ``values`` per bin by ``numpy.histogram``'s rule; NaN and values outside the edges are left out.

    For live data against a profile's ``bin_edges``, so that the counts compare with its ``bin_counts``.
    """
    values = np.asarray(values, dtype="float64")
    edges = np.asarray(edges, dtype="float64")
    if edges.size < 2:
        return np.zeros(0, dtype=np.int64)
    return _sorted_counts(np.sort(values[~np.isnan(values)]), edges)


def _categorical_profile(series: pd.Series, top_categories: int) -> dict:
    counts = series.value_counts(dropna=True)
    frequencies = {str(value): int(count) for value, count in counts.iloc[:top_categories].items()}
    if len(counts) > top_categories:
        frequencies[OTHER_CATEGORY] = int(counts.iloc[top_categories:].sum())
    return {"distinct": len(counts), "frequencies": frequencies}


def _float(value) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if np.isfinite(value) else None


def sha256_bytes(data: bytes) -> str:
    """Hex SHA-256 of the file as uploaded, the identity of a dataset version."""
    return hashlib.sha256(data).hexdigest()
