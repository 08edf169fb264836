"""Cross-filter chips in the Analysis view: chart and term clicks become removable chips that narrow every
number on the page (what each chip selects is ``crossfilter``'s).

A part of ``AnalysisView`` (a mixin: it reads the view's charts and frame, and asks it to recompute).
"""

from __future__ import annotations

import ipywidgets as w
import numpy as np

from dallosh.analytics import terms
from dallosh.defaults import SENTIMENTS
from dallosh.ui.analysis.crossfilter import Drill, make_drill, toggle
from dallosh.ui.components import button, html_widget, set_visible


class ChipsPart:
    """The chips of ``AnalysisView``."""

    # -- cross-filter chips -----------------------------------------------------------------------------------

    def set_drill(self, drill: Drill | None) -> None:
        """Add a chip (or remove it when it is already there); None removes every chip."""
        self.drills = () if drill is None else toggle(self.drills, drill)
        self.page = 0
        self.request("compute")

    def remove_drill(self, drill: Drill) -> None:
        self.drills = tuple(d for d in self.drills if d != drill)
        self.page = 0
        self.request("compute")

    def clear_drill(self) -> None:
        self.set_drill(None)

    def add_term(self, term: str, group: tuple[str, str] | None = None) -> None:
        """A term clicked in "What customers say" (within a topic or sentiment group: that group too)."""
        drills = list(self.drills)
        if group is not None:
            drill = make_drill(group[0], group[1], self.tz)
            if drill not in drills:
                drills.append(drill)
        term_drill = make_drill("term", term, self.tz)
        self.drills = toggle(drills, term_drill)
        self.page = 0
        self.request("compute")

    def _term_rows(self, term: str) -> np.ndarray:
        if self.frame is None:
            return np.zeros(0, dtype=bool)
        return terms.term_mask(self.frame["full_text"], term, index=self._ensure_terms())

    def _paint_chips(self) -> None:
        chips: list[w.Widget] = []
        for drill in self.drills:
            chip = button(f"{drill.label}  ✕", lambda d=drill: self.remove_drill(d), "dl-chip-button",
                          tooltip="Remove this filter")
            chips.append(chip)
        if chips:
            chips = [html_widget("Filtered by:", "dl-muted"), *chips,
                     button("Clear all", self.clear_drill, "dl-small", "dl-chips-clear")]
        self.chips.children = chips
        set_visible(self.chips, bool(chips))

    def _on_chart_click(self, name: str, trace: int, point: int) -> None:
        """A click on point ``point`` of trace ``trace`` of chart ``name``: a chip for that segment."""
        chart = self.charts[name]
        keys = chart.point_keys[trace] if 0 <= trace < len(chart.point_keys) else []
        if not 0 <= point < len(keys):
            return
        key = keys[point]
        kinds = {"sentiment": "sentiment", "engagement": "sentiment", "priority": "priority", "topics": "topic",
                 "critical_topics": "critical_topic", "hours": "hour", "authors": "author", "terms": "term"}
        if name == "timeline":
            # The bars clicked are those drawn now (the chip redraws the chart): is this one a spike?
            spikes = self.raw_figures.get("timeline", {}).get("layout", {}).get("meta", {}).get("spikes", [])
            grain = self.timeline_grain
            drill = make_drill(grain, key, self.tz)
            self.set_drill(drill)
            if point in spikes and drill in self.drills:
                self.explain_spike(key, grain)
        elif name == "topic_sentiment":
            self.set_drill(make_drill("topic_sentiment", (key, SENTIMENTS[trace]), self.tz))
        elif name == "critical_tweets":
            self.set_drill(make_drill("ids", (key,), self.tz))
        elif name in kinds:
            self.set_drill(make_drill(kinds[name], key, self.tz))

