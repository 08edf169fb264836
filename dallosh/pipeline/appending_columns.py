"""Step 4: append sentiment, priority, main_topic and labelled_by to every cleaned row (staged output)."""

from __future__ import annotations

from typing import Any

from dallosh.datasets import write_dataset
from dallosh.defaults import LABEL_COLUMNS
from dallosh.errors import DalloshError
from dallosh.pipeline.base import Run, Timer, step
from dallosh.pipeline.sending_to_llm import distinct_texts, load_labels

#: Columns the pipeline adds, in order. Cleaning renamed any input column of these names to ``<name>_input``, so
#: nothing the file held is overwritten here.
OUTPUT_COLUMNS = LABEL_COLUMNS


@step("appending_columns")
def appending_columns(run: Run) -> dict[str, Any]:
    timer = Timer()
    frame = run.frame("cleaned", run.cleaned).copy()
    codes, table = run.frames.pop("distinct", None) or distinct_texts(frame, run.operator_accounts)
    labels = run.frames.pop("labels", None)
    if labels is None:
        labels = load_labels(run)
    keys = table["key"].astype(str)
    if len(labels) == len(keys) and (labels["key"].to_numpy() == keys.to_numpy()).all():
        per_text = labels  # pages hold the groups in order: no lookup by key
    else:
        labels = labels.set_index("key")
        missing = keys[~keys.isin(labels.index)]
        if len(missing):
            raise DalloshError(f"{len(missing)} text(s) have no label (checkpoint files incomplete). Click Retry: "
                               "labelling resumes from the last complete page.")
        per_text = labels.loc[keys.to_numpy()]
    frame["sentiment"] = per_text["sentiment"].to_numpy()[codes]
    frame["priority"] = per_text["priority"].astype("int64").to_numpy()[codes]
    frame["main_topic"] = per_text["topic"].to_numpy()[codes]
    frame["labelled_by"] = per_text["labelled_by"].to_numpy()[codes]
    write_dataset(frame, run.staging)
    run.frames["analysed"] = frame
    counts = frame["labelled_by"].value_counts().to_dict()
    return {"rows": len(frame), "columns_added": list(OUTPUT_COLUMNS), "labelled_by": counts,
            "duration_s": timer.seconds}
