"""What the Analysis exports besides the table's rows: the corrections as a labelled set, and file names."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from dallosh.ui.components import human_time


def labelled_corrections(raw: pd.DataFrame, corrected: pd.DataFrame, history: Sequence[dict[str, Any]],
                         label_of: dict[str, str]) -> pd.DataFrame:
    """One row per corrected tweet, for evaluating models or prompts: the text, the model's labels, the
    labels after every correction (the reference), which fields were corrected, by whom and when (last).

    ``raw`` and ``corrected`` are the same rows before and after ``apply_corrections``; ``label_of`` maps a
    dataset uid to its ``dataset`` value in the frames.
    """
    columns = ["dataset", "id", "created_at", "full_text", "labelled_by", "model_sentiment", "model_priority",
               "model_main_topic", "sentiment", "priority", "main_topic", "corrected_fields", "corrected_by",
               "corrected_at"]
    if not history or raw.empty:
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in columns})
    events = pd.DataFrame(list(history))
    events["dataset"] = events["file_id"].map(label_of)
    events = events.dropna(subset=["dataset"])
    summary = events.groupby(["dataset", "tweet_id"], sort=False).agg(
        corrected_fields=("field", lambda f: "; ".join(dict.fromkeys(f))), corrected_by=("by", "last"),
        corrected_at=("when", "last")).reset_index()
    keys = pd.MultiIndex.from_frame(summary[["dataset", "tweet_id"]].astype(str))
    rows = pd.MultiIndex.from_arrays([raw["dataset"].astype("str"), raw["id"].astype("str")])
    hit = np.flatnonzero(rows.isin(keys))
    model, gold = raw.take(hit), corrected.take(hit)
    out = pd.DataFrame({
        "dataset": model["dataset"].astype("str").to_numpy(), "id": model["id"].astype("str").to_numpy(),
        "created_at": model["created_at"].to_numpy(),
        "full_text": model["full_text"].astype("str").to_numpy(),
        "labelled_by": (model["labelled_by"].astype("str").to_numpy() if "labelled_by" in model
                        else np.full(len(model), "")),
        "model_sentiment": model["sentiment"].astype("str").to_numpy(),
        "model_priority": model["priority"].to_numpy(dtype=np.int64),
        "model_main_topic": model["main_topic"].astype("str").to_numpy(),
        "sentiment": gold["sentiment"].astype("str").to_numpy(),
        "priority": gold["priority"].to_numpy(dtype=np.int64),
        "main_topic": gold["main_topic"].astype("str").to_numpy(),
    })
    out["created_at"] = pd.to_datetime(out["created_at"], utc=True)
    out = out.drop_duplicates(["dataset", "id"]).merge(
        summary.rename(columns={"tweet_id": "id"}), on=["dataset", "id"], how="left")
    out["corrected_at"] = pd.to_datetime(out["corrected_at"], utc=True)
    return out[columns].reset_index(drop=True)


def export_name(labels: Iterable[str], suffix: str, extension: str) -> str:
    stems = [label.rsplit(".", 1)[0] for label in labels]
    stem = stems[0] if len(stems) == 1 else f"{len(stems)}-datasets"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:60] or "analysis"
    stamp = human_time(datetime.now(UTC))  # "YYYY-MM-DD HH:MM:SS" in the app's time zone
    return f"{safe}-{suffix}-{stamp[:10].replace('-', '')}-{stamp[11:16].replace(':', '')}.{extension}"
