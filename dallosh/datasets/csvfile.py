"""Stored datasets: read with every cell as text, written atomically exactly as pandas would (only faster).

Every file under ``storage/`` is UTF-8, comma-separated, with ``\n`` line ends and any field holding a line break,
a quote, a comma or a carriage return in double quotes, so ``read_dataset`` needs no guessing.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import numpy as np
import pandas as pd

from dallosh.errors import InvalidDataset
from dallosh.storage import atomic_path


def read_cells(source: str | io.BytesIO | io.StringIO, *, delimiter: str, columns: int, skip_rows: int,
               lineterminator: str | None = None) -> pd.DataFrame:
    """Every cell as text, in ``columns + 1`` columns labelled 0…``columns`` (the header is skipped, not used).

    The spare last column catches a field beyond the header (a trailing delimiter, or an unquoted separator in a
    text) instead of letting pandas take the first column as the index and shift every column left. Missing
    trailing fields are empty strings; blank lines are kept as empty rows so row numbers stay the file's.
    """
    options: dict = {
        "sep": delimiter, "header": None, "names": list(range(columns + 1)), "skiprows": skip_rows,
        "index_col": False, "dtype": str, "keep_default_na": False, "na_filter": False, "engine": "c",
        "skip_blank_lines": False,
    }
    if not isinstance(source, io.StringIO):
        options["encoding"] = "utf-8"
    if lineterminator:
        options["lineterminator"] = lineterminator
    return pd.read_csv(source, **options)


def read_dataset(path: Path) -> pd.DataFrame:
    """Read a stored dataset (UTF-8, commas) with every cell as text. The C engine copes with quoted newlines.

    Column names are stripped as ``inspect_csv`` strips them (an upload stored byte for byte may say `` id``).
    """
    with open(path, encoding="utf-8", newline="") as f:
        names = [c.strip() for c in next(csv.reader([f.readline()]), [])]
    if not names:
        raise InvalidDataset("The stored file is empty. Delete this dataset and upload it again.")
    frame = read_cells(str(path), delimiter=",", columns=len(names), skip_rows=1)
    extra = frame.pop(len(names))
    if (extra != "").any():
        raise InvalidDataset("A row of the stored file has more fields than its header. Delete this dataset and "
                             "upload it again.")
    frame.columns = names
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
