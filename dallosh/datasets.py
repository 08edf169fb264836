"""Reading and validating uploaded tweet CSVs.

Uploads arrive in many shapes (Excel's Latin-1 or BOM'd UTF-8, semicolons, quoted newlines). ``inspect_csv``
turns any acceptable file into a UTF-8, comma-separated table and a report of what it found; anything unusable
raises ``InvalidDataset`` with a message saying what to fix. Every cell is read as text so 19-digit ids and
leading zeros survive.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import numpy as np
import pandas as pd

from dallosh.defaults import DATASET_COLUMNS, PREVIEW_ROWS_DEFAULT, REQUIRED_COLUMNS
from dallosh.errors import InvalidDataset
from dallosh.storage import atomic_path

#: Delimiters tried, in order, when the header does not split on commas into the required columns.
DELIMITERS = (",", ";", "\t", "|")
#: Bytes looked at to decide whether a file is binary.
_SNIFF_BYTES = 64 * 1024


@dataclass
class DatasetInspection:
    """What the preview shows before a dataset is added."""

    filename: str
    size: int
    sha256: str
    encoding: str
    delimiter: str
    rows: int
    columns: list[str]
    frame: pd.DataFrame = field(repr=False)
    missing_columns: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def preview(self) -> pd.DataFrame:
        return self.frame.head(PREVIEW_ROWS_DEFAULT)

    @property
    def is_normalised(self) -> bool:
        """True when the upload's bytes can be stored as they are (UTF-8, commas)."""
        return self.encoding == "utf-8" and self.delimiter == ","


def safe_display_name(name: str) -> str:
    """The last path component of an uploaded name, without control characters (display only, never a path)."""
    name = (name or "").replace("\\", "/")
    base = PurePosixPath(name).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:200] or "dataset.csv"


#: Chunk size for validating UTF-8 without holding the whole decoded text (a 200 MB upload stays 200 MB).
_CHUNK = 4 * 1024 * 1024


def _is_utf8(data: bytes) -> bool:
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(data)
    try:
        for start in range(0, len(view), _CHUNK):
            decoder.decode(view[start:start + _CHUNK])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def _decode(raw: bytes, declared: str | None) -> tuple[bytes | str, str, list[str]]:
    """Return (content for the parser, encoding name, warnings).

    UTF-8 content stays bytes (pandas parses them directly); other encodings are decoded to text.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        if not _is_utf8(raw[3:]):
            raise InvalidDataset("The file starts like UTF-8 but is not valid UTF-8. Save it again as UTF-8.")
        return raw[3:], "utf-8-sig", []
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16"), "utf-16", ["The file is UTF-16; it is stored as UTF-8."]
    if b"\x00" in raw[:_SNIFF_BYTES]:
        raise InvalidDataset("This file is not a text CSV (it contains binary data). Export the tweets as CSV "
                             "(UTF-8) and upload that file.")
    if declared:
        try:
            return raw.decode(declared), declared.lower(), []
        except (LookupError, UnicodeDecodeError) as exc:
            raise InvalidDataset(f"The file cannot be read as {declared}: {exc}. Choose the right encoding or "
                                 "save the file as UTF-8.") from None
    if _is_utf8(raw):
        return raw, "utf-8", []
    try:
        text = raw.decode("cp1252")
        encoding = "cp1252"
    except UnicodeDecodeError:
        text, encoding = raw.decode("latin-1"), "latin-1"
    return text, encoding, [f"The file is not UTF-8; it was read as {encoding} (Latin-1 family) and will be stored "
                            "as UTF-8. Check that accents look right in the preview."]


def _head(content: bytes | str) -> str:
    """The beginning of the content as text (enough for the header line)."""
    if isinstance(content, bytes):
        return content[:_SNIFF_BYTES].decode("utf-8", errors="ignore")
    return content[:_SNIFF_BYTES]


def _header_fields(text: str, delimiter: str) -> list[str]:
    first = next(csv.reader(io.StringIO(text[:_SNIFF_BYTES]), delimiter=delimiter), [])
    return [h.strip() for h in first]


def _pick_delimiter(text: str) -> tuple[str, list[str]]:
    for delimiter in DELIMITERS:
        header = _header_fields(text, delimiter)
        if all(col in header for col in REQUIRED_COLUMNS):
            return delimiter, header
    header = _header_fields(text, ",")
    found = ", ".join(header[:12]) + (" …" if len(header) > 12 else "")
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    raise InvalidDataset(
        f"The file has no column {' or '.join(repr(m) for m in missing)} (found: {found or 'nothing'}). "
        f"A tweet export needs at least the columns {', '.join(REQUIRED_COLUMNS)}; check that the first line is "
        "the header and that the file is comma- or semicolon-separated."
    )


_FIELDS_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")


def _parse(content: bytes | str, delimiter: str) -> pd.DataFrame:
    buffer = io.BytesIO(content) if isinstance(content, bytes) else io.StringIO(content)
    try:
        return pd.read_csv(buffer, sep=delimiter, dtype=str, keep_default_na=False, engine="c",
                           skipinitialspace=False, encoding="utf-8")
    except pd.errors.ParserError as exc:
        match = _FIELDS_ERROR.search(str(exc))
        if match:
            expected, line, saw = match.groups()
            raise InvalidDataset(f"Line {line} has {saw} fields where the header has {expected}. Check the quoting "
                                 "of that row (texts containing the delimiter must be in double quotes).") from None
        raise InvalidDataset(f"The file is not valid CSV: {exc}. Export it again as CSV.") from None
    except pd.errors.EmptyDataError:
        raise InvalidDataset("The file is empty. Choose a CSV export that contains tweets.") from None


def read_bytes(source: bytes | Path, max_bytes: int) -> bytes:
    """The upload's bytes, refusing files over the limit before reading them whole."""
    size = Path(source).stat().st_size if isinstance(source, Path) else len(source)
    if size > max_bytes:
        raise InvalidDataset(f"The file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB. Split it into "
                             "smaller files, or ask an administrator to raise the upload limit in Settings.")
    return Path(source).read_bytes() if isinstance(source, Path) else bytes(source)


def inspect_csv(source: bytes | Path, filename: str, *, max_bytes: int, encoding: str | None = None
                ) -> DatasetInspection:
    """Validate an upload and describe it; raises InvalidDataset with an actionable message."""
    display = safe_display_name(filename)
    if not display.lower().endswith(".csv"):
        raise InvalidDataset(f"{display!r} is not a .csv file. Export the tweets as CSV and upload that file.")
    raw = read_bytes(source, max_bytes)
    if not raw.strip():
        raise InvalidDataset("The file is empty. Choose a CSV export that contains tweets.")
    content, detected, warnings = _decode(raw, encoding)
    if isinstance(content, str):
        content = content.lstrip("\ufeff")
    delimiter, _ = _pick_delimiter(_head(content))
    frame = _parse(content, delimiter)
    del content
    frame.columns = [str(c).strip() for c in frame.columns]
    if frame.columns.duplicated().any():
        dupes = sorted(set(frame.columns[frame.columns.duplicated()]))
        raise InvalidDataset(f"The header repeats the column(s) {', '.join(dupes)}; each column name must be unique.")
    if frame.empty:
        raise InvalidDataset("The file has a header but no rows. Export a period that contains tweets.")
    if delimiter != ",":
        warnings.append(f"The file is separated by {delimiter!r}; it is stored comma-separated.")
    missing = [c for c in DATASET_COLUMNS if c not in frame.columns]
    if missing:
        warnings.append("Optional columns missing (some KPIs will be unavailable): " + ", ".join(missing))
    empty_texts = int((frame["full_text"].str.strip() == "").sum())
    if empty_texts:
        warnings.append(f"{empty_texts} row(s) have an empty full_text; cleaning will remove them.")
    duplicate_ids = int(frame["id"].duplicated().sum())
    if duplicate_ids:
        warnings.append(f"{duplicate_ids} row(s) repeat an id already seen; cleaning will keep the first.")
    return DatasetInspection(
        filename=display, size=len(raw), sha256=hashlib.sha256(raw).hexdigest(), encoding=detected,
        delimiter=delimiter, rows=len(frame), columns=list(frame.columns), frame=frame, missing_columns=missing,
        warnings=warnings,
    )


def write_normalised(inspection: DatasetInspection, source: bytes | Path, target: Path) -> int:
    """Store the upload as UTF-8 with commas; byte-identical when it already is. Returns the size written."""
    if inspection.is_normalised:
        data = Path(source).read_bytes() if isinstance(source, Path) else bytes(source)
        target.write_bytes(data)
        return len(data)
    inspection.frame.to_csv(target, index=False, encoding="utf-8")
    return target.stat().st_size


def read_dataset(path: Path, **kwargs) -> pd.DataFrame:
    """Read a stored dataset (UTF-8, commas) with every cell as text. The C engine copes with quoted newlines.

    Column names are stripped as ``inspect_csv`` strips them (an upload stored byte for byte may say `` id``).
    """
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, engine="c", **kwargs)
    if any(isinstance(c, str) and c != c.strip() for c in frame.columns):
        frame.columns = [str(c).strip() for c in frame.columns]
    return frame


#: Rows joined into one string per write call (bounded memory, and short strings stay cache-friendly).
_ROWS_PER_WRITE = 1024
#: A field containing one of these is quoted, its quotes doubled (csv.QUOTE_MINIMAL, plus "\r": see write_dataset).
_NEEDS_QUOTES = (",", '"', "\n", "\r")


def _csv_field(value: str) -> str:
    if "," in value or '"' in value or "\n" in value or "\r" in value:
        return '"' + value.replace('"', '""') + '"'
    return value


def _all_strings(series: pd.Series) -> bool:
    return pd.api.types.is_object_dtype(series.dtype) and pd.api.types.infer_dtype(series, skipna=True) in (
        "string", "empty")


def _csv_columns(frame: pd.DataFrame) -> list[np.ndarray] | None:
    """The columns as arrays ``_csv_fields`` can format exactly as ``DataFrame.to_csv`` does, else None.

    Text (missing → empty), booleans and int64 qualify, which covers every frame the pipeline writes. Other
    columns (floats, dates, mixed objects) and one-column frames (csv quotes a lone empty field) are left to pandas.
    """
    if frame.shape[1] < 2:
        return None
    columns = []
    for _, series in frame.items():
        dtype = series.dtype
        if dtype == np.bool_ or dtype == np.int64:
            columns.append(series.to_numpy())
        elif isinstance(dtype, pd.StringDtype) or _all_strings(series):
            columns.append(series.to_numpy(dtype=object, na_value=""))
        else:
            return None
    return columns


def _csv_fields(values: np.ndarray) -> np.ndarray | list[str]:
    """Each cell as CSV text. A column is scanned once as a whole; only columns with special characters are
    quoted value by value (in tweet exports: the texts and a few more)."""
    if values.dtype == np.bool_:
        return np.where(values, "True", "False").astype(object)
    if values.dtype == np.int64:
        return values.astype(str).astype(object)
    whole = "\0".join(values)
    if any(special in whole for special in _NEEDS_QUOTES):
        return [_csv_field(v) for v in values]
    return values


def _write_rows(path: Path, columns: list[np.ndarray], lo: int, hi: int, header: list[str] | None) -> None:
    with open(path, "w", encoding="utf-8", newline="") as out:
        if header is not None:
            out.write(",".join(map(_csv_field, header)) + "\n")
        for start in range(lo, hi, _ROWS_PER_WRITE):
            fields = [_csv_fields(column[start:min(start + _ROWS_PER_WRITE, hi)]) for column in columns]
            out.write("\n".join(map(",".join, zip(*fields, strict=True))) + "\n")


def write_dataset(frame: pd.DataFrame, path: Path) -> None:
    """Store a frame as CSV (UTF-8, commas, no index), atomically: the bytes ``frame.to_csv(index=False)`` writes,
    except that a field containing a carriage return is quoted (pandas leaves it bare, and the file then reads back
    with that row split in two).

    Joining the fields of a block of rows in one call costs less than half of what pandas' writer does
    (``csv.writer`` inspects every character of every field, one field at a time).
    """
    columns = _csv_columns(frame)
    with atomic_path(path) as tmp:
        if columns is None:
            frame.to_csv(tmp, index=False)
        else:
            _write_rows(tmp, columns, 0, len(frame), [str(c) for c in frame.columns])
