"""Analysis: KPIs, charts and tweets of one or several analysed datasets, with label corrections.

Flow: the datasets chosen are read once each (``analytics.load_analysed``; cached per dataset until its analysed
CSV changes, so a reprocessed file is read again), combined, and the stored corrections are applied on top
(``services.corrections.effective`` + ``analytics.apply_corrections``) — so every KPI, chart, table row and
export reflects them, whatever happened to the file. The filter bar (``analytics.Filters``) drives everything on
the page; clicking a chart segment adds a cross-filter chip (``crossfilter``) that narrows every KPI, chart,
the table and the exports. With a date range, every KPI is compared with the previous period of the same
length. The datasets, filters and chips live in the address's fragment (``state``): a reload restores them and
a shared link opens the same view for a colleague (with the datasets they may read).

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

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from dallosh import analytics
from dallosh.analytics import periods, terms
from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.errors import DalloshError
from dallosh.storage import ANALYSED
from dallosh.ui.analysis.address import AddressPart
from dallosh.ui.analysis.charts import CHARTS, themed
from dallosh.ui.analysis.chips import ChipsPart
from dallosh.ui.analysis.corrections import CorrectionsPart
from dallosh.ui.analysis.crossfilter import Drill, cross_mask
from dallosh.ui.analysis.exports import ExportsPart
from dallosh.ui.analysis.filter_bar import FiltersPart
from dallosh.ui.analysis.kpis import KPI_LABELS, change_line, format_kpis
from dallosh.ui.analysis.plotly_chart import PlotlyChart, figure_json
from dallosh.ui.analysis.rows import TablePart
from dallosh.ui.analysis.state import ViewState
from dallosh.ui.analysis.table import (
    DEFAULT_SORT,
    PRIORITY_NAMES,
    build_grid,
    table_page,
)
from dallosh.ui.analysis.terms_card import TermsCard
from dallosh.ui.base import UIContext, View
from dallosh.ui.components import (
    KPI,
    box,
    button,
    card_title_widget,
    html_widget,
    human_int,
    is_visible,
    muted,
    set_visible,
    updated_now,
)
from dallosh.ui.glossary import kpi_help
from dallosh.ui.html import fragment, render
from dallosh.ui.labelling import labelling_html

log = logging.getLogger(__name__)

#: Datasets listed in the picker (newest first); older ones are reached by the datasets page's search.
LIST_LIMIT = 200
#: Frames at least this long give the heap they needed for parsing back to the OS after loading.
BIG_FRAME_ROWS = 200_000
#: Table columns the analyst may hide (the tweet's text always shows).
CHOOSABLE_COLUMNS = {"date": "Date", "author": "Author", "sentiment": "Sentiment", "priority": "Priority",
                     "topic": "Topic", "engagement": "Engagement", "corrected": "Corrected", "dataset": "Dataset",
                     "model": "Labelled by", "id": "Tweet id"}
PERIOD_OPTIONS = [("All dates", ""), *[(f"{label} of data", key) for key, label in periods.PRESETS.items()],
                  ("Chosen dates", "custom")]
#: What filtering reads, and what the KPIs, charts, drill and sorts read: the filtered selection keeps only the
#: latter (with the loaded frame's positions as index). Long texts and urls stay in the loaded frame and are
#: fetched for the table page and the exports: on 1M rows the selection is ~0.15 GB instead of ~0.6 GB.
FILTER_COLUMNS = ("id", "created_at", "full_text", "main_topic", "sentiment", "priority", "is_retweet", "is_operator")
SELECTION_COLUMNS = ("id", "created_at", "screen_name", "name", "in_reply_to", "sentiment", "priority",
                     "main_topic", "engagement", "is_retweet", "is_operator", "corrected", "dataset")


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


@dataclass(frozen=True)
class DatasetChoice:
    uid: str
    label: str
    filename: str
    rows: int | None
    status: str


class AnalysisView(FiltersPart, TablePart, ChipsPart, CorrectionsPart, AddressPart, ExportsPart, View):
    name = "analysis"
    title = "Analysis"

    def __init__(self, ctx: UIContext):
        super().__init__(ctx)
        from dallosh.ui.transfer import Downloader

        self.can_correct = self.can("manage_datasets")
        self.choices: dict[str, DatasetChoice] = {}
        #: Datasets a link named that the picker's list (the newest ``LIST_LIMIT``) does not hold, looked up one
        #: by one with this user's permissions (``resolve_unlisted``); listed after the others.
        self.unlisted: dict[str, DatasetChoice] = {}
        #: uid → ((path, mtime, size, label), typed frame): a reprocessed file has a new key and is read again.
        self.cache: dict[str, tuple[tuple[Any, ...], pd.DataFrame]] = {}
        self.loaded: tuple[str, ...] = ()
        self.raw: pd.DataFrame | None = None  # the chosen datasets, as analysed
        self.frame: pd.DataFrame | None = None  # ... with the corrections applied
        self.filtered: pd.DataFrame | None = None
        self.rows: pd.DataFrame | None = None  # filtered and cross-filtered: the table and exports
        self.order: np.ndarray | None = None
        #: Chart clicks in force (chips): every number on the page is narrowed to them.
        self.drills: tuple[Drill, ...] = ()
        #: A state from the address (a shared link) waiting for its datasets to be loaded.
        self._wanted: ViewState | None = None
        #: Tweet ids ticked in the table (for a bulk correction), and the tweet open in the side panel.
        self.checked: list[str] = []
        self.term_index: Any = None
        #: The previous period's KPIs of the last compute (None without a date range), for the cards.
        self.changes: dict[str, Any] | None = None
        #: What a bar of the timeline stands for (day, week…: chosen from the range shown).
        self.timeline_grain = "day"
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
        self.share_button = button("Share this view", self.share, "dl-small", "dl-share-button",
                                   tooltip="A link opening this view, its datasets and filters, for a colleague")
        self.set_heading("Analysis", "KPIs, charts and tweets of analysed datasets. Click a chart segment to filter "
                         "every number by it.", box([self.updated, self.share_button], "dl-row", vertical=False,
                                                     align_items="center"))

        # -- datasets and filters
        self.dataset_select = w.SelectMultiple(options=[], rows=4, layout=w.Layout(width="100%"))
        self.dataset_select.add_class("dl-dataset-select")
        self.dataset_select.observe(self._on_datasets, "value")
        self.status = html_widget("", "dl-muted", "dl-analysis-status")
        self.labelling = html_widget("", "dl-muted", "dl-analysis-labelling")
        self.empty = html_widget(muted("No analysed dataset yet. Add a dataset and start its task; when the task is "
                                       "done, its tweets can be explored here."))
        set_visible(self.empty, False)
        self.period = w.Dropdown(description="Period", options=PERIOD_OPTIONS, layout=w.Layout(width="250px"),
                                 tooltip="Presets end on the last day of the loaded tweets")
        self.period.observe(self._on_period, "value")
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
        for control in (self.period, self.date_from, self.date_to, self.topic, self.sentiment, self.priority):
            control.style.description_width = "initial"
            control.add_class("dl-filter")
        for control in (self.date_from, self.date_to):
            control.observe(self._on_dates, "value")
        for control in (self.topic, self.sentiment, self.priority, self.include_retweets, self.include_operator,
                        self.search):
            control.observe(self._on_filter, "value")
        self.reset_button = button("Reset filters", self.reset_filters, "dl-small")
        filters = box([
            box([self.period, self.date_from, self.date_to, self.topic, self.sentiment, self.priority], "dl-row",
                vertical=False),
            box([self.search, self.include_retweets, self.include_operator, self.reset_button], "dl-row",
                "dl-filter-row2", vertical=False, align_items="center"),
        ], "dl-col", "dl-filters")
        self.filters_card = box([
            card_title_widget("Datasets", "(Ctrl/⌘-click to combine several)"),
            self.dataset_select, self.empty, card_title_widget("Filters"), filters, self.status, self.labelling,
        ], "dl-card", "dl-analysis-filters")

        # -- cross-filter chips, KPIs and charts
        self.chips = box([], "dl-row", "dl-chips", vertical=False, align_items="center")
        set_visible(self.chips, False)
        self.kpis = {key: KPI(label, help=kpi_help(key)) for key, label in KPI_LABELS.items()}
        for key, card in self.kpis.items():
            card.add_class(f"dl-kpi-{key.replace('_', '-')}")
        self.kpi_row = box(self.kpis.values(), "dl-row", vertical=False)
        self.glossary_button = button("How are these numbers computed?", self.toggle_glossary, "dl-small",
                                      "dl-glossary-button")
        self.glossary = html_widget(render("analysis_glossary.html", entries=[
            (label, kpi_help(key)) for key, label in KPI_LABELS.items()]), "dl-card", "dl-glossary")
        set_visible(self.glossary, False)
        self.spike_html = html_widget("", "dl-spike-details")
        self.spike_card = box([self.spike_html, button("Close", lambda: set_visible(self.spike_card, False),
                                                       "dl-small")], "dl-card", "dl-spike")
        set_visible(self.spike_card, False)
        self.charts_box = w.GridBox([], layout=w.Layout(grid_template_columns="repeat(2, minmax(0, 1fr))",
                                                        grid_gap="14px", width="100%"))
        self.charts_box.add_class("dl-charts")
        self.terms = TermsCard(self.add_term)

        # -- table
        self.grid = build_grid(table_page(self._empty_frame(), "UTC"), self._on_grid_event)
        self.hidden_columns: list[str] = []
        self.columns_button = button("Columns ▾", self.toggle_columns, "dl-small", "dl-columns-button",
                                     tooltip="Choose the table's columns")
        self.column_checks = {key: w.Checkbox(value=True, description=label, indent=False,
                                              layout=w.Layout(width="auto"))
                              for key, label in CHOOSABLE_COLUMNS.items()}
        for check in self.column_checks.values():
            check.observe(lambda _c: self._on_columns(), "value")
        self.columns_box = box(list(self.column_checks.values()), "dl-row", "dl-columns", vertical=False)
        set_visible(self.columns_box, False)
        self.prev_button = button("‹ Previous", lambda: self.go_to_page(self.page - 1), "dl-small")
        self.next_button = button("Next ›", lambda: self.go_to_page(self.page + 1), "dl-small")
        self.page_label = html_widget("", "dl-muted")
        self.csv_button = button("Export CSV", lambda: self.export("csv"), "dl-small",
                                 tooltip="Download the rows of the table (every column) as CSV")
        self.xlsx_button = button("Export XLSX", lambda: self.export("xlsx"), "dl-small",
                                  tooltip="Download the rows of the table (every column) as an Excel workbook")
        self.downloader = Downloader()

        self._build_corrections()
        self.table_card = box([
            box([card_title_widget("Tweets", "(click a row to read it; tick rows to correct several; headers sort "
                                             "every filtered row)"),
                 box([self.columns_button, self.csv_button, self.xlsx_button], "dl-row", vertical=False)],
                "dl-row", vertical=False, justify_content="space-between", align_items="center"),
            self.columns_box, self.bulk_bar, self.grid,
            box([self.prev_button, self.page_label, self.next_button], "dl-row", vertical=False,
                align_items="center"),
            self.downloader,
        ], "dl-card", "dl-analysis-table")

        self.content = box([self.chips, self.kpi_row, self.glossary_button, self.glossary, self.spike_card,
                            self.charts_box,
                            self.terms, self.table_card, self.corrections_card], "dl-col")
        set_visible(self.content, False)
        self.body.children = [self.filters_card, self.content, self.panel]
        self._paint_values()
        self._paint_page()

    # -- widgets --------------------------------------------------------------------------------------------

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

    def on_show(self, datasets: Sequence[str] | str | None = None, deferred: bool = False, **params: Any) -> None:
        """``deferred``: the page has not opened yet (a preheated kernel): the default dataset waits for
        ``on_page_open``, since the page's address may name others."""
        self.visible = True
        self._build_charts()
        self.refresh()
        if self.loaded and not datasets:
            self._publish_state()  # coming back: the address shows this view's state again
        if datasets:
            wanted = [datasets] if isinstance(datasets, str) else list(datasets)
            self.dataset_select.value = tuple(u for u in wanted if u in self.choices)
        elif not deferred:
            self._choose_default()
        else:
            self.ctx.background(self._warm_up)

    def _choose_default(self) -> None:
        if not self.dataset_select.value and self.choices:
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
        for uid, choice in self.unlisted.items():
            choices.setdefault(uid, choice)
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

    @property
    def busy(self) -> bool:
        """Datasets being read or the page being recomputed (the App builds its other views after)."""
        return bool(self._pending) or self._work.locked()

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
                if self.term_index is None and self.filtered is not None:
                    self._ensure_terms()  # "What customers say" fills in last
                    self.terms.show(self.term_index, self.filtered, self.drills, self.frame)
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
        frame = analytics.load_analysed(Path(path), dataset_names=[choice.label], keep_typed_copy=True)
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
        self.page = 0
        self.term_index = None  # built after the first paint (``_ensure_terms``): ~3 s on 1M rows
        self._paint_topics()
        wanted = self._wanted
        if wanted is not None and set(wanted.datasets) <= set(uids):
            self._wanted = None
            self._show_state(wanted)
        else:
            self.drills = ()  # chips name segments of the datasets they were made on
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

    # -- datasets and spikes ---------------------------------------------------------------------------------

    def _on_datasets(self, _change: Any) -> None:
        if not self._quiet:
            self.request("load")

    def explain_spike(self, start: Any, chip_kind: str) -> None:
        """"Why this spike?" for a spike bar of the timeline (computed off the message loop)."""
        self.spike_html.value = "Looking for what rose in this period…"
        set_visible(self.spike_card, True)
        self.ctx.background(self._explain_spike, start, chip_kind)

    def _explain_spike(self, start: Any, chip_kind: str) -> None:
        from dallosh.reports import layout

        with self.guard(clear=False) as g:
            grain = "hour" if chip_kind == "at_hour" else chip_kind
            others = tuple(d for d in self.drills if d.kind not in ("at_hour", "day", "week", "month"))
            rows = self._select(self.filters(), others).index.to_numpy()
            explanation = analytics.explain_spike(self.frame.take(rows).reset_index(drop=True), self.tz, start,
                                                  grain)
            self.spike_html.value = render(
                "analysis_spike.html", title=layout.spike_title(explanation),
                summary=layout.spike_summary(explanation), tables=layout.rise_tables(explanation),
                tweets=[{"text": t.get("full_text", ""), "line": layout.tweet_line(t, self.tz)}
                        for t in explanation.tweets])
        if g.failed:
            set_visible(self.spike_card, False)

    def toggle_glossary(self) -> None:
        set_visible(self.glossary, not is_visible(self.glossary))

    def toggle_columns(self) -> None:
        set_visible(self.columns_box, not is_visible(self.columns_box))

    def _on_columns(self) -> None:
        self.hidden_columns = [key for key, check in self.column_checks.items() if not check.value]
        self.grid.user_params = {**(self.grid.user_params or {}), "hidden": self.hidden_columns}

    # -- compute --------------------------------------------------------------------------------------------

    def _select(self, filters: analytics.Filters, drills: tuple[Drill, ...]) -> pd.DataFrame:
        """The slim selection of the loaded rows matching ``filters`` and every kind of chip in ``drills``."""
        frame = self.frame
        chosen = analytics.apply_filters(frame[[c for c in FILTER_COLUMNS if c in frame]], filters)
        selection = frame[[c for c in SELECTION_COLUMNS if c in frame]].take(chosen.index.to_numpy())
        del chosen
        mask = cross_mask(selection, drills, self.tz, self._term_rows)
        return selection if mask is None else selection.take(np.flatnonzero(mask))

    def _compute(self) -> None:
        started = time.perf_counter()
        if self.frame is None:
            self.filtered = None
            set_visible(self.content, False)
            return
        filters = self.filters()
        filtered = self._select(filters, self.drills)
        self.filtered = filtered
        self.timings["filter_s"] = time.perf_counter() - started
        # The operator is the cleaning's ``is_operator`` flag, as for the "include the operator" filter (matching
        # 300k screen names against the settings' accounts on every click cost 0.6 s on 1M rows).
        k = analytics.kpis(filtered, replies_from=self.frame)
        self.changes, period = self._previous_period(filters, k)
        for key, (value, sub) in format_kpis(k, len(self.frame)).items():
            change = None if self.changes is None else change_line(key, self.changes.get(key), period)
            self.kpis[key].set(value, sub, change)
        self.timings["kpis_s"] = time.perf_counter() - started - self.timings["filter_s"]
        set_visible(self.content, True)  # the numbers show now; the charts fill in as they arrive
        self._paint_chips()
        self._paint_charts(filtered)
        self.timings["compute_s"] = time.perf_counter() - started

    def _previous_period(self, filters: analytics.Filters, current: dict[str, Any]
                         ) -> tuple[dict[str, Any] | None, str]:
        """With a date range, the KPIs' changes against the period of the same length just before it."""
        if self.date_from.value is None or self.date_to.value is None:
            return None, ""
        start, end = periods.previous_range(self.date_from.value, self.date_to.value)
        days = (self.date_to.value - self.date_from.value).days + 1
        # Chips on a day, week or month name the current period: the previous one is compared without them.
        kept = tuple(d for d in self.drills if d.kind not in ("at_hour", "day", "week", "month"))
        previous = self._select(periods.with_dates(filters, start, end), kept)
        changes = periods.kpi_changes(current, analytics.kpis(previous, replies_from=self.frame))
        return changes, f"the previous {days} day{'s' if days > 1 else ''}"

    def _paint_charts(self, df: pd.DataFrame) -> None:
        if not self.charts:
            return
        for name, (build, with_tz, _wide) in CHARTS.items():
            if name == "critical_tweets":
                figure, keys = build(df, self.tz, self.frame)
            else:
                figure, keys = build(df, self.tz) if with_tz else build(df)
            if name == "timeline":
                self.timeline_grain = figure["layout"].get("meta", {}).get("grain", "day")
            self.raw_figures[name] = figure
            self.charts[name].show(themed(figure, self.ctx.theme), keys)
        if self.term_index is not None:
            self.terms.show(self.term_index, df, self.drills, self.frame)

    def _ensure_terms(self) -> Any:
        """The loaded tweets' term index, built once per load (a term chip needs it at once; otherwise it is
        built after KPIs, charts and table are on the page)."""
        if self.term_index is None and self.raw is not None:
            started = time.perf_counter()
            self.term_index = terms.build_term_index(self.raw["full_text"])
            self.timings["terms_s"] = time.perf_counter() - started
        return self.term_index

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
        self._publish_state()
