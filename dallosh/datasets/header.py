"""The header line: bounded, split on the right delimiter, column names checked before any row is parsed.

Only the first ``HEADER_MAX_BYTES`` of a file are looked at here, so a file without line breaks (or with an absurd
first line) is refused in milliseconds instead of being parsed whole.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from dataclasses import dataclass, field

from dallosh.defaults import DATASET_COLUMNS, HEADER_MAX_BYTES, HEADER_MAX_COLUMNS, LABEL_COLUMNS, REQUIRED_COLUMNS
from dallosh.errors import InvalidDataset

#: Delimiters tried, in order, when the header does not split on commas into the required columns.
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "vertical bar"}
#: Names matched whatever their case (``ID``, ``Full_Text``): those of the export format and of the labels.
KNOWN_COLUMNS: tuple[str, ...] = (*DATASET_COLUMNS, *LABEL_COLUMNS)
#: Excel's first line ``sep=;`` names the delimiter; the header follows it.
_SEP_LINE = re.compile(r'"?sep=(.)"?[,;\t|]*', re.IGNORECASE)
#: Data rows of the head sampled to tell whether rows end with an extra delimiter.
_SAMPLE_ROWS = 50


@dataclass
class Header:
    """The columns of an upload, as the rest of the ingestion uses them."""

    #: Final column names: unique, known names in their usual case, unnamed columns as ``column_<k>``.
    names: list[str]
    #: The names as the file writes them (stripped), to recognise the header repeated further down.
    file_names: list[str]
    delimiter: str
    #: Lines before the first data row: the header, plus Excel's ``sep=`` line when there is one.
    skip_rows: int
    #: Positions (0-based) of columns without a name in the header.
    unnamed: list[int] = field(default_factory=list)
    #: The first data rows as the ``csv`` module splits them (for notes only; the parser decides).
    sample: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def first_row(self) -> int:
        """Row number of the first data row, counted as Excel does (the header is row 1)."""
        return self.skip_rows + 1


def refuse_long_first_line() -> None:
    raise InvalidDataset(
        f"The first line of the file is longer than {HEADER_MAX_BYTES // 1024} KB, so it is not a header naming "
        "the columns (a tweet export starts with a line like id,created_at,full_text,… of a few hundred "
        "characters). The file may have no line breaks at all, or no header. Export the tweets again as CSV "
        "and upload that file.")


def check_first_line(head: bytes, size: int) -> None:
    """Refuse at once, from the first bytes alone, a file whose first line exceeds the bound."""
    if size > HEADER_MAX_BYTES and b"\n" not in head[:HEADER_MAX_BYTES] and b"\r" not in head[:HEADER_MAX_BYTES]:
        refuse_long_first_line()


def _first_line(head: str, complete: bool) -> tuple[str, str]:
    """(first line, the rest of the head); refuses a first line longer than the bound."""
    ends = [i for i in (head.find("\n"), head.find("\r")) if i >= 0]
    end = min(ends) if ends else len(head)
    if end > HEADER_MAX_BYTES or (not ends and not complete):
        refuse_long_first_line()
    rest = head[end + 2:] if head[end:end + 2] == "\r\n" else head[end + 1:]
    return head[:end], rest


def _split(line: str, delimiter: str) -> list[str]:
    try:
        fields = next(csv.reader([line], delimiter=delimiter), [])
    except csv.Error:
        fields = line.split(delimiter)
    return [f.strip() for f in fields]


def _canonical(names: list[str]) -> tuple[list[str], list[str]]:
    """Known column names in their usual case when the file writes them otherwise; returns (names, renames)."""
    names, renames = list(names), []
    for known in KNOWN_COLUMNS:
        if known in names:
            continue
        matches = [i for i, n in enumerate(names) if n.casefold() == known.casefold()]
        if len(matches) == 1:
            renames.append(f"{names[matches[0]]} → {known}")
            names[matches[0]] = known
    return names, renames


def _pick(line: str, forced: str | None) -> tuple[str, list[str], list[str]]:
    for delimiter in (forced,) if forced else DELIMITERS:
        names, renames = _canonical(_split(line, delimiter))
        if all(col in names for col in REQUIRED_COLUMNS):
            return delimiter, names, renames
    found_names = _split(line, forced or ",")
    found = ", ".join(found_names[:12]) + (" …" if len(found_names) > 12 else "")
    missing = [c for c in REQUIRED_COLUMNS if c not in _canonical(found_names)[0]]
    raise InvalidDataset(
        f"The file has no column {' or '.join(repr(m) for m in missing)} (found: {found or 'nothing'}). "
        f"A tweet export needs at least the columns {', '.join(REQUIRED_COLUMNS)}; check that the first line is "
        "the header and that the file is separated by commas, semicolons or tabs."
    )


def _refuse_duplicates(names: list[str]) -> None:
    counts = Counter(n for n in names if n)
    repeated = [n for n, c in counts.items() if c > 1]
    if repeated:
        name = repeated[0]
        where = " and ".join(str(i + 1) for i, n in enumerate(names) if n == name)
        raise InvalidDataset(
            f"The header names the column {name} more than once (columns {where}). Each column needs its own "
            "name: rename or delete the extra one in the export, then upload it again.")


def _sample_rows(rest: str, delimiter: str) -> list[list[str]]:
    """The complete data rows of the head (the last, possibly cut, line is left out)."""
    cut = max(rest.rfind("\n"), rest.rfind("\r"))
    try:
        reader = csv.reader(io.StringIO(rest[:cut], newline=""), delimiter=delimiter)
        return [row for _, row in zip(range(_SAMPLE_ROWS), reader, strict=False)]
    except csv.Error:
        return []


def read_header(head: str, complete: bool) -> Header:
    """Read the header from the first characters of the content (``complete``: ``head`` is the whole file)."""
    line, rest = _first_line(head.lstrip("\ufeff"), complete)
    forced, skip = None, 1
    sep = _SEP_LINE.fullmatch(line.strip())
    if sep:
        forced, skip = sep.group(1), 2
        line, rest = _first_line(rest, complete)
    delimiter, names, renames = _pick(line, forced)
    if len(names) > HEADER_MAX_COLUMNS:
        raise InvalidDataset(
            f"The header has {len(names):,} columns; a tweet export has about {len(DATASET_COLUMNS)} and at most "
            f"{HEADER_MAX_COLUMNS:,} are accepted. Check that the first line is the header of a tweet export.")
    _refuse_duplicates(names)
    unnamed = [i for i, n in enumerate(names) if not n]
    final = list(names)
    for i in unnamed:
        final[i] = f"column_{i + 1}"
    _refuse_duplicates(final)
    header = Header(names=final, file_names=_split(line, delimiter), delimiter=delimiter, skip_rows=skip,
                    unnamed=unnamed, sample=_sample_rows(rest, delimiter))
    if sep:
        header.notes.append(f"The first line (sep={delimiter}) only names the separator for Excel; the header is "
                            "on the second line.")
    if renames:
        header.notes.append("Column names were matched regardless of case: " + ", ".join(renames) + ".")
    return header
