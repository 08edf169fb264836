"""The tweets table of the Analysis view: the filtered rows in the chosen order, one page at a time, row clicks
(side panel) and ticks (bulk corrections).

A part of ``AnalysisView`` (a mixin: it reads the view's selection and grid, and asks the view to recompute).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from dallosh.ui.analysis.table import DEFAULT_SORT, PAGE_SIZE, SORT_COLUMNS, sort_order, table_page
from dallosh.ui.components import human_int, set_visible


class TablePart:
    """The tweets table of ``AnalysisView``."""

    def _narrow(self) -> None:
        """The table's rows (filtered and cross-filtered) in the chosen order."""
        if self.filtered is None:
            self.rows, self.order = None, None
            return
        rows = self.rows = self.filtered
        column, ascending = self.sort
        key = SORT_COLUMNS[column]
        source = rows if key in rows else self.frame[[key]].take(rows.index.to_numpy())
        self.order = sort_order(source, key, ascending)

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
        if new.get("opened") and (new.get("opened"), new.get("clicks")) != (old.get("opened"), old.get("clicks")):
            self.open_tweet(str(new["opened"]))  # ``clicks``: the same row clicked again after closing the panel
        if new.get("checked") != old.get("checked"):
            self.check(new.get("checked") or [])

    def open_tweet(self, tweet_id: str) -> None:
        """Show a tweet in the side panel (a row click); the id field follows so a paste works the same."""
        if self.correct_id.value == tweet_id:
            self.show_selected()
        else:
            self.correct_id.value = tweet_id

    def close_panel(self) -> None:
        self.panel.hide()

    def check(self, ids: Sequence[str]) -> None:
        """Rows ticked in the table: the bulk correction bar offers to change them together."""
        self.checked = [str(i) for i in ids][:500]
        count = len(self.checked)
        self.bulk_label.value = f"{count} tweet{'s' if count > 1 else ''} ticked: set" if count else ""
        set_visible(self.bulk_bar, bool(count) and self.can_correct)
