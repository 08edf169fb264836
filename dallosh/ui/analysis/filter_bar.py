"""The filter bar of the Analysis view: its values as ``analytics.Filters``, period presets, reset, topic options.

A part of ``AnalysisView`` (a mixin: it reads the view's filter widgets and loaded frame, and asks the view to
recompute).
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w

from dallosh import analytics
from dallosh.analytics import periods


class FiltersPart:
    """The filter bar of ``AnalysisView``."""

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

    def _on_dates(self, _change: Any = None) -> None:
        """Dates chosen by hand: the period says so (unless the dates were cleared)."""
        if self._quiet:
            return
        self._set_quietly(self.period, "custom" if self.date_from.value or self.date_to.value else "")
        self._on_filter()

    def _on_period(self, change: Any) -> None:
        """A preset: the dates of that period, ending on the last day of the loaded tweets."""
        if self._quiet or change["new"] == "custom":
            return
        start = end = None
        if change["new"]:
            span = periods.data_range(self.frame, self.tz) if self.frame is not None else None
            if span is None:
                return
            start, end = periods.preset_range(change["new"], span[1])
        self._quiet = True
        try:
            self.date_from.value, self.date_to.value = start, end
        finally:
            self._quiet = False
        self._on_filter()

    def _set_quietly(self, control: w.Widget, value: Any) -> None:
        self._quiet = True
        try:
            control.value = value
        finally:
            self._quiet = False

    def reset_filters(self) -> None:
        self._quiet = True
        try:
            self.period.value = ""
            self.date_from.value = self.date_to.value = None
            self.topic.value, self.sentiment.value, self.priority.value = "", "", -1
            self.include_retweets.value, self.include_operator.value = True, False
            self.search.value = ""
        finally:
            self._quiet = False
        self.drills = ()
        self._on_filter()

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
