""""What customers say": the most frequent words and hashtags of the selection, overall, per topic or per
sentiment; a click on a term filters every number by it (a chip, see ``crossfilter``)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as w
import pandas as pd

from dallosh.analytics import terms
from dallosh.ui.analysis.crossfilter import Drill
from dallosh.ui.components import box, button, card_title_widget, html_widget, muted, set_visible

#: Terms shown for the whole selection, and per group.
TOP_TERMS = 15
TOP_PER_GROUP = 6
#: Groups listed at most (topics beyond are rare and listed on the Topics chart anyway).
MAX_GROUPS = 10
GROUPINGS = {"all": ("All tweets", None), "topic": ("By topic", "main_topic"),
             "sentiment": ("By sentiment", "sentiment")}


class TermsCard(w.VBox):
    """The card; ``on_term(term, group)`` runs when a term is clicked (``group`` = (kind, value) or None)."""

    def __init__(self, on_term: Callable[[str, tuple[str, str] | None], None]):
        self.on_term = on_term
        self.grouping = w.ToggleButtons(options=[(label, key) for key, (label, _) in GROUPINGS.items()],
                                        value="all", style={"button_width": "auto"})
        self.grouping.add_class("dl-terms-grouping")
        self.kind = w.ToggleButtons(options=[("Words", False), ("Hashtags", True)], value=False,
                                    style={"button_width": "auto"})
        self.kind.add_class("dl-terms-kind")
        for control in (self.grouping, self.kind):
            control.observe(lambda _c: self.repaint(), "value")
        self.body = box([], "dl-col", "dl-terms-body")
        self.note = html_widget("", "dl-muted")
        super().__init__([
            box([card_title_widget("What customers say", "(click a term to filter every number by it)"),
                 box([self.grouping, self.kind], "dl-row", vertical=False)],
                "dl-row", vertical=False, justify_content="space-between", align_items="center"),
            self.body, self.note])
        self.add_class("dl-card")
        self.add_class("dl-terms")
        self._last: tuple[terms.TermIndex, pd.DataFrame, Sequence[Drill], pd.DataFrame] | None = None

    def show(self, index: terms.TermIndex, selection: pd.DataFrame, drills: Sequence[Drill],
             frame: pd.DataFrame) -> None:
        """Terms of ``selection`` (the view's slim selection: its index holds positions in ``frame``, the loaded
        tweets the term index was built from)."""
        self._last = (index, selection, drills, frame)
        self.repaint()

    def repaint(self) -> None:
        if self._last is None:
            return
        index, selection, drills, frame = self._last
        rows = selection.index.to_numpy()
        hashtags = bool(self.kind.value)
        chosen = {d.value for d in drills if d.kind == "term"}
        column = GROUPINGS[self.grouping.value][1]
        if column is None:
            top = terms.top_terms(index, rows, TOP_TERMS, hashtags=hashtags)
            lines = [self._line("", top, None, chosen)]
        else:
            groups = terms.terms_by(index, frame[column], rows, TOP_PER_GROUP, hashtags=hashtags)
            lines = [self._line(str(name), top, (_kind(column), str(name)), chosen)
                     for name, top in list(groups.items())[:MAX_GROUPS]]
        lines = [line for line in lines if line is not None]
        self.body.children = lines
        what = "hashtag" if hashtags else "word"
        self.note.value = ("" if lines else muted(f"No {what} is frequent enough in the selected tweets.")) or ""
        set_visible(self.note, not lines)

    def _line(self, name: str, top: pd.DataFrame, group: tuple[str, str] | None, chosen: set[str]
              ) -> w.Widget | None:
        if top.empty:
            return None
        chips = []
        for term, label, count, share in zip(top["term"], top["label"], top["tweets"], top["share"], strict=True):
            # The chip filters by the label: folded like the texts, it finds the same tweets, and reads well.
            chip = button(f"{label} · {count:,}".replace(",", " "), lambda t=label, g=group: self.on_term(t, g),
                          "dl-term", tooltip=f"{share:.1f} % of these tweets say “{label}”: click to filter by it")
            if term in chosen or label in chosen:
                chip.add_class("dl-term-chosen")
            chips.append(chip)
        items: list[w.Widget] = [html_widget(name, "dl-terms-group")] if name else []
        return box([*items, box(chips, "dl-row", "dl-terms-chips", vertical=False)], "dl-row", "dl-terms-line",
                   vertical=False, align_items="center")


def _kind(column: str) -> str:
    return "topic" if column == "main_topic" else "sentiment"

