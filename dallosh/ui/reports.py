"""Reports: the user's scheduled report e-mails (daily or weekly), a form to create or edit one, a preview of the
e-mail in the page, "Send now", and — for admins — everyone's subscriptions.

Every rule (who may subscribe, what a subscription may hold, when it runs) is ``services.subscriptions``'s; this
view shows and edits. The preview is the e-mail's own HTML in a sandboxed ``<iframe srcdoc>`` (no script, no
same-origin access; the value is escaped by the template like any attribute).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, available_timezones

import ipywidgets as w

from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.schemas.subscriptions import WEEKDAYS
from dallosh.ui.base import UIContext, View
from dallosh.ui.components import (
    badge,
    box,
    button,
    card_title,
    card_title_widget,
    html_widget,
    muted,
    name_cell,
    set_visible,
    text_cells,
)
from dallosh.ui.forms import ConfirmBar, Form, InlineTable, header_row
from dallosh.ui.html import Markup, fragment

COLUMNS = (("Report", "42%"), ("Next run", "24%"), ("Last sent", "34%"))
PARTS = ("68%", "32%")  # text cells, actions
ADMIN_COLUMNS = (("Owner", "28%"), ("Report", "32%"), ("Next run", "16%"), ("Last sent", "24%"))
ADMIN_PARTS = ("84%", "16%")
PRIORITY_WORDS = {0: "0 — low", 1: "1 — medium", 2: "2 — high"}
#: Height of the preview frame (the e-mail scrolls inside it).
PREVIEW_HEIGHT = "720px"
DATASETS_PAGE = 200


def local_time(when: datetime | None, zone: str) -> str:
    """``when`` as ``YYYY-MM-DD HH:MM`` in the subscription's zone ("–" when none)."""
    if when is None:
        return "–"
    return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def outcome_badge(outcome: str) -> Markup:
    if not outcome:
        return muted("not run yet", inline=True)
    kind, _, detail = outcome.partition(":")
    family = {"ok": "ok", "skipped": "warn", "error": "err"}.get(kind, "idle")
    return fragment('{{ badge }}{% if detail %} <span class="dl-muted">{{ detail }}</span>{% endif %}',
                    badge=badge(kind, family), detail=detail.strip())


def preview_frame(html: str) -> Markup:
    """The e-mail in a sandboxed frame: it shows images and styles, runs nothing, and cannot reach the page."""
    return fragment('<iframe class="dl-report-preview" title="E-mail preview" sandbox="" referrerpolicy="no-referrer"'
                    ' style="width:100%;height:{{ height }};border:0;background:#fff" srcdoc="{{ html }}"></iframe>',
                    html=html, height=PREVIEW_HEIGHT)


class SubscriptionRow:
    def __init__(self, view: ReportsView):
        self.uid = ""
        self.info = html_widget("", "dl-td", "dl-wrap-cell")
        self.edit_button = button("Edit", lambda: view.open_edit(self.uid), "dl-small")
        self.preview_button = button("Preview", lambda: view.preview(self.uid), "dl-small",
                                     tooltip="Show the e-mail a run now would send")
        self.send_button = button("Send now", lambda: view.send_now(self.uid), "dl-small",
                                  tooltip="Send this report to your address now (its schedule does not change)")
        self.delete_button = button("Delete", lambda: view.ask_delete(self.uid), "dl-small", style="danger")
        actions = box([self.edit_button, self.preview_button, self.send_button, self.delete_button], "dl-tight",
                      "dl-actions", vertical=False)
        self.info.layout.width, actions.layout.width = PARTS
        self.root = box([self.info, actions], "dl-tr", "dl-subscription-row", vertical=False)

    def update(self, sub, datasets: str) -> None:
        d = sub.data
        self.uid = sub.uid
        what = f"{datasets} · {d.filters.describe()}"
        self.info.value = text_cells([
            name_cell(d.describe_schedule(), what, note="" if d.active else "(switched off)"),
            local_time(d.nextRunAt, d.timeZone) if d.active else muted("off", inline=True),
            fragment("{{ when }} {{ outcome }}", when=local_time(d.lastSentAt, d.timeZone)
                     if d.lastSentAt else "", outcome=outcome_badge(d.lastOutcome))], COLUMNS)


class ReportsView(View):
    name = "reports"
    title = "Reports"

    def __init__(self, ctx: UIContext):
        super().__init__(ctx)
        self.editing = ""  # uid of the subscription in the form ("" = a new one)
        self.datasets: dict[str, str] = {}  # uid → file name, analysed datasets the user may read
        self.rows: dict[str, SubscriptionRow] = {}
        self.is_admin = self.can("manage_app")

        self.frequency = w.Dropdown(options=[("Every day", "daily"), ("Every week", "weekly")], value="daily")
        self.weekday = w.Dropdown(options=[(name, i) for i, name in enumerate(WEEKDAYS)], value=0)
        self.time = w.Text(value="08:00", placeholder="HH:MM", layout=w.Layout(width="110px"))
        self.zone = w.Combobox(options=sorted(available_timezones()), ensure_option=True,
                               layout=w.Layout(width="260px"))
        self.all_datasets = w.Checkbox(description="Every analysed dataset I may read", value=True, indent=False)
        self.dataset_choice = w.SelectMultiple(options=[], rows=5, layout=w.Layout(width="420px"))
        self.sentiments = w.SelectMultiple(options=list(SENTIMENTS), rows=3)
        self.priorities = w.SelectMultiple(options=[(PRIORITY_WORDS[p], p) for p in PRIORITIES], rows=3)
        self.topics = w.SelectMultiple(options=[], rows=5)
        self.search = w.Text(placeholder="Words the tweets contain (optional)", layout=w.Layout(width="320px"))
        self.include_operator = w.Checkbox(description="Include the operator's own replies", indent=False)
        self.include_retweets = w.Checkbox(description="Include retweets", value=True, indent=False)
        self.active = w.Checkbox(description="Send this report (switched off by an unsubscribe link)", value=True,
                                 indent=False)
        self.form = Form({
            "frequency": ("Send", self.frequency, ""),
            "weekday": ("On", self.weekday, ""),
            "time": ("At", self.time, "Local time, 24 h (e.g. 07:30)."),
            "timeZone": ("Time zone", self.zone, "The day a report covers ends at midnight in this zone."),
            "datasets": ("Datasets", box([self.all_datasets, self.dataset_choice], "dl-col"),
                         "A dataset you can no longer read is left out of the e-mail, which says so."),
            "sentiments": ("Sentiments", self.sentiments, "None selected: every sentiment."),
            "priorities": ("Priorities", self.priorities, "None selected: every priority."),
            "topics": ("Topics", self.topics, "None selected: every topic."),
            "search": ("Containing", self.search, ""),
            "options": ("Also", box([self.include_operator, self.include_retweets], "dl-row", vertical=False), ""),
            "active": ("On", self.active, ""),
        })
        self.frequency.observe(lambda _c: self._sync_form(), "value")
        self.all_datasets.observe(lambda _c: self._sync_form(), "value")
        self.form_title = card_title_widget("New scheduled report")
        self.save_button = button("Save", self.save, "dl-save-subscription", style="primary")
        self.form_preview_button = button("Preview", self.preview_form, "dl-preview-form",
                                          tooltip="Show the e-mail these choices would send now")
        self.cancel_button = button("Cancel", self.close_form)
        self.form_panel = box([self.form_title, html_widget(muted(
            "The e-mail goes to your own address; every e-mail has an unsubscribe link.")), self.form.root,
            box([self.save_button, self.form_preview_button, self.cancel_button], "dl-row", vertical=False)],
            "dl-card", "dl-subscription-form")
        set_visible(self.form_panel, False)

        self.confirm = ConfirmBar()
        self.confirm_panel = box([self.confirm.root], "dl-card", "dl-inline-panel", "dl-danger-panel")
        self.confirm.cancel_button.on_click(lambda _b: self.table.close())
        self.table = InlineTable(header_row([(text_cells([t for t, _ in COLUMNS], COLUMNS), PARTS[0]),
                                             ("Actions", PARTS[1])]))
        self.empty = html_widget(muted("No scheduled report yet: create one to get the KPIs, spikes and critical "
                                       "tweets by e-mail every day or every week."))
        self.new_button = button("New scheduled report", self.open_new, "dl-new-subscription", style="primary")
        self.refresh_button = button("Refresh", self.refresh)

        self.preview_title = card_title_widget("Preview")
        self.preview_html = html_widget("", "dl-preview-box")
        self.preview_close = button("Close preview", self.close_preview, "dl-small")
        self.preview_panel = box([box([self.preview_title, self.preview_close], "dl-row", vertical=False,
                                      justify_content="space-between"), self.preview_html], "dl-card",
                                 "dl-preview-panel")
        set_visible(self.preview_panel, False)

        self.everyone = html_widget("", "dl-everyone")
        self.admin_table = InlineTable(header_row([(text_cells([t for t, _ in ADMIN_COLUMNS], ADMIN_COLUMNS),
                                                    ADMIN_PARTS[0]), ("", ADMIN_PARTS[1])]))
        self.admin_empty = html_widget(muted("Nobody has a scheduled report yet. Each user sets up their own on "
                                             "this page; you see and can delete everyone's here."))
        self.admin_panel = box([card_title_widget("Everyone's scheduled reports", "administrators only"),
                                self.admin_table.root, self.admin_empty], "dl-card", "dl-admin-subscriptions")
        set_visible(self.admin_panel, self.is_admin)

        self.set_heading("Scheduled reports", "KPIs against the previous period, explained spikes and the most "
                         "critical tweets, by e-mail with the PDF attached.", self.refresh_button, self.new_button)
        self.body.children = [self.form_panel, self.preview_panel,
                              box([card_title_widget("My scheduled reports"), self.table.root, self.empty],
                                  "dl-card"), self.admin_panel]
        self._sync_form()

    # -- list ---------------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        with self.guard(clear=False) as g:
            mine = self.services.subscriptions.list(self.actor)
            self._load_choices()
            everyone = self.services.subscriptions.list(self.actor, everyone=True) if self.is_admin else []
        if g.failed:
            return
        rows = []
        for sub in mine:
            row = self.rows.get(sub.uid) or SubscriptionRow(self)
            self.rows[sub.uid] = row
            row.update(sub, self._datasets_text(sub))
            rows.append((sub.uid, row.root))
        self.table.set_rows(rows)
        set_visible(self.empty, not rows)
        self._admin_rows(everyone)

    def _admin_rows(self, subs: list) -> None:
        rows = []
        for sub in subs:
            d = sub.data
            info = html_widget(text_cells([
                d.email, name_cell(d.describe_schedule(), self._datasets_text(sub)),
                local_time(d.nextRunAt, d.timeZone) if d.active else muted("off", inline=True),
                fragment("{{ when }} {{ outcome }}", when=local_time(d.lastSentAt, d.timeZone) if d.lastSentAt
                         else "", outcome=outcome_badge(d.lastOutcome))], ADMIN_COLUMNS), "dl-td",
                "dl-wrap-cell", width=ADMIN_PARTS[0])
            delete = button("Delete", lambda uid=sub.uid, email=d.email: self.ask_delete(uid, email, admin=True),
                            "dl-small", style="danger")
            rows.append((sub.uid, box([info, box([delete], "dl-actions", vertical=False, width=ADMIN_PARTS[1])],
                                      "dl-tr", "dl-admin-subscription-row", vertical=False)))
        self.admin_table.set_rows(rows)
        set_visible(self.admin_empty, not rows)

    def _datasets_text(self, sub) -> str:
        if sub.data.allDatasets:
            return "all my datasets"
        names = [self.datasets.get(uid, "a dataset no longer available") for uid in sub.data.datasets]
        return ", ".join(names)

    def _load_choices(self) -> None:
        from dallosh.storage import ANALYSED

        items: list[dict[str, Any]] = []
        while True:
            page = self.services.files.list(self.actor, skip=len(items), limit=DATASETS_PAGE)
            items.extend(page.items)
            if not page.items or len(items) >= page.total:
                break
        self.datasets = {i["file"].uid: i["file"].data.filename for i in items if i["available"].get(ANALYSED)}
        self.dataset_choice.options = [(name, uid) for uid, name in self.datasets.items()]
        topics = self.services.settings.topics()
        if list(self.topics.options) != topics:
            self.topics.options = topics

    # -- form ---------------------------------------------------------------------------------------------------

    def _sync_form(self) -> None:
        self.form.show_row("weekday", self.frequency.value == "weekly")
        set_visible(self.dataset_choice, not self.all_datasets.value)

    def open_new(self) -> None:
        self.editing = ""
        self.form_title.value = card_title("New scheduled report")
        self._fill({"frequency": "daily", "time": "08:00", "weekday": 0,
                    "timeZone": self.services.settings.general().timeZone, "allDatasets": True, "datasets": [],
                    "filters": {}})
        self._show_form()

    def open_edit(self, uid: str) -> None:
        with self.guard() as g:
            sub = self.services.subscriptions.get(self.actor, uid)
        if g.failed:
            return
        from dallosh.schemas import dump

        self.editing = uid
        self.form_title.value = card_title("Edit scheduled report", sub.data.describe_schedule())
        self._fill(dump(sub.data))
        self._show_form()

    def _show_form(self) -> None:
        self.form.clear_errors()
        set_visible(self.form_panel, True)
        self._sync_form()

    def _fill(self, data: dict[str, Any]) -> None:
        filters = data.get("filters") or {}
        self.frequency.value = data["frequency"]
        self.weekday.value = data["weekday"]
        self.time.value = data["time"]
        self.zone.value = data["timeZone"]
        self.all_datasets.value = data["allDatasets"]
        self.dataset_choice.value = tuple(u for u in data["datasets"] if u in self.datasets)
        self.sentiments.value = tuple(filters.get("sentiments") or ())
        self.priorities.value = tuple(filters.get("priorities") or ())
        self.topics.value = tuple(t for t in (filters.get("topics") or ()) if t in self.topics.options)
        self.search.value = filters.get("search", "")
        self.include_operator.value = bool(filters.get("includeOperator", False))
        self.include_retweets.value = bool(filters.get("includeRetweets", True))
        self.active.value = bool(data.get("active", True))
        self._sync_form()

    def values(self) -> dict[str, Any]:
        """The form as the service's fields (an empty choice of sentiments, priorities or topics: no filter)."""
        return {"active": self.active.value, "frequency": self.frequency.value, "weekday": self.weekday.value,
                "time": self.time.value.strip(),
                "timeZone": self.zone.value.strip(), "allDatasets": self.all_datasets.value,
                "datasets": list(self.dataset_choice.value),
                "filters": {"sentiments": list(self.sentiments.value) or None,
                            "priorities": list(self.priorities.value) or None,
                            "topics": list(self.topics.value) or None, "search": self.search.value.strip(),
                            "includeOperator": self.include_operator.value,
                            "includeRetweets": self.include_retweets.value}}

    def save(self) -> None:
        self.form.clear_errors()
        with self.guard() as g:
            if self.editing:
                sub = self.services.subscriptions.update(self.actor, self.editing, **self.values())
            else:
                sub = self.services.subscriptions.create(self.actor, **self.values())
        if g.failed:
            self.form.report(self, g)
            return
        set_visible(self.form_panel, False)
        self.refresh()
        if not sub.data.active:
            self.alert.success(f"Saved, switched off: {sub.data.describe_schedule()} sends nothing until you switch "
                               "it on again.")
            return
        self.alert.success(f"Saved: {sub.data.describe_schedule()}. Next e-mail "
                           f"{local_time(sub.data.nextRunAt, sub.data.timeZone)} ({sub.data.timeZone}) to "
                           f"{sub.data.email}.")

    def close_form(self) -> None:
        set_visible(self.form_panel, False)
        self.form.clear_errors()

    # -- preview, send, delete ----------------------------------------------------------------------------------

    def preview(self, uid: str) -> None:
        self._show_preview(lambda: self.services.subscriptions.preview(self.actor, uid))

    def preview_form(self) -> None:
        self.form.clear_errors()
        self._show_preview(lambda: self.services.subscriptions.preview(self.actor, self.editing, **self.values()))

    def _show_preview(self, make) -> None:
        with self.guard() as g:
            html = make()
        if g.failed:
            self.form.report(self, g)
            return
        self.preview_html.value = preview_frame(html)
        set_visible(self.preview_panel, True)
        self.alert.info("This is the e-mail a run now would send (its period: the day or week before today).")

    def close_preview(self) -> None:
        self.preview_html.value = ""
        set_visible(self.preview_panel, False)

    def send_now(self, uid: str) -> None:
        with self.guard() as g:
            self.services.subscriptions.send_now(self.actor, uid)
        if not g.failed:
            self.alert.success(f"The report is on its way to {self.actor.email}; it usually arrives within a "
                               "minute. Its outcome shows here under Last sent.")

    def ask_delete(self, uid: str, email: str = "", *, admin: bool = False) -> None:
        whose = f" of {email}" if admin else ""
        self.confirm.ask(fragment("Delete this scheduled report{{ whose }}? No more e-mails will be sent.",
                                  whose=whose), lambda: self.delete(uid), "Delete")
        (self.admin_table if admin else self.table).open(uid, self.confirm_panel)

    def delete(self, uid: str) -> None:
        with self.guard() as g:
            self.services.subscriptions.delete(self.actor, uid)
        self.table.close()
        self.admin_table.close()
        if not g.failed:
            self.rows.pop(uid, None)
            self.refresh()
            self.alert.success("Scheduled report deleted.")
