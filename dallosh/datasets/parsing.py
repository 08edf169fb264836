"""Rows: the CSV parsed with every cell as text, then checked row by row for what pandas would hide.

pandas alone takes the first column as the index when data rows have one field more than the header (a trailing
comma: every column shifts left), ends a row at a bare carriage return inside a field (as its own ``to_csv``
writes them), and parses a second export's header line as a tweet. Here the parser gets one spare column and the
header as fixed names, so each of these shows up in the table and is either repaired with a note or refused with
the rows to fix.
"""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from dallosh.datasets.csvfile import read_cells
from dallosh.datasets.decoding import Decoded, line_list
from dallosh.datasets.header import DELIMITER_NAMES, KNOWN_COLUMNS, Header
from dallosh.defaults import TEXT_MAX_CHARS
from dallosh.errors import InvalidDataset

_FIELDS_ERROR = re.compile(r"Expected (\d+) fields in line (\d+), saw (\d+)")
_EOF_IN_QUOTES = re.compile(r"EOF inside string starting at row (\d+)")


@dataclass
class Rows:
    """The parsed table (index = position in the file, for row numbers) and what was done to it."""

    frame: pd.DataFrame
    notes: list[str] = field(default_factory=list)
    #: Rows or columns were dropped or renamed: the stored copy must be written from the table.
    repaired: bool = False


def _reader_input(content: Path | bytes | str) -> str | io.BytesIO | io.StringIO:
    if isinstance(content, Path):
        return str(content)
    return io.BytesIO(content) if isinstance(content, bytes) else io.StringIO(content)


def _quote_hint(delimiter: str) -> str:
    return (f"texts containing the separator ({DELIMITER_NAMES.get(delimiter, repr(delimiter))}) must be in "
            "double quotes")


def _read(decoded: Decoded, header: Header) -> pd.DataFrame:
    n = len(header.names)
    # Lines end with "\n": a "\r" alone is part of a field, not the end of a row.
    terminator = "\n" if decoded.bare_cr and decoded.line_break == "\n" else None
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pd.errors.ParserWarning)
            frame = read_cells(_reader_input(decoded.content), delimiter=header.delimiter, columns=n,
                               skip_rows=header.skip_rows, lineterminator=terminator)
    except pd.errors.ParserError as exc:
        raise InvalidDataset(_parser_message(str(exc), header)) from None
    except pd.errors.EmptyDataError:
        frame = pd.DataFrame({i: pd.Series([], dtype="str") for i in range(n + 1)})
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        raise InvalidDataset(f"Row {header.first_row} has more fields than the header has columns ({n}). Check the "
                             f"quoting of that row ({_quote_hint(header.delimiter)}).")
    if terminator and decoded.crlf:
        last = frame.columns[n - 1]
        frame[last] = frame[last].str.removesuffix("\r")  # Windows line ends around the bare "\r"s
    return frame


def _parser_message(message: str, header: Header) -> str:
    fields = _FIELDS_ERROR.search(message)
    if fields:
        _, row, saw = fields.groups()  # pandas counts rows as Excel does, from the first line of the file
        return (f"Row {int(row):,} has {saw} fields where the header has {len(header.names)}. "
                f"Check the quoting of that row ({_quote_hint(header.delimiter)}).")
    eof = _EOF_IN_QUOTES.search(message)
    if eof:
        row = int(eof.group(1)) + 1  # counted from 0
        return (f"A double quote opened in row {row:,} is never closed, so the rest of the file would be one text. "
                "Check the quotes of that row (a double quote inside a text is written twice: \"\").")
    detail = message.replace("Error tokenizing data. C error: ", "")
    return f"The file is not valid CSV ({detail}). Export it again as CSV."


def _rows(frame: pd.DataFrame, mask: np.ndarray, header: Header) -> list[int]:
    return [int(i) + header.first_row for i in frame.index[mask]]


def _extra_fields(frame: pd.DataFrame, header: Header, rows: Rows) -> None:
    """The spare column: empty everywhere (a trailing delimiter, or nothing) or a row with one field too many."""
    n = len(header.names)
    extra = frame.pop(n)
    over = (extra != "").to_numpy()
    if over.any():
        bad = _rows(frame, over, header)
        raise InvalidDataset(
            f"Row {line_list(bad, len(bad))} {'has' if len(bad) == 1 else 'have'} {n + 1} fields where the header "
            f"has {n}. Check the quoting of {'that row' if len(bad) == 1 else 'those rows'} "
            f"({_quote_hint(header.delimiter)}).")
    if any(len(r) == n + 1 and r[-1] == "" for r in header.sample):
        rows.notes.append(f"The rows end with an extra {DELIMITER_NAMES.get(header.delimiter, 'separator')} that "
                          "the header does not have; it was ignored.")


def _unnamed_columns(frame: pd.DataFrame, header: Header, rows: Rows) -> pd.DataFrame:
    for i in header.unnamed:
        name = header.names[i]
        if (frame[name] == "").all():
            frame = frame.drop(columns=[name])
            rows.notes.append(f"Column {i + 1} has no name in the header and no values; it was ignored.")
        else:
            rows.notes.append(f"Column {i + 1} has no name in the header; its values are kept as {name}.")
        rows.repaired = True
    return frame


def _empty_rows(frame: pd.DataFrame, header: Header, rows: Rows) -> pd.DataFrame:
    """Blank lines and rows of empty cells (Excel writes ``,,,,`` for an empty row) carry nothing: skipped."""
    candidates = (frame["id"].to_numpy(dtype=object) == "") & (frame["full_text"].to_numpy(dtype=object) == "")
    if not candidates.any():
        return frame
    empty = candidates.copy()
    for column in frame.columns:
        empty[candidates] &= (frame[column][candidates] == "").to_numpy()
    if not empty.any():
        return frame
    numbers = _rows(frame, empty, header)
    rows.notes.append(f"{len(numbers):,} empty row(s) were skipped (row {line_list(numbers, len(numbers))}).")
    rows.repaired = True
    return frame[~empty]


def _repeated_headers(frame: pd.DataFrame, header: Header, rows: Rows) -> pd.DataFrame:
    """A header line further down: two exports joined into one file."""
    names = {*header.file_names, *header.names, *KNOWN_COLUMNS}
    ids = frame["id"]
    # A BOM (the second export's own) or spaces may stand around the repeated header's first name.
    candidates = np.fromiter((v.lstrip("\ufeff").strip() in names for v in ids.to_numpy(dtype=object)), dtype=bool,
                             count=len(ids))
    if not candidates.any():
        return frame
    expected = [n for n in header.file_names]
    repeated: list[int] = []
    for label, values in frame[candidates].iterrows():
        cells = [str(v).lstrip("\ufeff").strip() for v in values.tolist()]
        while cells and not cells[-1] and len(cells) > len(expected):
            cells.pop()
        if cells[:len(expected)] == expected or cells == [n for n in header.names if n in frame.columns]:
            repeated.append(label)
            continue
        filled = [c for c in cells if c]
        if sum(c in names for c in filled) >= max(2, len(filled) // 2):
            row = int(label) + header.first_row
            shown = ", ".join(filled[:6]) + (" …" if len(filled) > 6 else "")
            raise InvalidDataset(
                f"Row {row:,} is the header of another export with different columns ({shown}): two exports were "
                "joined into one file, and the rows after it would land in the wrong columns. Upload each export "
                "as its own file, or give both the same columns in the same order.")
    if not repeated:
        return frame
    numbers = [int(label) + header.first_row for label in repeated]
    rows.notes.append(
        f"The header line appears again at row {line_list(numbers, len(numbers))}: several exports were joined "
        "into one file. That line was skipped; the rows of every export are kept.")
    rows.repaired = True
    return frame.drop(index=repeated)


def _long_texts(frame: pd.DataFrame, header: Header) -> None:
    texts = frame["full_text"].to_numpy(dtype=object)
    if not len(texts) or max(map(len, texts)) <= TEXT_MAX_CHARS:
        return
    lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
    long = lengths > TEXT_MAX_CHARS
    if long.any():
        row = _rows(frame, long, header)[0]
        raise InvalidDataset(
            f"The text of row {row:,} is {int(lengths[long][0]):,} characters long; no tweet is longer than "
            f"{TEXT_MAX_CHARS:,}. A double quote opened in that row is probably closed only rows later, which "
            "swallowed the rows in between: check the quotes of that row.")


def parse_rows(decoded: Decoded, header: Header) -> Rows:
    """Parse and check the rows; raises InvalidDataset naming the rows to fix."""
    frame = _read(decoded, header)
    rows = Rows(frame=frame)
    _extra_fields(frame, header, rows)
    frame.columns = header.names
    frame = _empty_rows(frame, header, rows)
    frame = _repeated_headers(frame, header, rows)
    frame = _unnamed_columns(frame, header, rows)
    _long_texts(frame, header)
    rows.frame = frame
    return rows
