"""Step 2: clean (dallosh.cleaning) and persist ``cleaned/<file_id>.csv``."""

from __future__ import annotations

from typing import Any

from dallosh.cleaning import clean_tweets
from dallosh.datasets import write_dataset
from dallosh.errors import InvalidDataset
from dallosh.pipeline.base import Run, Timer, step


@step("process_cleaning")
def process_cleaning(run: Run) -> dict[str, Any]:
    timer = Timer()
    handed_over = run.source_removals if "source" in run.frames else None
    result = clean_tweets(run.frame("source", run.source), run.operator_accounts, removed=handed_over)
    if result.frame.empty:
        raise InvalidDataset("Cleaning removed every row (all texts were empty or duplicates); nothing is left to "
                             "analyse. Check the export.")
    write_dataset(result.frame, run.cleaned)
    run.frames["cleaned"] = result.frame
    run.frames.pop("source", None)  # free memory: later steps read the cleaned frame
    return {**result.report, "duration_s": timer.seconds}
