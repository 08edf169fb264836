"""The upload preview: read a file right, refuse it with the reason, or say row by row what cleaning will flag.

``inspect_csv`` chains the steps of the package (bytes → header → rows → ids) and ends with what cleaning will
find in the table (``dallosh.cleaning.planned_report``: the very functions the cleaning step runs), so the counts
the preview shows are the counts the task reports. The table the preview shows is the one that is stored: the
upload's bytes when nothing needed repairing (UTF-8, commas), else the table written as UTF-8 CSV.
"""

from __future__ import annotations

import shutil
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import pandas as pd

from dallosh.cleaning import Removals, planned_report
from dallosh.datasets.csvfile import write_dataset
from dallosh.datasets.decoding import SNIFF_BYTES, decode, read_head
from dallosh.datasets.header import DELIMITER_NAMES, check_first_line, read_header
from dallosh.datasets.ids import check_ids
from dallosh.datasets.parsing import parse_rows
from dallosh.defaults import DATASET_COLUMNS, HEADER_MAX_BYTES, PREVIEW_ROWS_DEFAULT
from dallosh.errors import InvalidDataset

#: Bytes read before anything else: enough for the file's signature and a header of the longest accepted size.
HEAD_BYTES = max(SNIFF_BYTES, HEADER_MAX_BYTES + 4)
#: Examples of flagged rows named in a note.
EXAMPLES = 3


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
    #: What cleaning will report for this table (``planned_report``): removals, blank ids, counts, renames.
    cleaning: dict[str, Any] = field(default_factory=dict)
    #: The upload's bytes can be stored as they are: UTF-8 with commas, and nothing was repaired.
    stored_as_is: bool = False
    #: The rows cleaning will remove from ``frame`` (``dallosh process`` hands them to the cleaning step); kept
    #: in this process (the API does not send it).
    removals: Removals | None = field(default=None, repr=False, metadata={"local": True})

    @property
    def preview(self) -> pd.DataFrame:
        return self.frame.head(PREVIEW_ROWS_DEFAULT)

    @property
    def is_normalised(self) -> bool:
        """True when the upload's bytes can be stored as they are (UTF-8, commas, nothing repaired)."""
        return self.stored_as_is


def safe_display_name(name: str) -> str:
    """The last path component of an uploaded name, without control characters (display only, never a path)."""
    name = (name or "").replace("\\", "/")
    base = PurePosixPath(name).name
    base = "".join(ch for ch in base if unicodedata.category(ch)[0] != "C").strip()
    return base[:200] or "dataset.csv"


def megabytes(size: int) -> str:
    """A size in MB of 1,048,576 bytes, as the app shows every size (``human_size``) and counts the limit."""
    value = size / (1024 * 1024)
    return f"{value:.0f} MB" if value == int(value) else f"{value:.1f} MB"


def _size(source: bytes | Path, max_bytes: int) -> int:
    if isinstance(source, Path):
        if not source.exists():
            raise InvalidDataset(f"There is no file at {source}. Check the path.")
        if source.is_dir():
            raise InvalidDataset(f"{source} is a folder, not a file. Give the path of the CSV export inside it.")
        size = source.stat().st_size
    else:
        size = len(source)
    if size > max_bytes:
        raise InvalidDataset(f"The file is {megabytes(size)}; the limit is {megabytes(max_bytes)}. Split it into "
                             "smaller files, or ask an administrator to raise the upload limit in Settings.")
    return size


def _head_text(content: Path | bytes | str, head: bytes) -> str:
    """The first characters of the decoded content (the header and a few rows)."""
    if isinstance(content, str):
        return content[:HEAD_BYTES]
    data = head if isinstance(content, Path) else content[:HEAD_BYTES]
    return data.decode("utf-8", errors="replace")


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


#: Preview sentences for counts of ``planned_report``: (section, count, subject for 1, for more, the rest).
_COUNT_NOTES = (
    ("removed", "duplicate_rows", "row is an exact copy", "rows are exact copies",
     "of an earlier row; cleaning will remove them."),
    ("removed", "duplicate_ids", "row repeats", "rows repeat",
     "an id already seen with different content; cleaning will keep the first."),
    ("removed", "empty_text", "row has", "rows have",
     "an empty full_text (blank, or only line breaks, tabs or &nbsp;); cleaning will remove them."),
    ("flagged", "blank_ids", "row has", "rows have",
     "no id; cleaning gives them the ids blank-1, blank-2, … (counted as blank ids, not as repeated ones) so each "
     "is labelled on its own."),
)


def _cleaning_notes(report: dict[str, Any], problems: Any, frame: pd.DataFrame, first_row: int) -> list[str]:
    """The preview's sentences for what cleaning will find (counts from ``planned_report``)."""
    notes = [f"{_plural(report[section][key], one, many)} {rest}"
             for section, key, one, many, rest in _COUNT_NOTES if report[section][key]]
    flagged = report["flagged"]
    if flagged["invalid_counts"]:
        examples = "; ".join(f"row {int(frame.index[pos]) + first_row:,}: {text}"
                             for pos, text in problems[:EXAMPLES])
        notes.append(f"{_plural(flagged['invalid_counts'], 'row has', 'rows have')} a count that is not a number or "
                     f"not believable ({examples}). Cleaning flags them in the column invalid_counts, which keeps "
                     "the value, and counts it as 0 in engagement.")
    read = {c: n for c, n in report["counts_read"].items() if n}
    if read:
        notes.append(f"{_plural(sum(read.values()), 'count is', 'counts are')} written like 12k, 1 234 or 1,2K (in "
                     f"{', '.join(read)}); cleaning reads them as numbers (12k = 12000).")
    renamed = report["columns_renamed"]
    if renamed:
        notes.append(f"The file already has the column(s) {', '.join(renamed)}, which the analysis adds; your values "
                     f"are kept as {', '.join(renamed.values())} and the analysis adds its own.")
    return notes


def _nothing_left(report: dict[str, Any]) -> str:
    """Why cleaning would leave no row (the file is refused at preview, not at the Cleaning step)."""
    removed = report["removed"]
    copies = removed["duplicate_rows"] + removed["duplicate_ids"]
    reasons = [_plural(removed["empty_text"], "row has an empty tweet text", "rows have an empty tweet text")]
    if copies:
        reasons.append(_plural(copies, "row repeats another one", "rows repeat other ones"))
    return (f"Nothing in this file can be analysed: {' and '.join(reasons)}. Check that the export includes the "
            "text of the tweets (the full_text column), then upload it again.")


def inspect_csv(source: bytes | Path, filename: str, *, max_bytes: int, encoding: str | None = None
                ) -> DatasetInspection:
    """Validate an upload and describe it; raises InvalidDataset with an actionable message."""
    display = safe_display_name(filename)
    if not display.lower().endswith(".csv"):
        raise InvalidDataset(f"{display!r} is not a .csv file. Export the tweets as CSV and upload that file.")
    source = Path(source) if isinstance(source, str) else source
    size = _size(source, max_bytes)
    try:
        head = read_head(source, HEAD_BYTES)
        if not head.strip(b" \t\r\n\xef\xbb\xbf"):
            raise InvalidDataset("The file is empty. Choose a CSV export that contains tweets.")
        check_first_line(head, size)  # before anything reads the whole file
        decoded = decode(source, head, encoding)
        header = read_header(_head_text(decoded.content, head), complete=size <= HEAD_BYTES)
        rows = parse_rows(decoded, header)
    except OSError as exc:
        raise InvalidDataset(f"The file cannot be read ({exc.strerror or exc}). Check that it is still there and "
                             "that you may read it, then try again.") from None
    frame = rows.frame
    notes = [*decoded.notes, *header.notes, *rows.notes]
    ids_changed = check_ids(frame, header.first_row, notes)
    if frame.empty:
        raise InvalidDataset("The file has a header but no rows. Export a period that contains tweets.")
    if header.delimiter != ",":
        notes.append(f"The file is separated by {header.delimiter!r} ({DELIMITER_NAMES[header.delimiter]}); it is "
                     "stored comma-separated.")
    missing = [c for c in DATASET_COLUMNS if c not in frame.columns]
    if missing:
        notes.append("Optional columns missing (some KPIs will be unavailable): " + ", ".join(missing))
    report, problems, removed = planned_report(frame)
    if report["rows_out"] == 0:
        raise InvalidDataset(_nothing_left(report))
    notes += _cleaning_notes(report, problems, frame, header.first_row)
    renamed = [n for n in header.names if n not in header.file_names]
    stored_as_is = (decoded.encoding == "utf-8" and not decoded.rewritten and header.delimiter == ","
                    and header.skip_rows == 1 and not decoded.bare_cr and not rows.repaired and not ids_changed
                    and not renamed)
    return DatasetInspection(
        filename=display, size=size, sha256=decoded.sha256, encoding=decoded.encoding, delimiter=header.delimiter,
        rows=len(frame), columns=list(frame.columns), frame=frame.reset_index(drop=True), missing_columns=missing,
        warnings=notes, cleaning=report, stored_as_is=stored_as_is, removals=removed)


def write_normalised(inspection: DatasetInspection, source: bytes | Path, target: Path) -> int:
    """Store the upload as UTF-8 with commas; byte-identical when nothing needed changing. Returns the size."""
    if inspection.stored_as_is:
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_bytes(bytes(source))
        return target.stat().st_size
    write_dataset(inspection.frame, target)
    return target.stat().st_size
