"""Label corrections in the Analysis view: one tweet from its side panel, several ticked rows at once, and the
team's history of corrections.

A part of ``AnalysisView`` (a mixin: it uses the view's frame, choices and services); the rules — who may
correct, which values are valid, that the latest correction wins — are in ``services.corrections``.
"""

from __future__ import annotations

from typing import Any

import ipywidgets as w
import pandas as pd

from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.errors import ValidationError
from dallosh.ui.analysis.charts import short
from dallosh.ui.analysis.panel import TweetPanel, builtin_confidence, thread_of
from dallosh.ui.analysis.table import PRIORITY_NAMES, local_time
from dallosh.ui.components import box, button, card_title_widget, html_widget, muted, set_visible
from dallosh.ui.html import render

FIELD_LABELS = {"sentiment": "Sentiment", "priority": "Priority", "main_topic": "Topic"}
#: Corrections listed under the correction form (newest first).
HISTORY_SHOWN = 8


class CorrectionsPart:
    """The corrections of ``AnalysisView``."""

    def _build_corrections(self) -> None:
        """The side panel, the bulk bar and the corrections card (their widgets; the view places them)."""
        self.correct_id = w.Text(description="Tweet id", placeholder="Paste a tweet id to open it",
                                 continuous_update=False, layout=w.Layout(width="360px"))
        self.correct_id.observe(lambda _c: self.show_selected(), "value")
        self.correct_field = w.Dropdown(description="Field", options=[(v, k) for k, v in FIELD_LABELS.items()],
                                        layout=w.Layout(width="100%"))
        self.correct_field.observe(lambda _c: self._paint_values(), "value")
        self.correct_value = w.Dropdown(description="New value", options=[], layout=w.Layout(width="100%"))
        for control in (self.correct_id, self.correct_field, self.correct_value):
            control.style.description_width = "80px"
        self.save_button = button("Save correction", self.save_correction, style="primary",
                                  tooltip="Store the new label (who, when, old → new); every KPI reflects it")
        self.selected_info = html_widget("", "dl-muted", "dl-selected")
        self.panel = TweetPanel(self.correct_field, self.correct_value, self.save_button, self.can_correct,
                                self.close_panel, holder=self.root)
        self.bulk_field = w.Dropdown(options=[(v, k) for k, v in FIELD_LABELS.items()],
                                     layout=w.Layout(width="150px"))
        self.bulk_field.observe(lambda _c: self._paint_values(), "value")
        self.bulk_value = w.Dropdown(options=[], layout=w.Layout(width="200px"))
        self.bulk_label = html_widget("", "dl-bulk-label")
        self.bulk_button = button("Apply to the selected tweets", self.save_bulk, "dl-small", style="primary")
        self.bulk_bar = box([self.bulk_label, self.bulk_field, self.bulk_value, self.bulk_button], "dl-row",
                            "dl-bulk-bar", vertical=False, align_items="center")
        set_visible(self.bulk_bar, False)
        self.history_html = html_widget("")
        self.corrections_button = button("Export corrections (labelled CSV)", self.export_corrections, "dl-small",
                                         tooltip="Every corrected tweet with its text, the model's labels and the "
                                                 "corrected ones")
        intro = ("Fix a tweet's sentiment, priority or topic from its panel (click a row), or several at once (tick "
                 "rows): corrections are kept with who and when, survive reprocessing, and appear in every KPI, "
                 "chart and export." if self.can_correct else
                 "Corrections made by the team (you can read them; correcting needs the manage datasets "
                 "permission).")
        self.corrections_card = box([
            box([card_title_widget("Label corrections"), self.corrections_button], "dl-row",
                vertical=False, justify_content="space-between", align_items="center"),
            html_widget(muted(intro)), box([self.correct_id, self.selected_info], "dl-col"), self.history_html,
        ], "dl-card", "dl-analysis-corrections")


    # -- corrections ----------------------------------------------------------------------------------------

    def _values_for(self, field: str) -> list[tuple[str, Any]]:
        if field == "sentiment":
            return [(s, s) for s in SENTIMENTS]
        if field == "priority":
            return [(f"{p} · {PRIORITY_NAMES[p]}", p) for p in PRIORITIES]
        return [(t, t) for t in self.topics]

    def _paint_values(self) -> None:
        for field, value in ((self.correct_field, self.correct_value), (self.bulk_field, self.bulk_value)):
            options = self._values_for(field.value)
            if options != list(value.options):
                value.options = options
            if options and value.value not in [v for _, v in options]:
                value.value = options[0][1]

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
            self.panel.hide()
            return
        if rows.empty:
            self.selected_info.value = f"No tweet with id {tweet_id} in the chosen datasets."
            self.panel.hide()
            return
        row = rows.iloc[0]
        labelled_by = str(row.get("labelled_by") or "")
        confidence = (builtin_confidence(str(row["full_text"]), "customer", self.topics)
                      if labelled_by == "builtin" and not bool(row.get("corrected", False)) else None)
        self.panel.show(row, thread_of(self.frame, row), self.tz, confidence)
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

    def save_bulk(self) -> None:
        """Give the ticked tweets one value of one field, per dataset holding them, then refresh every number."""
        with self.guard() as g:
            field, value = self.bulk_field.value, self.bulk_value.value
            if not self.checked:
                raise ValidationError("tweet_id", "is required: tick the tweets to correct in the table")
            if value is None:
                raise ValidationError("new_value", "is required: choose it in the list")
            rows = self.frame[self.frame["id"].isin(set(self.checked)).to_numpy(dtype=bool)]
            label_to_uid = {self.choices[u].label: u for u in self.loaded if u in self.choices}
            changed = 0
            for label, group in rows.groupby(rows["dataset"].astype(str), sort=False):
                olds = group[field].astype("Int64" if field == "priority" else "string")
                changes = [(str(i), None if pd.isna(o) else str(o)) for i, o in zip(group["id"], olds, strict=True)]
                changed += self.services.corrections.correct_many(self.actor, label_to_uid[label], changes, field,
                                                                  value)
        if g.failed:
            return
        self.alert.success(f"{changed} tweet{'s' if changed != 1 else ''}: {FIELD_LABELS[field].lower()} → {value}"
                           f"{'' if changed == len(self.checked) else ' (the others already had it)'}. Every KPI, "
                           "chart and export now includes the correction.")
        self.check([])
        self.request("corrections")

    def _paint_history(self) -> None:
        labels = {u: c.label for u, c in self.choices.items()}
        rows = [(local_time(item["when"], self.tz), item["by"], labels.get(item["file_id"], item["file_id"]),
                 item["tweet_id"], FIELD_LABELS.get(item["field"], item["field"]),
                 "–" if item["old_value"] is None else item["old_value"], item["new_value"])
                for item in reversed(self.history[-HISTORY_SHOWN:])]
        self.history_html.value = render("analysis_history.html", rows=rows, total=len(self.history),
                                         more=len(self.history) - HISTORY_SHOWN)

