"""The Analysis view in the address: a reload restores it, and "Share this view" gives a link that opens it
for a colleague (``state`` encodes it; the datasets are checked against what the reader may see, including
those older than the picker's list). A page prepared by a preheated kernel learns its address only when it opens
(``on_page_open``); until then it warms its computations up out of sight (``_warm_up``).

A part of ``AnalysisView`` (a mixin: it reads and sets the view's filter widgets and chips).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import replace

from dallosh import analytics
from dallosh.analytics import terms
from dallosh.errors import DalloshError
from dallosh.storage import ANALYSED
from dallosh.ui.analysis.charts import CHARTS, themed
from dallosh.ui.analysis.plotly_chart import figure_json
from dallosh.ui.analysis.state import ViewState, from_fragment
from dallosh.ui.html import fragment

log = logging.getLogger(__name__)

#: A preheated page warms its computations up on a dataset of at most this many rows (``_warm_up``).
WARM_ROWS = 100_000


class AddressPart:
    """The address of ``AnalysisView``."""

    # -- opening a page prepared ahead (a preheated kernel) -------------------------------------------------

    def on_page_open(self, state: str) -> None:
        """The page opened (after ``on_show(deferred=True)``): the newest dataset, unless its address has a state
        (which names the datasets to show). A warm-up still running stops at its next step."""
        self._page_opened = True
        if not state:
            self._choose_default()

    def _warm_up(self) -> None:
        """Before a preheated page opens: the page's computations once, out of sight, on the newest dataset when
        it is small enough (it stays cached for a page opened without a link), else on the smallest. A kernel's
        first read, KPIs, charts and term index pay for imports and caches (measured: a 100k-row link took
        3 s to read instead of 0.6 s), which the opened page then does not wait for."""
        with self._work:
            sized = [c for c in self.choices.values() if c.rows is not None and c.rows <= WARM_ROWS]
            newest = next(iter(self.choices.values()), None)
            choice = newest if newest in sized else min(sized, key=lambda c: c.rows or 0, default=None)
            if self.loaded or choice is None or getattr(self, "_page_opened", False):
                return
            started = time.perf_counter()
            from dallosh.ui.analysis.view import FILTER_COLUMNS, SELECTION_COLUMNS  # the view imports this module

            def opened() -> bool:  # the page opened meanwhile: it is waiting for this lock
                return getattr(self, "_page_opened", False)

            try:
                frame = self._read(choice.uid)
                chosen = analytics.apply_filters(frame[[c for c in FILTER_COLUMNS if c in frame]],
                                                 analytics.Filters(tz=self.tz))
                selection = frame[[c for c in SELECTION_COLUMNS if c in frame]].take(chosen.index.to_numpy())
                analytics.kpis(selection, replies_from=frame)
                for name, (build, with_tz, _wide) in CHARTS.items():
                    if opened():
                        break
                    if name == "critical_tweets":
                        figure, _keys = build(selection, self.tz, frame)
                    else:
                        figure, _keys = build(selection, self.tz) if with_tz else build(selection)
                    figure_json(themed(figure, self.ctx.theme))
                if not opened():
                    terms.build_term_index(frame["full_text"])
            except Exception:  # noqa: BLE001 - only a head start: the page reads and reports for itself
                log.exception("warming the analysis view up failed")
            if choice is not newest:
                self.cache.pop(choice.uid, None)
            self.timings["warm_up_s"] = time.perf_counter() - started

    # -- the address: reload and share ------------------------------------------------------------------------

    def state(self) -> ViewState:
        return ViewState(
            datasets=self.loaded, date_from=self.date_from.value, date_to=self.date_to.value,
            topic=self.topic.value, sentiment=self.sentiment.value, priority=self.priority.value,
            include_retweets=self.include_retweets.value, include_operator=self.include_operator.value,
            search=self.search.value, drills=self.drills)

    def _publish_state(self) -> None:
        if self.visible:
            self.ctx.set_address_state(self.state().to_fragment() if self.loaded else "")

    def share(self) -> None:
        link = self.ctx.share_link(self.state().to_fragment())
        if not link:
            self.alert.info("This page has no address to share (it is not open in a browser).")
            return
        self.alert.show("info", "Anyone who opens this link sees this view with the datasets they may read:",
                        fragment('<div class="dl-share-link"><input readonly value="{{ link }}"></div>', link=link))

    def apply_address_state(self, fragment_text: str) -> None:
        """A state from the address (a shared link, a reload): choose its datasets, then its filters once loaded.

        The datasets are checked against what this user may read (the picker's list, and each dataset it does not
        list read with this user's permissions).
        """
        wanted, ignored = from_fragment(fragment_text, self.tz)
        self.resolve_unlisted(wanted.datasets)  # older than the picker's list, or analysed since it was read
        readable = tuple(u for u in wanted.datasets if u in self.choices)
        missing = len(wanted.datasets) - len(readable)
        notes = []
        if missing:
            notes.append(f"{missing} dataset{'s' if missing > 1 else ''} of this link "
                         f"{'are' if missing > 1 else 'is'} not available to you (deleted, not analysed yet, or "
                         "not readable with your role).")
        if ignored:
            notes.append("Some filters of this link were not understood and were left out.")
        if notes:
            self.alert.info(" ".join(notes))
        if not readable:
            return
        wanted = replace(wanted, datasets=readable)
        if set(readable) == set(self.loaded):
            self._wanted = None
            self._show_state(wanted)
            self.request("compute")
        else:
            self._wanted = wanted  # shown once its datasets are loaded (``_load``)
            self._set_quietly(self.dataset_select, readable)
            self.request("load")

    def resolve_unlisted(self, uids: Sequence[str]) -> None:
        """Make the datasets ``uids`` choosable although the picker does not list them (a link to a dataset older
        than the newest ``LIST_LIMIT``): each is read with this user's permissions and kept when its analysed
        file exists; one this user may not read, or that is gone or not analysed, is left out."""
        from dallosh.ui.analysis import view as view_module  # the view imports this module

        added = False
        for uid in dict.fromkeys(uids):
            if uid in self.choices or not isinstance(uid, str):
                continue
            try:
                file = self.services.files.get(self.actor, uid)
                status = self.services.tasks.get(self.actor, file.data.task_id).data.status \
                    if file.data.task_id and self.can("read_tasks", "manage_tasks") else "done"
                if not hasattr(self.services.files, "frame"):  # the API client reads it as a frame (``_read``)
                    self.services.files.path(self.actor, uid, ANALYSED)  # raises when it does not exist
                elif status != "done":
                    continue
            except DalloshError:
                continue
            names = [c.filename for c in self.choices.values()]
            label = file.data.filename if file.data.filename not in names else f"{file.data.filename} ({uid[:6]})"
            choice = view_module.DatasetChoice(uid, label, file.data.filename, file.data.rows, status)
            self.unlisted[uid] = self.choices[uid] = choice
            added = True
        if added:
            self._quiet = True
            try:
                kept = tuple(self.dataset_select.value)
                self.dataset_select.options = [(self._option_label(c), c.uid) for c in self.choices.values()]
                self.dataset_select.value = kept
            finally:
                self._quiet = False
            self.dataset_select.rows = max(2, min(6, len(self.choices)))

    def _show_state(self, state: ViewState) -> None:
        """Put a state's filters and chips on the page (the datasets are already loaded)."""
        self._quiet = True
        try:
            self.date_from.value, self.date_to.value = state.date_from, state.date_to
            self.period.value = "custom" if state.date_from or state.date_to else ""
            topics = [v for _, v in self.topic.options]
            self.topic.value = state.topic if state.topic in topics else ""
            self.sentiment.value, self.priority.value = state.sentiment, state.priority
            self.include_retweets.value, self.include_operator.value = (state.include_retweets,
                                                                        state.include_operator)
            self.search.value = state.search
        finally:
            self._quiet = False
        self.drills = state.drills
