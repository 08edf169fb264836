"""The tweet side panel: the whole tweet, its labels (with the built-in analyzer's confidence and who labelled
it), the conversation around it in the loaded datasets, and the correction form.

It opens when a row of the table is clicked and stays open while the analyst walks through rows, so reading
tweets and correcting them is one gesture, not a trip to a form below the table.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import pandas as pd

from dallosh.ui.analysis.table import PRIORITY_NAMES, local_time, tweet_link
from dallosh.ui.components import box, button, html_widget, set_visible
from dallosh.ui.html import fragment, render
from dallosh.ui.labelling import model_name

#: Operator replies listed under a tweet (the earliest first).
REPLIES_SHOWN = 5
#: The class of the view's root while the panel is open.
OPEN_CLASS = "dl-panel-open"


def builtin_confidence(text: str, author: str, topics: list[str]) -> tuple[float, float, float] | None:
    """The built-in analyzer's confidence in its own labels for ``text`` (sentiment, priority, topic), or None.

    Recomputed for the one tweet shown (the analysed files do not keep it); same model, same text, same answer.
    """
    from dallosh.llm.base import Row
    from dallosh.llm.builtin import BuiltinAnalyzer

    if not topics:
        return None
    label = BuiltinAnalyzer().label([Row("x", text or "", 0, author)], topics)["x"]
    return label.confidence


def thread_of(frame: pd.DataFrame, row: pd.Series) -> dict[str, Any]:
    """The tweet this one answers (if loaded) and the operator's replies to it (earliest first)."""
    tweet_id = str(row["id"])
    parent = None
    reply_to = str(row.get("in_reply_to") or "")
    if reply_to:
        hit = frame.index[(frame["id"] == reply_to).to_numpy(dtype=bool, na_value=False)]
        if len(hit):
            parent = frame.loc[hit[0]]
    replies = frame[(frame["in_reply_to"] == tweet_id).to_numpy(dtype=bool, na_value=False)
                    & frame["is_operator"].to_numpy(dtype=bool)] if "in_reply_to" in frame else frame.iloc[:0]
    replies = replies.sort_values("created_at", na_position="last").head(REPLIES_SHOWN)
    return {"parent": parent, "replies": replies}


class TweetPanel(w.VBox):
    """A drawer on the right of the page; the view fills it (``show``) and owns the correction's saving."""

    def __init__(self, correct_field: w.Dropdown, correct_value: w.Dropdown, save_button: w.Button,
                 can_correct: bool, on_close: Any, holder: w.Box | None = None):
        #: The view's root: marked ``dl-panel-open`` while the panel shows, so that its content makes room for
        #: the panel instead of lying under it (theme.py).
        self.holder = holder
        self.details = html_widget("", "dl-tweet-details")
        self.close_button = button("Close ✕", on_close, "dl-small", "dl-panel-close",
                                   tooltip="Close the tweet panel")
        self.form = box([correct_field, correct_value, save_button], "dl-col", "dl-panel-form")
        set_visible(self.form, can_correct)
        header = box([html_widget(fragment("<b>Tweet</b>"), "dl-panel-title"), self.close_button], "dl-row",
                     vertical=False, justify_content="space-between", align_items="center")
        self.form_title = html_widget(fragment("<b>Correct a label</b>") if can_correct else "", "dl-panel-subtitle")
        super().__init__([header, self.details, self.form_title, self.form])
        self.add_class("dl-card")
        self.add_class("dl-tweet-panel")
        self.tweet_id = ""
        set_visible(self, False)

    def show(self, row: pd.Series, thread: dict[str, Any], tz: str,
             confidence: tuple[float, float, float] | None) -> None:
        self.tweet_id = str(row["id"])
        labelled_by = str(row.get("labelled_by") or "")
        replies = [{"when": local_time(r["created_at"], tz), "author": str(r["screen_name"]),
                    "text": str(r["full_text"]),
                    "after": _delay(row["created_at"], r["created_at"])} for _, r in thread["replies"].iterrows()]
        parent = thread["parent"]
        self.details.value = render(
            "analysis_tweet.html", id=self.tweet_id, link=tweet_link(self.tweet_id),
            author=str(row.get("screen_name") or ""), name=str(row.get("name") or ""),
            when=local_time(row["created_at"], tz), tz=tz, text=str(row.get("full_text") or ""),
            sentiment=str(row["sentiment"]), priority=int(row["priority"]),
            priority_name=PRIORITY_NAMES.get(int(row["priority"]), "?"), topic=str(row["main_topic"]),
            corrected=bool(row.get("corrected", False)), model=model_name(labelled_by) if labelled_by else "",
            confidence=None if confidence is None else [round(100 * c) for c in confidence],
            engagement=int(row.get("engagement", 0)), dataset=str(row.get("dataset") or ""),
            parent=None if parent is None else {"author": str(parent["screen_name"]),
                                                "when": local_time(parent["created_at"], tz),
                                                "text": str(parent["full_text"])},
            replies=replies)
        set_visible(self, True)
        if self.holder is not None:
            self.holder.add_class(OPEN_CLASS)

    def hide(self) -> None:
        self.tweet_id = ""
        set_visible(self, False)
        if self.holder is not None:
            self.holder.remove_class(OPEN_CLASS)


def _delay(start: Any, end: Any) -> str:
    from dallosh.ui.analysis.kpis import format_delay

    if start is None or end is None or pd.isna(start) or pd.isna(end):
        return ""
    return format_delay(pd.Timestamp(end) - pd.Timestamp(start))
