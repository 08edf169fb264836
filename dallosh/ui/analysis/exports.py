"""What the Analysis exports besides the table's rows: the corrections as a labelled set, and file names."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from dallosh import analytics
from dallosh.ui.components import human_int, human_time


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


class ExportsPart:
    """The downloads of ``AnalysisView`` (a mixin): the table's rows as CSV or XLSX, the corrections as CSV.

    Files are built off the message loop and handed to the browser by the view's ``Downloader``.
    """

    # -- exports --------------------------------------------------------------------------------------------

    def export(self, kind: str) -> None:
        """The table's rows (filters + drill, corrections applied, every column) as CSV or XLSX."""
        rows = self.rows
        if rows is None or rows.empty:
            self.alert.info("Nothing to export: no tweet matches the filters.")
            return
        if kind == "xlsx" and len(rows) >= analytics.XLSX_MAX_ROWS:
            self.alert.error(f"{human_int(len(rows))} rows do not fit in one Excel sheet; export CSV instead, or "
                             "narrow the filters.")
            return
        labels = [self.choices[u].label for u in self.loaded if u in self.choices]
        name = export_name(labels, "tweets", kind)
        frame, positions, tz = self.frame, rows.index.to_numpy(), self.tz

        def build() -> bytes:
            full = frame.take(positions)  # every column of the table's rows
            if kind == "xlsx":
                return analytics.to_xlsx_bytes(full, tz=tz)
            return analytics.to_csv_bytes(full, tz=tz)

        self._start_export(build, name, kind, len(rows))

    def export_corrections(self) -> None:
        if self.raw is None or self.frame is None or not self.history:
            self.alert.info("No corrections to export in the chosen datasets.")
            return
        raw, frame, history, tz = self.raw, self.frame, list(self.history), self.tz
        labels = {u: c.label for u, c in self.choices.items() if u in self.loaded}
        name = export_name(labels.values(), "corrections", "csv")
        self._start_export(lambda: analytics.to_csv_bytes(labelled_corrections(raw, frame, history, labels), tz=tz),
                           name, "csv", None)

    def _start_export(self, build: Callable[[], bytes], filename: str, kind: str, rows: int | None) -> None:
        self._exporting = True
        self._paint_page()
        self.downloader.status = (f"Preparing {filename} ({human_int(rows)} rows)…" if rows is not None
                                  else f"Preparing {filename}…")
        self.ctx.background(self._export, build, filename, kind)

    def _export(self, build: Callable[[], bytes], filename: str, kind: str) -> None:
        mime = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" if kind == "xlsx"
                else "text/csv")
        try:
            with self.guard() as g:
                data = build()
                path = self.services.storage.tmp_dir / f"export-{uuid.uuid4().hex}.{kind}"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_bytes(data)
                try:
                    self.downloader.start(path, filename, mime)
                finally:
                    # The downloader holds the file open; unlinking now means nothing is left behind even if the
                    # tab closes mid-download (POSIX keeps an open file readable after unlink).
                    path.unlink(missing_ok=True)
                self.last_export = (filename, data)
            if g.failed:
                self.downloader.status = ""
        finally:
            self._exporting = False
            self._paint_page()

