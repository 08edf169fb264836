"""Analysis: KPIs, charts and tweets of one or several analysed datasets, with label corrections.

Flow: the datasets chosen are read once each (``analytics.load_analysed``; cached per dataset until its analysed
CSV changes, so a reprocessed file is read again), combined, and the stored corrections are applied on top
(``services.corrections.effective`` + ``analytics.apply_corrections``) — so every KPI, chart, table row and
export reflects them, whatever happened to the file. The filter bar (``analytics.Filters``) drives everything on
the page; clicking a chart segment ("drill") narrows only the table and the exports.

Every number comes from the pure functions of ``dallosh.analytics``, the same ones power users call in
notebooks. Work that grows with the dataset (reading, filtering, charting) runs in ``ctx.background`` through
one "latest request wins" worker: a click while a 1M-row dataset loads is queued, never lost, and never blocks
the kernel's message loop.

The charts are plotly figures drawn by ``PlotlyChart`` (a small anywidget, see why below) so that clicks reach
the kernel; they are built the first time the view is shown, not when the App prefetches the view behind
another page. The table is an ipyaggrid grid fed one page at a time; sorting and selection travel back to the
kernel, which sorts every filtered row, not just the page.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import anywidget
import ipywidgets as w
import numpy as np
import pandas as pd
import traitlets as t

from dallosh import analytics
from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.errors import DalloshError, ValidationError
from dallosh.storage import ANALYSED
from dallosh.ui.base import UIContext, View
from dallosh.ui.components import (
    KPI,
    box,
    button,
    card_title_widget,
    html_widget,
    human_int,
    human_time,
    muted,
    set_visible,
    updated_now,
)
from dallosh.ui.html import escape, fragment, macro, render
from dallosh.ui.labelling import labelling_html, model_name

log = logging.getLogger(__name__)

#: Table rows per page: the page is what travels to the browser, so the grid stays light on 1M rows.
PAGE_SIZE = 25
ROW_HEIGHT = 30
#: Bars of the "top" charts (authors, critical tweets).
TOP_N = 10
CHART_HEIGHT = 330
#: Datasets listed in the picker (newest first); older ones are reached by the datasets page's search.
LIST_LIMIT = 200
#: Frames at least this long give the heap they needed for parsing back to the OS after loading.
BIG_FRAME_ROWS = 200_000
#: Corrections listed under the correction form (newest first).
HISTORY_SHOWN = 8
PRIORITY_NAMES = {0: "low", 1: "medium", 2: "high"}
SENTIMENT_COLORS = {"negative": "#c62828", "neutral": "#9e9ea6", "positive": "#2e7d32"}
PRIORITY_COLORS = ["#9e9ea6", "#f0a030", "#c62828"]
BAR_COLOR = "#c62828"
QUIET_BAR_COLOR = "#e6a3a3"
SPIKE_COLOR = "#7f0000"
#: In dark mode the quiet days are dimmed and the spikes brightened, so spikes still stand out.
DARK_COLORS = {SPIKE_COLOR: "#ff5252", QUIET_BAR_COLOR: "#7a4848"}
FIELD_LABELS = {"sentiment": "Sentiment", "priority": "Priority", "main_topic": "Topic"}
#: Grid column → frame column used to sort the whole filtered selection (server side).
SORT_COLUMNS = {"date": "created_at", "author": "screen_name", "text": "full_text", "sentiment": "sentiment",
                "priority": "priority", "topic": "main_topic", "engagement": "engagement", "corrected": "corrected",
                "dataset": "dataset", "model": "labelled_by", "id": "id"}
DEFAULT_SORT = ("date", False)
#: What filtering reads, and what the KPIs, charts, drill and sorts read: the filtered selection keeps only the
#: latter (with the loaded frame's positions as index). Long texts and urls stay in the loaded frame and are
#: fetched for the table page and the exports: on 1M rows the selection is ~0.15 GB instead of ~0.6 GB.
FILTER_COLUMNS = ("id", "created_at", "full_text", "main_topic", "sentiment", "priority", "is_retweet", "is_operator")
SELECTION_COLUMNS = ("id", "created_at", "screen_name", "name", "in_reply_to", "sentiment", "priority",
                     "main_topic", "engagement", "is_retweet", "is_operator", "corrected", "dataset")

#: ipyaggrid evaluates ``js_post_grid`` with ``gridOptions`` and ``view`` in scope: selection and header sorts
#: are pushed to the kernel through the synced ``user_params`` (``seq`` makes every push a change).
GRID_JS = r"""
(function () {
  const api = gridOptions.api;
  let seq = 0;
  const push = (patch) => {
    const params = Object.assign({}, view.model.get('user_params') || {}, patch, {seq: ++seq});
    view.model.set('user_params', params);
    view.model.save_changes();
  };
  api.addEventListener('selectionChanged', () => {
    const rows = api.getSelectedRows();
    if (rows.length) push({selected: String(rows[0].id)});
  });
  api.addEventListener('sortChanged', () => {
    const sorted = gridOptions.columnApi.getColumnState().filter((c) => c.sort);
    push({sort: sorted.length ? [sorted[0].colId, sorted[0].sort] : null});
  });
  // The kernel shows the dataset column only when several datasets are combined.
  const columns = () => {
    const params = view.model.get('user_params') || {};
    gridOptions.columnApi.setColumnVisible('dataset', Boolean(params.show_dataset));
  };
  view.model.on('change:user_params', columns);
  columns();
})();
"""
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


# ------------------------------------------------------------------------------------------- pure helpers


@dataclass(frozen=True)
class Drill:
    """A chart click: narrows the table (and exports) to the rows of one segment."""

    kind: str
    value: Any
    label: str


def drill_mask(df: pd.DataFrame, drill: Drill, tz: str) -> np.ndarray:
    """Rows of ``df`` inside the clicked segment (same definitions as the chart that was clicked)."""

    def equals(column: str, value: Any) -> np.ndarray:
        return (df[column] == value).to_numpy(dtype=bool, na_value=False)

    kind, value = drill.kind, drill.value
    if kind == "sentiment":
        return equals("sentiment", value)
    if kind == "priority":
        return df["priority"].to_numpy() == int(value)
    if kind == "topic":
        return equals("main_topic", value)
    if kind == "topic_sentiment":
        return equals("main_topic", value[0]) & equals("sentiment", value[1])
    if kind == "critical_topic":
        return (equals("main_topic", value) & equals("sentiment", "negative")
                & (df["priority"].to_numpy() == analytics.CRITICAL_PRIORITY))
    if kind in ("day", "hour"):
        local = df["created_at"].dt.tz_convert(tz).dt.tz_localize(None)
        if kind == "hour":
            return (local.dt.hour == int(value)).to_numpy(dtype=bool, na_value=False)
        start = pd.Timestamp(value)
        inside = (local >= start) & (local < start + pd.Timedelta(days=1))
        return inside.to_numpy(dtype=bool, na_value=False)
    if kind == "author":
        return equals("screen_name", value)
    if kind == "ids":
        return df["id"].isin(set(value)).to_numpy(dtype=bool)
    raise ValueError(f"unknown drill {kind!r}")


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


def format_delay(delay: pd.Timedelta | None) -> str:
    if delay is None or pd.isna(delay):
        return "–"
    minutes = int(round(delay.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def format_kpis(k: dict[str, Any], loaded: int) -> dict[str, tuple[str, str]]:
    """(value, subtitle) of each KPI card from ``analytics.kpis``'s dict."""
    share, net, median, rate = k["negative_share"], k["net_sentiment"], k["engagement_median"], k["engagement_rate"]
    left_out = k["engagement_outliers"]
    high = k["high_priority_count"]
    return {
        "volume": (human_int(k["volume"]), f"of {human_int(loaded)} loaded"),
        "negative_share": ("–" if share is None else f"{share:.1f} %", "of labelled tweets"),
        "net_sentiment": ("–" if net is None else f"{net:+.2f}", "(pos − neg) / (pos + neg)"),
        "high_priority_count": (human_int(high), f"{100 * high / k['volume']:.1f} % of tweets" if k["volume"]
                                else "priority 2"),
        "median_first_reply_time": (format_delay(k["median_first_reply_time"]), "to the operator's first reply"),
        "engagement_median": ("–" if median is None else f"{median:g}",
                              "interactions per tweet" + ("" if rate is None else f" · mean {rate:.2f}") +
                              (f" without {human_int(left_out)} viral" if left_out else "")),
    }


KPI_LABELS = {"volume": "Tweets", "negative_share": "Negative", "net_sentiment": "Net sentiment",
              "high_priority_count": "High priority", "median_first_reply_time": "Median first reply",
              "engagement_median": "Median engagement"}


def daily_net_sentiment(daily: pd.DataFrame) -> np.ndarray:
    """(positive − negative) / (positive + negative) per day of ``analytics.daily_volume_and_sentiment``."""
    pos, neg = daily["positive"].to_numpy(dtype=float), daily["negative"].to_numpy(dtype=float)
    polar = pos + neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(polar > 0, (pos - neg) / polar, np.nan)


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


def release_memory() -> None:
    """Hand the heap freed by a big CSV parse back to the OS.

    glibc keeps the freed chunks of the parse in the process heap: after loading 1M rows the kernel held 1.0 GB
    RSS for a 0.6 GB frame, 0.82 GB after ``malloc_trim``. A no-op where glibc is not the allocator.
    """
    try:
        import ctypes

        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):
        pass


def export_name(labels: Iterable[str], suffix: str, extension: str) -> str:
    stems = [label.rsplit(".", 1)[0] for label in labels]
    stem = stems[0] if len(stems) == 1 else f"{len(stems)}-datasets"
    safe = "".join(c if c.isalnum() or c in "-_" else "_" for c in stem)[:60] or "analysis"
    stamp = human_time(datetime.now(UTC))  # "YYYY-MM-DD HH:MM:SS" in the app's time zone
    return f"{safe}-{suffix}-{stamp[:10].replace('-', '')}-{stamp[11:16].replace(':', '')}.{extension}"


# --------------------------------------------------------------------------------------------------- charts

#: Why not ``go.FigureWidget``: it ships plotly's whole front-end (5 MB) as the ``_esm`` of EVERY figure — ten
#: charts were 54 MB on the websocket and 45 s before the page showed — and anywidget holds a model's messages
#: until its ``initialize`` ends (2 s limit), so the module cannot be fetched once and shared from there.
#: ``PlotlyChart`` is a small anywidget instead: the kernel builds each figure as plotly JSON (``spec``, the
#: whole state, so a late render never misses an update), the first chart of the page asks the kernel for
#: plotly.js once (one binary message), and clicks come back as ``{type: "click", curve, point}``.
CHART_JS = r"""
const KEY = "__dalloshPlotly";
function loadPlotly(model) {
  if (globalThis.Plotly && globalThis.Plotly.react) return Promise.resolve(globalThis.Plotly);
  if (!globalThis[KEY]) {
    globalThis[KEY] = new Promise((resolve, reject) => {
      const onMessage = (msg, buffers) => {
        if (!msg || msg.type !== "plotly-js") return;
        model.off("msg:custom", onMessage);
        const url = URL.createObjectURL(new Blob([buffers[0]], { type: "text/javascript" }));
        const script = document.createElement("script");
        script.src = url;
        script.onload = () => { URL.revokeObjectURL(url); resolve(globalThis.Plotly); };
        script.onerror = () => { URL.revokeObjectURL(url); delete globalThis[KEY]; reject(new Error("plotly.js")); };
        document.head.appendChild(script);
      };
      model.on("msg:custom", onMessage);
      model.send({ type: "need-plotly-js" });
    });
  }
  return globalThis[KEY];
}
async function render({ model, el }) {
  el.classList.add("dl-plot");
  el.style.minHeight = (model.get("height") || 300) + "px";
  const Plotly = await loadPlotly(model);
  let drawn = null;
  const draw = () => {
    const spec = JSON.parse(model.get("spec") || "{}");
    drawn = Plotly.react(el, spec.data || [], spec.layout || {}, model.get("config"));
    return drawn;
  };
  await draw();
  el.on("plotly_click", (event) => {
    const p = event && event.points && event.points[0];
    if (!p) return;
    const point = p.pointNumber !== undefined ? p.pointNumber : (p.pointNumbers || [0])[0];
    model.send({ type: "click", curve: p.curveNumber, point: point });
  });
  model.on("change:spec", draw);
  const resize = new ResizeObserver(() => { if (el.offsetParent !== null) Plotly.Plots.resize(el); });
  resize.observe(el);
  return () => { resize.disconnect(); model.off("change:spec", draw); Plotly.purge(el); };
}
export default { render };
"""


@cache
def plotly_js() -> bytes:
    """plotly.js as shipped in the plotly package (its offline copy: nothing is fetched from the internet)."""
    import plotly

    return (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def figure_json(figure: dict[str, Any]) -> str:
    """Plotly JSON of a figure dict; NaN (a day without polar tweets) becomes a gap (null)."""
    def clean(value: Any) -> Any:
        if isinstance(value, float) and value != value:
            return None
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return [None if v != v else v for v in value.tolist()]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(figure), default=_json_default, ensure_ascii=False, allow_nan=False)


class PlotlyChart(anywidget.AnyWidget):
    """One plotly figure; ``on_click(trace, point)`` runs in the kernel when a segment is clicked."""

    _esm = CHART_JS
    spec = t.Unicode("{}").tag(sync=True)
    config = t.Dict({}).tag(sync=True)
    height = t.Int(CHART_HEIGHT).tag(sync=True)

    def __init__(self, name: str, on_click: Callable[[str, int, int], None] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.name = name
        self.on_click = on_click
        self.figure: dict[str, Any] = {}
        #: Per trace, what each point stands for (a sentiment, a topic, a day…): what a click on it means.
        self.point_keys: list[list[Any]] = []  # (``keys`` is ipywidgets' list of synced traits)
        self.config = {"displaylogo": False, "responsive": True,
                       "modeBarButtonsToRemove": ["lasso2d", "select2d", "toImage", "autoScale2d"]}
        self.on_msg(lambda _w, content, buffers: self.handle(content, buffers))

    def show(self, figure: dict[str, Any], keys: list[list[Any]]) -> None:
        self.figure, self.point_keys = figure, keys
        self.height = int(figure.get("layout", {}).get("height", CHART_HEIGHT))
        self.spec = figure_json(figure)

    def handle(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        """A message from the page: plotly.js wanted, or a click."""
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "need-plotly-js":
            self.send({"type": "plotly-js"}, buffers=[plotly_js()])
        elif kind == "click" and self.on_click is not None:
            try:
                self.on_click(self.name, int(content.get("curve", 0)), int(content.get("point", -1)))
            except (TypeError, ValueError):
                log.warning("ignored a malformed click on chart %s: %r", self.name, content)


def short(text: str, limit: int = 48) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: Any) -> str:
    """User text safe in plotly labels (plotly renders a subset of HTML tags, links included, and decodes entities).

    The same escaping as the templates; a label mixing text and tags is a ``fragment`` (see the critical tweets).
    """
    return str(escape(text))


def themed(figure: dict[str, Any], theme: str) -> dict[str, Any]:
    """The figure with the page's colours (transparent background, readable text and grid in both themes)."""
    dark = theme == "dark"
    text, grid, muted = ("#ececee", "#34353b", "#a9abb3") if dark else ("#1d1d1f", "#e6e6ea", "#5b5e66")
    layout = {
        "height": CHART_HEIGHT, "margin": {"l": 52, "r": 16, "t": 44, "b": 44}, "showlegend": False,
        "bargap": 0.25, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": text, "size": 12, "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"},
        "hoverlabel": {"namelength": -1}, "legend": {"font": {"color": text}},
        **figure.get("layout", {}),
    }
    layout["title"] = {"text": layout.get("title", ""), "x": 0.01, "xanchor": "left",
                       "font": {"size": 14, "color": text}}
    for axis in [k for k in layout if k.startswith(("xaxis", "yaxis"))] or []:
        layout[axis] = {"gridcolor": grid, "zerolinecolor": grid, "linecolor": grid, "color": muted,
                        "automargin": True, **layout[axis]}
    for axis in ("xaxis", "yaxis"):
        layout.setdefault(axis, {"gridcolor": grid, "zerolinecolor": grid, "color": muted, "automargin": True})
    data = []
    for trace in figure.get("data", []):
        trace = dict(trace)
        colors = trace.get("marker", {}).get("color")
        if dark and colors is not None:  # dark red spikes would vanish on the dark background
            swap = DARK_COLORS.get
            trace["marker"] = {**trace["marker"], "color": [swap(c, c) for c in colors] if isinstance(colors, list)
                               else swap(colors, colors)}
        if trace.get("type") == "scatter" and trace.get("line", {}).get("color") == "text":
            trace["line"] = {**trace["line"], "color": text}
        if trace.get("type") == "pie":
            trace.setdefault("outsidetextfont", {"color": text})
        data.append(trace)
    return {"data": data, "layout": layout}


def count_axis(title: str, peak: float) -> dict[str, Any]:
    """An axis counting tweets: whole numbers only (plotly picks 0.5 steps for small counts, "0.5 tweets"), from 0."""
    axis: dict[str, Any] = {"title": {"text": title}, "rangemode": "tozero", "tickformat": ",d"}
    if not peak or peak <= 8:
        axis.update(tickmode="linear", tick0=0, dtick=1)
    return axis


def _peak(values: Any) -> float:
    array = np.asarray(values, dtype=float)
    return float(np.nanmax(array)) if array.size and not np.isnan(array).all() else 0.0


def chart_timeline(df: pd.DataFrame, tz: str) -> tuple[dict[str, Any], list[list[Any]]]:
    daily = analytics.daily_volume_and_sentiment(df, tz)
    spikes = daily["spike"].to_numpy(dtype=bool)
    days = [d.strftime("%Y-%m-%d") for d in daily["day"]]
    figure = {
        "data": [
            {"type": "bar", "name": "tweets", "x": days, "y": daily["volume"].to_numpy(),
             "marker": {"color": np.where(spikes, SPIKE_COLOR, QUIET_BAR_COLOR).tolist()},
             "customdata": np.where(spikes, " · spike (above the 7-day mean + 2σ)", "").tolist(),
             "hovertemplate": "%{x}: %{y} tweets%{customdata}<extra></extra>"},
            {"type": "scatter", "name": "net sentiment", "x": days, "y": daily_net_sentiment(daily),
             "yaxis": "y2", "mode": "lines+markers", "line": {"color": "text", "width": 1.5},
             "marker": {"size": 4}, "connectgaps": False,
             "hovertemplate": "%{x}: net sentiment %{y:+.2f}<extra></extra>"},
        ],
        "layout": {"title": "Tweets per day, spikes highlighted (above the 7-day mean + 2σ), and net sentiment",
                   "xaxis": {"type": "date"}, "yaxis": count_axis("tweets", _peak(daily["volume"])),
                   "yaxis2": {"title": {"text": "net sentiment"}, "overlaying": "y", "side": "right",
                              "range": [-1.05, 1.05], "tickmode": "linear", "tick0": -1, "dtick": 0.5,
                              "tickformat": "+.1f", "showgrid": False, "zeroline": False},
                   "legend": {"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right"}, "showlegend": True},
    }
    return figure, [list(daily["day"]), list(daily["day"])]


def chart_sentiment(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    counts = analytics.sentiment_counts(df)
    text = [f"{share:.1f} %" if n else "" for n, share in zip(counts["count"], counts["share"], strict=True)]
    figure = {"data": [{"type": "pie", "labels": list(SENTIMENTS), "values": counts["count"].to_numpy(),
                        "hole": 0.45, "sort": False, "direction": "clockwise", "text": text, "textinfo": "text",
                        "marker": {"colors": [SENTIMENT_COLORS[s] for s in SENTIMENTS]},
                        "hovertemplate": "%{label}: %{value} tweets (%{percent})<extra></extra>"}],
              "layout": {"title": "Sentiment", "showlegend": True,
                         "legend": {"orientation": "h", "y": -0.05, "x": 0.5, "xanchor": "center"}}}
    return figure, [list(SENTIMENTS)]


def chart_priority(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    counts = analytics.priority_counts(df)
    figure = {"data": [{"type": "bar", "x": [f"{p} · {PRIORITY_NAMES[p]}" for p in PRIORITIES],
                        "y": counts["count"].to_numpy(), "marker": {"color": PRIORITY_COLORS},
                        "hovertemplate": "priority %{x}: %{y} tweets<extra></extra>"}],
              "layout": {"title": "Priority", "yaxis": count_axis("tweets", _peak(counts["count"]))}}
    return figure, [list(PRIORITIES)]


def chart_topics(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    topics = analytics.topic_counts(df)
    names = topics["main_topic"].tolist()
    figure = {"data": [{"type": "bar", "x": [plain(n) for n in names], "y": topics["count"].to_numpy(),
                        "marker": {"color": BAR_COLOR},
                        "customdata": topics["share"].to_numpy(),
                        "hovertemplate": "%{x}: %{y} tweets (%{customdata:.1f} %)<extra></extra>"}],
              "layout": {"title": "Topics", "yaxis": count_axis("tweets", _peak(topics["count"]))}}
    return figure, [names]


def chart_topic_sentiment(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    matrix = analytics.topic_sentiment_matrix(df)
    names = matrix.index.tolist()
    figure = {"data": [{"type": "bar", "name": s, "x": [plain(n) for n in names], "y": matrix[s].to_numpy(),
                        "marker": {"color": SENTIMENT_COLORS[s]},
                        "hovertemplate": "%{x} · " + s + ": %{y} tweets<extra></extra>"} for s in SENTIMENTS],
              "layout": {"title": "Topic × sentiment", "barmode": "stack", "showlegend": True,
                         "legend": {"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right"},
                         "yaxis": count_axis("tweets", _peak(matrix[list(SENTIMENTS)].sum(axis=1)))}}
    return figure, [names] * len(SENTIMENTS)


def chart_critical_topics(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    critical = analytics.critical_topics(df)
    critical = critical[critical["critical"] > 0]
    names = critical["main_topic"].tolist()
    figure = {"data": [{"type": "bar", "x": [plain(n) for n in names], "y": critical["critical"].to_numpy(),
                        "marker": {"color": BAR_COLOR}, "customdata": critical["critical_share"].to_numpy(),
                        "hovertemplate": "%{x}: %{y} critical tweets (%{customdata:.1f} % of the topic)"
                                         "<extra></extra>"}],
              "layout": {"title": "Critical topics (negative and priority 2)",
                         "yaxis": count_axis("critical tweets", _peak(critical["critical"]))}}
    return figure, [names]


def chart_engagement(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    engagement = analytics.engagement_by_sentiment(df)
    figure = {"data": [{"type": "bar", "x": list(SENTIMENTS),
                        "y": engagement["median_engagement"].fillna(0).to_numpy(),
                        "marker": {"color": [SENTIMENT_COLORS[s] for s in SENTIMENTS]},
                        "customdata": engagement["engagement"].to_numpy(),
                        "hovertemplate": "%{x}: median %{y:g} interactions per tweet, %{customdata} in total"
                                         "<extra></extra>"}],
              "layout": {"title": "Engagement by sentiment (median per tweet)",
                         "yaxis": {"title": {"text": "interactions per tweet"}}}}
    return figure, [list(SENTIMENTS)]


def chart_hours(df: pd.DataFrame, tz: str) -> tuple[dict[str, Any], list[list[Any]]]:
    hours = analytics.hour_of_day_activity(df, tz)
    figure = {"data": [
        {"type": "bar", "name": "tweets", "x": list(range(24)), "y": hours["tweets"].to_numpy(),
         "marker": {"color": QUIET_BAR_COLOR}, "hovertemplate": "%{x} h: %{y} tweets<extra></extra>"},
        {"type": "scatter", "name": "% negative", "x": list(range(24)), "y": hours["negative_share"].to_numpy(),
         "yaxis": "y2", "mode": "lines", "line": {"color": BAR_COLOR, "width": 2},
         "hovertemplate": "%{x} h: %{y:.0f} % negative<extra></extra>"}],
        "layout": {"title": f"Activity by hour of day ({tz})",
                   "xaxis": {"dtick": 2, "title": {"text": "hour"}},
                   "yaxis": count_axis("tweets", _peak(hours["tweets"])),
                   "yaxis2": {"title": {"text": "% negative"}, "overlaying": "y", "side": "right",
                              "range": [0, 100], "tickmode": "linear", "tick0": 0, "dtick": 25,
                              "ticksuffix": " %", "showgrid": False},
                   "legend": {"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right"}, "showlegend": True}}
    return figure, [list(range(24))] * 2


def chart_authors(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    authors = analytics.top_authors(df, TOP_N)
    figure = {"data": [{"type": "bar", "orientation": "h", "y": [plain(f"@{a}") for a in authors["screen_name"]],
                        "x": authors["tweets"].to_numpy(), "marker": {"color": BAR_COLOR},
                        "customdata": [f"{n} negative, engagement {e}" for n, e in
                                       zip(authors["negative"], authors["engagement"], strict=True)],
                        "hovertemplate": "%{y}: %{x} tweets, %{customdata}<extra></extra>"}],
              "layout": {"title": f"Top {TOP_N} authors", "height": 360, "yaxis": {"autorange": "reversed"},
                         "xaxis": count_axis("tweets", _peak(authors["tweets"]))}}
    return figure, [authors["screen_name"].tolist()]


def chart_critical_tweets(df: pd.DataFrame, tz: str, full: pd.DataFrame | None = None
                          ) -> tuple[dict[str, Any], list[list[Any]]]:
    """``df`` may lack the texts (the view's slim selection): they are then read from ``full`` by position."""
    texts = None
    if "full_text" not in df and full is not None and "full_text" in full:
        column = full["full_text"]
        texts = lambda positions: column.take(df.index.take(positions)).tolist()  # noqa: E731
    top = analytics.top_critical_tweets(df, TOP_N, texts)
    if "full_text" in top:
        texts = top["full_text"].astype(str).tolist()
    else:
        ids = top["id"].astype(str).tolist()
        chosen = df.index[df["id"].isin(set(ids)).to_numpy(dtype=bool)].to_numpy()
        found = dict(zip(full["id"].take(chosen).astype(str), full["full_text"].take(chosen).astype(str),
                         strict=True)) if full is not None and "full_text" in full else {}
        texts = [found.get(i, "") for i in ids]
    authors = top["screen_name"].astype(str).tolist()
    labels = [plain(f"{i + 1}. @{a}: {short(text, 44)}") for i, (a, text) in
              enumerate(zip(authors, texts, strict=True))]
    hover = [str(fragment("@{{ author }} · {{ when }}<br>{{ text }}<br>engagement {{ engagement }}", author=a,
                          when=local_time(d, tz), text=short(text, 90), engagement=e))
             for a, d, text, e in zip(authors, top["created_at"], texts, top["engagement"], strict=True)]
    figure = {"data": [{"type": "bar", "orientation": "h", "y": labels, "x": top["engagement"].to_numpy(),
                        "marker": {"color": BAR_COLOR}, "customdata": hover,
                        "hovertemplate": "%{customdata}<extra></extra>"}],
              "layout": {"title": f"Top {TOP_N} critical tweets by engagement (negative and priority 2)",
                         "height": 380, "yaxis": {"autorange": "reversed"},
                         "xaxis": {"title": {"text": "engagement (likes + retweets + replies + quotes)"}}}}
    return figure, [top["id"].astype(str).tolist()]


#: Chart name → (builder, takes the time zone, spans both columns); in display order.
CHARTS: dict[str, tuple[Callable[..., tuple[dict[str, Any], list[list[Any]]]], bool, bool]] = {
    "timeline": (chart_timeline, True, True),
    "sentiment": (chart_sentiment, False, False),
    "priority": (chart_priority, False, False),
    "topics": (chart_topics, False, False),
    "topic_sentiment": (chart_topic_sentiment, False, False),
    "critical_topics": (chart_critical_topics, False, False),
    "engagement": (chart_engagement, False, False),
    "hours": (chart_hours, True, False),
    "authors": (chart_authors, False, False),
    "critical_tweets": (chart_critical_tweets, True, True),
}


# ---------------------------------------------------------------------------------------------------- view


@dataclass(frozen=True)
class DatasetChoice:
    uid: str
    label: str
    filename: str
    rows: int | None
    status: str


class AnalysisView(View):
    name = "analysis"
    title = "Analysis"

    def __init__(self, ctx: UIContext):
        super().__init__(ctx)
        from dallosh.ui.transfer import Downloader

        self.can_correct = self.can("manage_datasets")
        self.choices: dict[str, DatasetChoice] = {}
        #: uid → ((path, mtime, size, label), typed frame): a reprocessed file has a new key and is read again.
        self.cache: dict[str, tuple[tuple[Any, ...], pd.DataFrame]] = {}
        self.loaded: tuple[str, ...] = ()
        self.raw: pd.DataFrame | None = None  # the chosen datasets, as analysed
        self.frame: pd.DataFrame | None = None  # ... with the corrections applied
        self.filtered: pd.DataFrame | None = None
        self.rows: pd.DataFrame | None = None  # filtered, then narrowed by the drill: the table and exports
        self.order: np.ndarray | None = None
        self.drill: Drill | None = None
        self.sort = DEFAULT_SORT
        self.page = 0
        self.tz = "UTC"
        self.topics: list[str] = []
        self.history: list[dict[str, Any]] = []
        self.charts: dict[str, PlotlyChart] = {}
        #: The last figures before theming (a theme switch restyles them without recomputing).
        self.raw_figures: dict[str, dict[str, Any]] = {}
        self.timings: dict[str, float] = {}
        self._quiet = False
        self._pending: set[str] = set()
        self._generation = 0
        self._work = threading.Lock()
        self._state = threading.Lock()
        self._exporting = False
        #: (filename, bytes) of the last export handed to the browser (tests and benchmarks read it).
        self.last_export: tuple[str, bytes] | None = None
        self.page_rows: pd.DataFrame | None = None

        self.updated = html_widget("", "dl-muted")
        self.set_heading("Analysis", "KPIs, charts and tweets of analysed datasets. Click a chart to filter the "
                         "table.", self.updated)

        # -- datasets and filters
        self.dataset_select = w.SelectMultiple(options=[], rows=4, layout=w.Layout(width="100%"))
        self.dataset_select.add_class("dl-dataset-select")
        self.dataset_select.observe(self._on_datasets, "value")
        self.status = html_widget("", "dl-muted", "dl-analysis-status")
        self.labelling = html_widget("", "dl-muted", "dl-analysis-labelling")
        self.empty = html_widget(muted("No analysed dataset yet. Add a dataset and start its task; when the task is "
                                       "done, its tweets can be explored here."))
        set_visible(self.empty, False)
        self.date_from = w.DatePicker(description="From", layout=w.Layout(width="200px"))
        self.date_to = w.DatePicker(description="To", layout=w.Layout(width="184px"))
        self.topic = w.Dropdown(description="Topic", options=[("All topics", "")], layout=w.Layout(width="230px"))
        self.sentiment = w.Dropdown(description="Sentiment", options=[("All", ""), *[(s, s) for s in SENTIMENTS]],
                                    layout=w.Layout(width="210px"))
        self.priority = w.Dropdown(description="Priority", options=[("All", -1), *[
            (f"{p} · {PRIORITY_NAMES[p]}", p) for p in PRIORITIES]], layout=w.Layout(width="200px"))
        self.include_retweets = w.Checkbox(value=True, description="Include retweets", indent=False,
                                           layout=w.Layout(width="auto"))
        self.include_operator = w.Checkbox(value=False, description="Include the operator's own accounts",
                                           indent=False, layout=w.Layout(width="auto"))
        self.search = w.Text(placeholder="Search the tweets (case and accents ignored)", continuous_update=False,
                             layout=w.Layout(width="340px"))
        for control in (self.date_from, self.date_to, self.topic, self.sentiment, self.priority):
            control.style.description_width = "initial"
            control.add_class("dl-filter")
        for control in (self.date_from, self.date_to, self.topic, self.sentiment, self.priority,
                        self.include_retweets, self.include_operator, self.search):
            control.observe(self._on_filter, "value")
        self.reset_button = button("Reset filters", self.reset_filters, "dl-small")
        filters = box([
            box([self.date_from, self.date_to, self.topic, self.sentiment, self.priority], "dl-row", vertical=False),
            box([self.search, self.include_retweets, self.include_operator, self.reset_button], "dl-row",
                "dl-filter-row2", vertical=False, align_items="center"),
        ], "dl-col", "dl-filters")
        self.filters_card = box([
            card_title_widget("Datasets", "(Ctrl/⌘-click to combine several)"),
            self.dataset_select, self.empty, card_title_widget("Filters"), filters, self.status, self.labelling,
        ], "dl-card", "dl-analysis-filters")

        # -- KPIs and charts
        self.kpis = {key: KPI(label) for key, label in KPI_LABELS.items()}
        for key, card in self.kpis.items():
            card.add_class(f"dl-kpi-{key.replace('_', '-')}")
        self.kpi_row = box(self.kpis.values(), "dl-row", vertical=False)
        self.charts_box = w.GridBox([], layout=w.Layout(grid_template_columns="repeat(2, minmax(0, 1fr))",
                                                        grid_gap="14px", width="100%"))
        self.charts_box.add_class("dl-charts")

        # -- table
        self.drill_label = html_widget("", "dl-drill")
        self.clear_drill_button = button("Show all filtered rows", self.clear_drill, "dl-small")
        self.drill_bar = box([self.drill_label, self.clear_drill_button], "dl-row", "dl-drill-bar", vertical=False,
                             align_items="center")
        set_visible(self.drill_bar, False)
        self.grid = self._grid()
        self.prev_button = button("‹ Previous", lambda: self.go_to_page(self.page - 1), "dl-small")
        self.next_button = button("Next ›", lambda: self.go_to_page(self.page + 1), "dl-small")
        self.page_label = html_widget("", "dl-muted")
        self.csv_button = button("Export CSV", lambda: self.export("csv"), "dl-small",
                                 tooltip="Download the rows of the table (every column) as CSV")
        self.xlsx_button = button("Export XLSX", lambda: self.export("xlsx"), "dl-small",
                                  tooltip="Download the rows of the table (every column) as an Excel workbook")
        self.downloader = Downloader()
        self.table_card = box([
            box([card_title_widget("Tweets", "(click a row to correct it; headers sort every filtered row)"),
                 box([self.csv_button, self.xlsx_button], "dl-row", vertical=False)],
                "dl-row", vertical=False, justify_content="space-between", align_items="center"),
            self.drill_bar, self.grid,
            box([self.prev_button, self.page_label, self.next_button], "dl-row", vertical=False,
                align_items="center"),
            self.downloader,
        ], "dl-card", "dl-analysis-table")

        # -- corrections
        self.correct_id = w.Text(description="Tweet id", placeholder="Click a row or paste an id",
                                 continuous_update=False, layout=w.Layout(width="360px"))
        self.correct_id.observe(lambda _c: self.show_selected(), "value")
        self.correct_field = w.Dropdown(description="Field", options=[(v, k) for k, v in FIELD_LABELS.items()],
                                        layout=w.Layout(width="240px"))
        self.correct_field.observe(lambda _c: self._paint_values(), "value")
        self.correct_value = w.Dropdown(description="New value", options=[], layout=w.Layout(width="280px"))
        for control in (self.correct_id, self.correct_field, self.correct_value):
            control.style.description_width = "80px"
        self.save_button = button("Save correction", self.save_correction, style="primary",
                                  tooltip="Store the new label (who, when, old → new); every KPI reflects it")
        self.selected_info = html_widget("", "dl-muted", "dl-selected")
        self.history_html = html_widget("")
        self.corrections_button = button("Export corrections (labelled CSV)", self.export_corrections, "dl-small",
                                         tooltip="Every corrected tweet with its text, the model's labels and the "
                                                 "corrected ones")
        correct_form = box([
            box([self.correct_id, self.correct_field, self.correct_value, self.save_button], "dl-row",
                vertical=False, align_items="center"),
            self.selected_info,
        ], "dl-col")
        set_visible(correct_form, self.can_correct)
        intro = ("Fix a tweet's sentiment, priority or topic: corrections are kept with who and when, survive "
                 "reprocessing, and appear in every KPI, chart and export." if self.can_correct else
                 "Corrections made by the team (you can read them; correcting needs the manage datasets "
                 "permission).")
        self.corrections_card = box([
            box([card_title_widget("Label corrections"), self.corrections_button], "dl-row",
                vertical=False, justify_content="space-between", align_items="center"),
            html_widget(muted(intro)), correct_form, self.history_html,
        ], "dl-card", "dl-analysis-corrections")

        self.content = box([self.kpi_row, self.charts_box, self.table_card, self.corrections_card], "dl-col")
        set_visible(self.content, False)
        self.body.children = [self.filters_card, self.content]
        self._paint_values()
        self._paint_page()

    # -- widgets --------------------------------------------------------------------------------------------

    def _grid(self) -> w.Widget:
        from ipyaggrid import Grid

        def col(field: str, header: str, width: int, **extra: Any) -> dict[str, Any]:
            return {"field": field, "headerName": header, "width": width, "sortable": True, "resizable": True,
                    "comparator": KEEP_ORDER, **extra}

        defs = [
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
        options = {"columnDefs": defs, "rowHeight": ROW_HEIGHT, "headerHeight": 34, "rowSelection": "single",
                   "enableCellTextSelection": True, "tooltipShowDelay": 400, "suppressMovableColumns": True}
        grid = Grid(grid_data=table_page(self._empty_frame(), "UTC"), grid_options=options, theme="ag-theme-balham",
                    height=PAGE_SIZE * ROW_HEIGHT + 40, columns_fit="", quick_filter=False, export_mode="disabled",
                    index=False, sync_grid=False, js_post_grid=[GRID_JS],
                    license="community")  # "" would load (and watermark) the enterprise build
        grid.add_class("dl-grid")
        grid.add_class("dl-analysis-grid")
        grid.observe(self._on_grid_event, "user_params")
        return grid

    @staticmethod
    def _empty_frame() -> pd.DataFrame:
        return analytics.apply_corrections(analytics.load_analysed(pd.DataFrame({"id": pd.Series([], dtype="str")})),
                                           pd.DataFrame({"id": [], "field": [], "new_value": []}))

    def _build_charts(self) -> None:
        """The chart widgets (once, the first time the view is shown: a prefetched view sends none)."""
        if self.charts:
            return
        cards = []
        for name, (_build, _tz, wide) in CHARTS.items():
            chart = PlotlyChart(name, self._on_chart_click)
            card = box([chart], "dl-card", "dl-chart", f"dl-chart-{name}")
            if wide:
                card.add_class("dl-chart-wide")
            self.charts[name] = chart
            cards.append(card)
        self.charts_box.children = cards

    # -- life cycle -----------------------------------------------------------------------------------------

    def on_show(self, datasets: Sequence[str] | str | None = None, **params: Any) -> None:
        self.visible = True
        self._build_charts()
        self.refresh()
        if datasets:
            wanted = [datasets] if isinstance(datasets, str) else list(datasets)
            self.dataset_select.value = tuple(u for u in wanted if u in self.choices)
        elif not self.dataset_select.value and self.choices:
            self.dataset_select.value = (next(iter(self.choices)),)  # the newest analysed dataset

    def on_theme(self, theme: str) -> None:
        for chart in self.charts.values():
            if chart.figure:
                chart.spec = figure_json(themed(self.raw_figures.get(chart.name, {}), theme))

    def refresh(self) -> None:
        """Re-read the datasets that can be analysed and the settings the page depends on."""
        with self.guard(clear=False) as g:
            general = self.services.settings.general()
            page = self.services.files.list(self.actor, limit=LIST_LIMIT)
        if g.failed:
            return
        self.tz, self.topics = general.timeZone, list(general.topics)
        items = [i for i in page.items if i["available"].get(ANALYSED)]
        names = [i["file"].data.filename for i in items]
        choices = {}
        for item in items:
            file = item["file"]
            label = file.data.filename if names.count(file.data.filename) == 1 else \
                f"{file.data.filename} ({file.uid[:6]})"
            choices[file.uid] = DatasetChoice(file.uid, label, file.data.filename, file.data.rows, item["status"])
        self.choices = choices
        options = [(self._option_label(c), c.uid) for c in choices.values()]
        if options != list(self.dataset_select.options):
            self._quiet = True
            try:
                kept = tuple(u for u in self.dataset_select.value if u in choices)
                self.dataset_select.options = options
                self.dataset_select.value = kept
            finally:
                self._quiet = False
            self.dataset_select.rows = max(2, min(6, len(options)))
        set_visible(self.empty, not choices)
        set_visible(self.dataset_select, bool(choices))
        self._paint_values()
        if self.loaded and set(self.loaded) != set(self.dataset_select.value):
            self.request("load")

    def _option_label(self, choice: DatasetChoice) -> str:
        rows = f" · {human_int(choice.rows)} rows" if choice.rows is not None else ""
        state = "" if choice.status == "done" else f" · {choice.status.replace('_', ' ')}"
        return f"{choice.label}{rows}{state}"

    def close(self) -> None:
        self.downloader.close()
        super().close()

    # -- requests: one worker, the latest request wins -------------------------------------------------------

    def request(self, *parts: str) -> None:
        """Recompute ``parts`` (load, corrections, compute, table) off the message loop.

        Parts accumulate until a run takes them, so a request superseded by a newer one is never lost: the
        newer run does both.
        """
        with self._state:
            self._pending.update(parts)
            self._generation += 1
            generation = self._generation
        if "load" in parts:
            self.status.value = "Loading the analysed datasets…"
        self.ctx.background(self._run, generation)

    def _run(self, generation: int) -> None:
        with self._work:
            with self._state:
                if generation != self._generation:
                    return  # a newer request is queued behind this one and will do the work
                todo, self._pending = self._pending, set()
            started = time.perf_counter()
            with self.guard(clear=False) as g:
                if "load" in todo:
                    self._load()
                    todo |= {"corrections"}
                if "corrections" in todo:
                    self._apply_corrections()
                    self.show_selected()
                    todo |= {"compute"}
                if "compute" in todo:
                    self._compute()
                    todo |= {"table"}
                if "table" in todo:
                    self._narrow()
                    self.render_table()
            if g.failed:
                self.status.value = ""
                return
            self.timings["last_update_s"] = time.perf_counter() - started
            self._paint_status()

    # -- loading --------------------------------------------------------------------------------------------

    def selected(self) -> tuple[str, ...]:
        return tuple(self.dataset_select.value)

    def _read(self, uid: str) -> pd.DataFrame:
        choice = self.choices[uid]
        if hasattr(self.services.files, "frame"):
            # The API client: the typed frame as Arrow, cached on both sides until the file changes (no CSV parse).
            return self.services.files.frame(self.actor, uid, ANALYSED, typed=True, dataset_name=choice.label)
        path = self.services.files.path(self.actor, uid, ANALYSED)
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size, choice.label)
        cached = self.cache.get(uid)
        if cached is not None and cached[0] == key:
            return cached[1]
        frame = analytics.load_analysed(Path(path), dataset_names=[choice.label])
        self.cache[uid] = (key, frame)
        return frame

    def _load(self) -> None:
        started = time.perf_counter()
        uids = tuple(u for u in self.selected() if u in self.choices)
        frames = [self._read(uid) for uid in uids]
        # Keep only what is shown: a 1M-row dataset holds ~0.5 GB.
        self.cache = {uid: entry for uid, entry in self.cache.items() if uid in uids}
        if not frames:
            raw = None
        elif len(frames) == 1:
            raw = frames[0]
        else:
            raw = analytics.load_analysed(frames)  # each keeps its own ``dataset`` label
        self.raw, self.loaded = raw, uids
        self.grid.user_params = {**(self.grid.user_params or {}), "show_dataset": len(uids) > 1}
        self.drill, self.page = None, 0
        set_visible(self.drill_bar, False)
        self._paint_topics()
        self._paint_labelling(uids)
        if raw is not None and len(raw) >= BIG_FRAME_ROWS:
            release_memory()
        self.timings["load_s"] = time.perf_counter() - started

    def _paint_labelling(self, uids: tuple[str, ...]) -> None:
        """Which model labelled how many of the loaded tweets, and why a fallback happened (if one did)."""
        if self.raw is None or "labelled_by" not in self.raw:
            self.labelling.value = ""
            return
        counts = self.raw["labelled_by"].astype("str").value_counts().to_dict()
        fallbacks = []
        for uid in uids:
            try:
                fallbacks += self.services.tasks.labelling(self.actor, file_id=uid)["fallbacks"]
            except DalloshError:
                continue  # no task (an old dataset) or no right to read it: the counts still say who labelled
        self.labelling.value = labelling_html(counts, fallbacks, unit="tweets")

    def _apply_corrections(self) -> None:
        if self.raw is None:
            self.frame, self.history = None, []
            self._paint_history()
            return
        self.history = self.services.corrections.history(self.actor, list(self.loaded))
        effective = self.services.corrections.effective(self.actor, list(self.loaded))
        self.frame = analytics.apply_corrections(self.raw, effective)
        self._paint_history()

    # -- filters and drill ----------------------------------------------------------------------------------

    def filters(self) -> analytics.Filters:
        return analytics.Filters(
            date_from=self.date_from.value, date_to=self.date_to.value,
            topics=[self.topic.value] if self.topic.value else None,
            sentiments=[self.sentiment.value] if self.sentiment.value else None,
            priorities=[self.priority.value] if self.priority.value != -1 else None,
            include_retweets=self.include_retweets.value, include_operator=self.include_operator.value,
            search=self.search.value, tz=self.tz)

    def _on_filter(self, _change: Any = None) -> None:
        if self._quiet:
            return
        self.page = 0
        self.request("compute")

    def reset_filters(self) -> None:
        self._quiet = True
        try:
            self.date_from.value = self.date_to.value = None
            self.topic.value, self.sentiment.value, self.priority.value = "", "", -1
            self.include_retweets.value, self.include_operator.value = True, False
            self.search.value = ""
        finally:
            self._quiet = False
        self.drill = None
        self._on_filter()

    def _on_datasets(self, _change: Any) -> None:
        if not self._quiet:
            self.request("load")

    def set_drill(self, drill: Drill | None) -> None:
        """Narrow the table (and exports) to a chart segment; None shows every filtered row again."""
        self.drill, self.page = drill, 0
        self.request("table")

    def clear_drill(self) -> None:
        self.set_drill(None)

    def _on_chart_click(self, name: str, trace: int, point: int) -> None:
        """A click on point ``point`` of trace ``trace`` of chart ``name``: narrow the table to that segment."""
        chart = self.charts[name]
        keys = chart.point_keys[trace] if 0 <= trace < len(chart.point_keys) else []
        if not 0 <= point < len(keys):
            return
        key = keys[point]
        if name == "timeline":
            self.set_drill(Drill("day", key, f"Day = {pd.Timestamp(key):%Y-%m-%d}"))
        elif name in ("sentiment", "engagement"):
            self.set_drill(Drill("sentiment", key, f"Sentiment = {key}"))
        elif name == "priority":
            self.set_drill(Drill("priority", key, f"Priority = {key} · {PRIORITY_NAMES[key]}"))
        elif name == "topics":
            self.set_drill(Drill("topic", key, f"Topic = {key}"))
        elif name == "topic_sentiment":
            self.set_drill(Drill("topic_sentiment", (key, SENTIMENTS[trace]),
                                 f"Topic = {key} and sentiment = {SENTIMENTS[trace]}"))
        elif name == "critical_topics":
            self.set_drill(Drill("critical_topic", key, f"Critical tweets (negative, priority 2) about {key}"))
        elif name == "hours":
            self.set_drill(Drill("hour", key, f"Hour of day = {key} h ({self.tz})"))
        elif name == "authors":
            self.set_drill(Drill("author", key, f"Author = @{key}"))
        elif name == "critical_tweets":
            self.set_drill(Drill("ids", (key,), f"Tweet {key}"))

    # -- compute --------------------------------------------------------------------------------------------

    def _compute(self) -> None:
        started = time.perf_counter()
        if self.frame is None:
            self.filtered = None
            set_visible(self.content, False)
            return
        frame = self.frame
        chosen = analytics.apply_filters(frame[[c for c in FILTER_COLUMNS if c in frame]], self.filters())
        filtered = frame[[c for c in SELECTION_COLUMNS if c in frame]].take(chosen.index.to_numpy())
        del chosen
        self.filtered = filtered
        self.timings["filter_s"] = time.perf_counter() - started
        # The operator is the cleaning's ``is_operator`` flag, as for the "include the operator" filter (matching
        # 300k screen names against the settings' accounts on every click cost 0.6 s on 1M rows).
        k = analytics.kpis(filtered, replies_from=self.frame)
        for key, (value, sub) in format_kpis(k, len(self.frame)).items():
            self.kpis[key].set(value, sub)
        self.timings["kpis_s"] = time.perf_counter() - started - self.timings["filter_s"]
        self._paint_charts(filtered)
        set_visible(self.content, True)
        self.timings["compute_s"] = time.perf_counter() - started

    def _paint_charts(self, df: pd.DataFrame) -> None:
        if not self.charts:
            return
        for name, (build, with_tz, _wide) in CHARTS.items():
            if name == "critical_tweets":
                figure, keys = build(df, self.tz, self.frame)
            else:
                figure, keys = build(df, self.tz) if with_tz else build(df)
            self.raw_figures[name] = figure
            self.charts[name].show(themed(figure, self.ctx.theme), keys)

    # -- table ----------------------------------------------------------------------------------------------

    def _narrow(self) -> None:
        """The table's rows (filtered, then the drill) in the chosen order."""
        if self.filtered is None:
            self.rows, self.order = None, None
            return
        rows = self.filtered
        if self.drill is not None:
            rows = rows.take(np.flatnonzero(drill_mask(rows, self.drill, self.tz)))
        self.rows = rows
        column, ascending = self.sort
        key = SORT_COLUMNS[column]
        source = rows if key in rows else self.frame[[key]].take(rows.index.to_numpy())
        self.order = sort_order(source, key, ascending)
        # The label first: the bar must never show up empty (a reader, or a test, reads it as soon as it shows).
        self.drill_label.value = (macro("chip", f"Table filtered by: {self.drill.label}", "drill") if self.drill
                                  else "")
        set_visible(self.drill_bar, self.drill is not None)

    def render_table(self) -> None:
        if self.rows is None or self.order is None:
            self.grid.update_grid_data(table_page(self._empty_frame(), self.tz))
            self._paint_page()
            return
        pages = max(1, -(-len(self.rows) // PAGE_SIZE))
        self.page = min(max(0, self.page), pages - 1)
        positions = self.order[self.page * PAGE_SIZE:(self.page + 1) * PAGE_SIZE]
        self.page_rows = self.frame.take(self.rows.index.to_numpy()[positions])  # every column, for this page
        self.grid.update_grid_data(table_page(self.page_rows, self.tz))
        self._paint_page()

    def _paint_page(self) -> None:
        total = 0 if self.rows is None else len(self.rows)
        first = self.page * PAGE_SIZE + 1 if total else 0
        last = min(total, (self.page + 1) * PAGE_SIZE)
        self.page_label.value = f"{human_int(first)}–{human_int(last)} of {human_int(total)} tweets"
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = last >= total
        self.csv_button.disabled = self.xlsx_button.disabled = not total or self._exporting

    def go_to_page(self, page: int) -> None:
        self.page = max(0, page)
        self.render_table()

    def _on_grid_event(self, change: dict[str, Any]) -> None:
        new, old = change["new"] or {}, change["old"] or {}
        if new.get("sort") != old.get("sort"):
            sort = new.get("sort")
            self.sort = (sort[0], sort[1] == "asc") if sort and sort[0] in SORT_COLUMNS else DEFAULT_SORT
            self.page = 0
            self.request("table")
        if new.get("selected") and new.get("selected") != old.get("selected"):
            self.correct_id.value = str(new["selected"])

    # -- status ---------------------------------------------------------------------------------------------

    def _paint_status(self) -> None:
        if self.frame is None:
            self.status.value = "Choose one or several datasets." if self.choices else ""
            return
        labels = [self.choices[u].label for u in self.loaded if u in self.choices]
        shown = len(self.filtered) if self.filtered is not None else 0
        self.status.value = fragment(
            "{{ datasets }} · {{ loaded }} tweets loaded · <b>{{ shown }}</b> match the filters · times in {{ tz }}",
            datasets=", ".join(labels), loaded=human_int(len(self.frame)), shown=human_int(shown), tz=self.tz)
        self.updated.value = updated_now()

    def _paint_topics(self) -> None:
        present = [] if self.raw is None else [str(t) for t in self.raw["main_topic"].cat.categories]
        topics = list(dict.fromkeys([*self.topics, *present]))
        options = [("All topics", ""), *[(t, t) for t in topics]]
        if options != list(self.topic.options):
            self._quiet = True
            try:
                current = self.topic.value
                self.topic.options = options
                self.topic.value = current if current in topics else ""
            finally:
                self._quiet = False
        self._paint_values()

    # -- corrections ----------------------------------------------------------------------------------------

    def _paint_values(self) -> None:
        field = self.correct_field.value
        if field == "sentiment":
            options = [(s, s) for s in SENTIMENTS]
        elif field == "priority":
            options = [(f"{p} · {PRIORITY_NAMES[p]}", p) for p in PRIORITIES]
        else:
            options = [(t, t) for t in self.topics]
        if options != list(self.correct_value.options):
            self.correct_value.options = options
        if options and self.correct_value.value not in [v for _, v in options]:
            self.correct_value.value = options[0][1]

    def tweet_rows(self, tweet_id: str) -> pd.DataFrame:
        if self.frame is None or not tweet_id:
            return pd.DataFrame()
        return self.frame[self.frame["id"] == tweet_id]

    def show_selected(self) -> None:
        """Describe the tweet whose id is in the form (its current labels, and whether they were corrected)."""
        tweet_id = self.correct_id.value.strip()
        rows = self.tweet_rows(tweet_id)
        if not tweet_id:
            self.selected_info.value = ""
            return
        if rows.empty:
            self.selected_info.value = f"No tweet with id {tweet_id} in the chosen datasets."
            return
        row = rows.iloc[0]
        self.selected_info.value = render(
            "analysis_selected.html", author=row["screen_name"], text=short(row["full_text"], 140),
            sentiment=row["sentiment"], priority=int(row["priority"]), topic=row["main_topic"],
            corrected=bool(row.get("corrected", False)))
        current = row[self.correct_field.value]
        values = [v for _, v in self.correct_value.options]
        if self.correct_field.value == "priority":
            current = int(current)
        if current in values:
            self.correct_value.value = current

    def save_correction(self) -> None:
        """Store the correction for every chosen dataset holding the tweet, then refresh every number."""
        with self.guard() as g:
            tweet_id, field, value = self.correct_id.value.strip(), self.correct_field.value, self.correct_value.value
            if not tweet_id:
                raise ValidationError("tweet_id", "is required: click a row of the table or paste a tweet id")
            rows = self.tweet_rows(tweet_id)
            if rows.empty:
                raise ValidationError("tweet_id", f"{tweet_id} is not a tweet of the chosen datasets")
            if value is None:
                raise ValidationError("new_value", "is required: choose it in the list")
            label_to_uid = {self.choices[u].label: u for u in self.loaded if u in self.choices}
            old = rows.iloc[0][field]
            old = int(old) if field == "priority" else (None if old != old else str(old))
            if old == value:
                self.alert.info(f"Tweet {tweet_id} already has {FIELD_LABELS[field].lower()} {value}.")
                return
            for label in dict.fromkeys(rows["dataset"].astype(str)):
                self.services.corrections.correct(self.actor, label_to_uid[label], tweet_id, field, value,
                                                  old_value=old)
        if g.failed:
            return
        self.alert.success(f"Tweet {tweet_id}: {FIELD_LABELS[field].lower()} {old} → {value}. Every KPI, chart "
                           "and export now includes the correction.")
        self.request("corrections")

    def _paint_history(self) -> None:
        labels = {u: c.label for u, c in self.choices.items()}
        rows = [(local_time(item["when"], self.tz), item["by"], labels.get(item["file_id"], item["file_id"]),
                 item["tweet_id"], FIELD_LABELS.get(item["field"], item["field"]),
                 "–" if item["old_value"] is None else item["old_value"], item["new_value"])
                for item in reversed(self.history[-HISTORY_SHOWN:])]
        self.history_html.value = render("analysis_history.html", rows=rows, total=len(self.history),
                                         more=len(self.history) - HISTORY_SHOWN)

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

