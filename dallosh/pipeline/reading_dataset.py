"""Step 1: read the stored original and check it is still a usable tweet dataset."""

from __future__ import annotations

from typing import Any

from dallosh.defaults import REQUIRED_COLUMNS
from dallosh.errors import InvalidDataset
from dallosh.pipeline.base import Run, Timer, step


@step("reading_dataset")
def reading_dataset(run: Run) -> dict[str, Any]:
    timer = Timer()
    if not run.source.exists():
        raise InvalidDataset("The original file is missing from storage. Delete this dataset and upload it again.")
    frame = run.frame("source", run.source)
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise InvalidDataset(f"The stored file has no column {', '.join(missing)}. Upload a tweet export with the "
                             "columns id and full_text.")
    if frame.empty:
        raise InvalidDataset("The stored file has no rows. Upload a file that contains tweets.")
    return {"rows_read": len(frame), "columns": len(frame.columns), "duration_s": timer.seconds}
