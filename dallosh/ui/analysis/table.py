"""The tweets table: an ipyaggrid grid fed one page at a time, sorted in the kernel.

Only the page travels to the browser, so the grid stays light on 1M rows; sorting and selection travel back to
the kernel (``grid.js``), which sorts every filtered row, not just the page.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dallosh.ui.labelling import model_name

#: Table rows per page: the page is what travels to the browser, so the grid stays light on 1M rows.
PAGE_SIZE = 25
ROW_HEIGHT = 30
PRIORITY_NAMES = {0: "low", 1: "medium", 2: "high"}
#: Grid column → frame column used to sort the whole filtered selection (server side).
SORT_COLUMNS = {"date": "created_at", "author": "screen_name", "text": "full_text", "sentiment": "sentiment",
                "priority": "priority", "topic": "main_topic", "engagement": "engagement", "corrected": "corrected",
                "dataset": "dataset", "model": "labelled_by", "id": "id"}
DEFAULT_SORT = ("date", False)

#: ipyaggrid evaluates ``js_post_grid`` with ``gridOptions`` and ``view`` in scope: selection and header sorts
#: are pushed to the kernel through the synced ``user_params`` (``seq`` makes every push a change).
GRID_JS = Path(__file__).with_name("grid.js").read_text(encoding="utf-8")
#: The id cell links to the tweet; built with DOM calls (never innerHTML): ids and urls come from the CSV.
LINK_RENDERER = """function(params) {
  const id = params.value || '';
  const url = params.data && params.data.link;
  if (!url || !/^https:[/][/]x[.]com[/]i[/]status[/][0-9]+$/.test(url)) return document.createTextNode(id);
  const a = document.createElement('a');
  a.href = url; a.target = '_blank'; a.rel = 'noopener noreferrer'; a.textContent = id;
  a.className = 'dl-tweet-link'; a.title = 'Open the tweet';
  return a;
}"""
#: Rows arrive sorted by the kernel; a constant comparator keeps that order when a header is clicked.
KEEP_ORDER = "function() { return 0; }"


def sort_order(df: pd.DataFrame, column: str, ascending: bool) -> np.ndarray:
    """Positions of ``df``'s rows sorted by ``column`` (missing values last; ties keep the file order)."""
    key = df[column].reset_index(drop=True)
    if column in ("screen_name", "main_topic", "dataset"):
        key = key.astype("str")  # alphabetical, not the categories' order of appearance
    elif column == "id":
        key = key.astype("str").str.zfill(20)  # numeric order of digit ids without losing a digit
    return key.sort_values(ascending=ascending, kind="stable", na_position="last").index.to_numpy()


def tweet_link(tweet_id: Any) -> str:
    """The tweet's address on X, built from its numeric id alone ("" when the id is not a status number).

    Never the CSV's ``url`` column: any uploader controls it, and a link to this very app with a crafted query
    string was one click from running script in a colleague's session.
    """
    ident = str(tweet_id or "").strip()
    return f"https://x.com/i/status/{ident}" if ident.isascii() and ident.isdigit() else ""


def table_page(rows: pd.DataFrame, tz: str) -> pd.DataFrame:
    """What the grid shows for ``rows``: display strings (times in ``tz``), ids as exact strings."""
    when = rows["created_at"].dt.tz_convert(tz).dt.strftime("%Y-%m-%d %H:%M")
    priority = rows["priority"].to_numpy()
    corrected = rows["corrected"].to_numpy(dtype=bool) if "corrected" in rows else np.zeros(len(rows), bool)
    return pd.DataFrame({
        "id": rows["id"].astype("str").to_numpy(dtype=object),
        "date": when.fillna("").to_numpy(dtype=object),
        "author": ("@" + rows["screen_name"].astype("str").fillna("")).to_numpy(dtype=object),
        "text": rows["full_text"].astype("str").fillna("").to_numpy(dtype=object),
        "sentiment": rows["sentiment"].astype("str").fillna("").to_numpy(dtype=object),
        "priority": [f"{p} · {PRIORITY_NAMES.get(int(p), '?')}" for p in priority],
        "topic": rows["main_topic"].astype("str").fillna("").to_numpy(dtype=object),
        "engagement": rows["engagement"].to_numpy(dtype=np.int64),
        "corrected": np.where(corrected, "✎", ""),
        "dataset": rows["dataset"].astype("str").to_numpy(dtype=object),
        # Who labelled the row (the built-in analyzer, an AI model, a rule): a fallback shows on the row itself.
        "model": [model_name(m) for m in (rows["labelled_by"].astype("str") if "labelled_by" in rows
                                           else pd.Series([""] * len(rows), index=rows.index))],
        "link": [tweet_link(i) for i in rows["id"]],
    })


def local_time(value: Any, tz: str) -> str:
    """A UTC timestamp as ``YYYY-MM-DD HH:MM`` in ``tz`` ("" when missing)."""
    if value is None or pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp
    return stamp.tz_convert(tz).strftime("%Y-%m-%d %H:%M")


def build_grid(empty: pd.DataFrame, on_event: Callable[[dict[str, Any]], None]) -> Any:
    """The ipyaggrid grid of the tweets (checkbox column for bulk corrections, sorts and clicks sent back)."""
    from ipyaggrid import Grid

    def col(field: str, header: str, width: int, **extra: Any) -> dict[str, Any]:
        return {"field": field, "headerName": header, "width": width, "sortable": True, "resizable": True,
                "comparator": KEEP_ORDER, **extra}

    defs = [
        {"colId": "check", "headerName": "", "width": 44, "checkboxSelection": True,
         "headerCheckboxSelection": True, "sortable": False, "resizable": False, "pinned": "left",
         "headerTooltip": "Tick tweets to correct them together"},
        col("date", "Date", 126, sort="desc"),
        col("author", "Author", 116, tooltipField="author"),
        col("text", "Tweet", 300, tooltipField="text", flex=1, minWidth=200),
        col("sentiment", "Sentiment", 104,
            cellClassRules={"dl-cell-neg": "x === 'negative'", "dl-cell-pos": "x === 'positive'"}),
        col("priority", "Priority", 96),
        col("topic", "Topic", 112, tooltipField="topic"),
        col("engagement", "Eng.", 72, type="numericColumn",
            headerTooltip="Engagement: likes + retweets + replies + quotes"),
        col("corrected", "✎", 64, cellClass="dl-cell-corrected",
            headerTooltip="Corrected: an analyst changed a label of this tweet"),
        col("dataset", "Dataset", 110, tooltipField="dataset"),
        col("model", "Labelled by", 140, tooltipField="model",
            headerTooltip="Who gave this tweet its labels: the built-in analyzer, an AI model, or a rule"),
        col("id", "Tweet id ↗", 172, cellRenderer=LINK_RENDERER, headerTooltip="Click an id to open the tweet"),
    ]
    options = {"columnDefs": defs, "rowHeight": ROW_HEIGHT, "headerHeight": 34, "rowSelection": "multiple",
               "suppressRowClickSelection": True,
               "enableCellTextSelection": True, "tooltipShowDelay": 400, "suppressMovableColumns": True}
    grid = Grid(grid_data=empty, grid_options=options, theme="ag-theme-balham",
                height=PAGE_SIZE * ROW_HEIGHT + 40, columns_fit="", quick_filter=False, export_mode="disabled",
                index=False, sync_grid=False, js_post_grid=[GRID_JS],
                license="community")  # "" would load (and watermark) the enterprise build
    grid.add_class("dl-grid")
    grid.add_class("dl-analysis-grid")
    grid.observe(on_event, "user_params")
    return grid

