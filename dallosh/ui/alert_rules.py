"""The "Alert rules" tab of the admin Settings page: the rules, and one editor that opens under the row it edits.

Every field's label comes from here and its help from the rule's schema (``dallosh.schemas.alerts.AlertRule``,
declared once); ``services.alerts`` validates and a ValidationError is shown under its field. Webhook addresses
arrive masked from the service and are sent back as shown to keep them (``AlertsService.update_rule``).
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from dallosh.schemas.alerts import K_RANGE, METRICS, WINDOW_RANGE, AlertRule
from dallosh.ui.components import badge, box, button, card_title, html_widget, muted, set_visible
from dallosh.ui.forms import ConfirmBar, Form, InlineTable, header_row
from dallosh.ui.html import fragment, render

if TYPE_CHECKING:
    from dallosh.schemas import Record
    from dallosh.ui.base import View

HELP = {f.name: f.metadata.get("help", "") for f in dataclasses.fields(AlertRule)}
GRAINS = (("Per day", "day"), ("Per hour", "hour"))
THRESHOLDS = (("Unusual: k standard deviations from the mean", "sigma"), ("A fixed number", "fixed"))
DIRECTIONS = (("Above the threshold", "above"), ("Below the threshold", "below"))
SCOPES = (("All new data", "new"), ("Chosen datasets", "datasets"))
PARTS = ("72%", "28%")


def split_lines(text: str) -> list[str]:
    """One entry per line or comma (addresses hold neither)."""
    return [p.strip() for p in text.replace(",", "\n").splitlines() if p.strip()]


def rule_summary(data: AlertRule, names: dict[str, str]) -> dict[str, str]:
    """The row's words: what is watched, the threshold, the scope and the channels."""
    watched = METRICS[data.metric] + (f" · {data.topic}" if data.topic else "")
    per = "day" if data.grain == "day" else "hour"
    if data.threshold == "sigma":
        sign = "+" if data.direction == "above" else "−"
        threshold = f"{data.direction} mean {sign} {data.k:g} σ of the {data.window} {per}s before"
    else:
        shown = f"{data.value:+.2f}" if data.metric == "net_sentiment" else f"{data.value:g}"
        threshold = f"{data.direction} {shown} per {per}"
    scope = "all new data" if data.scope == "new" else ", ".join(names.get(u, "a deleted dataset")
                                                                 for u in data.datasets)
    channels = [c for c, on in (("in-app", data.in_app), (f"{len(data.emails)} e-mail(s)", data.emails),
                                (f"{len(data.webhooks)} webhook(s)", data.webhooks)) if on]
    return {"watched": watched, "threshold": threshold, "scope": scope,
            "channels": ", ".join(channels) or "no channel"}


class RuleRow:
    def __init__(self, panel: AlertRulesPanel):
        self.uid, self.name = "", ""
        self.info = html_widget("", "dl-td")
        edit = button("Edit", lambda: panel.open_edit(self.uid), "dl-small")
        delete = button("Delete", lambda: panel.ask_delete(self.uid), "dl-small", style="danger")
        actions = box([edit, delete], "dl-tight", "dl-actions", vertical=False)
        self.info.layout.width, actions.layout.width = PARTS
        self.root = box([self.info, actions], "dl-tr", "dl-rule-row", vertical=False, align_items="center")

    def update(self, record: Record[AlertRule], names: dict[str, str]) -> None:
        self.uid, self.name = record.uid, record.data.name
        self.info.value = render("alert_rule_row.html", name=record.data.name, s=rule_summary(record.data, names),
                                 state=badge("enabled", "ok") if record.data.enabled else badge("disabled", "idle"))


class AlertRulesPanel:
    """The tab's content; ``view`` is the Settings view (its alert line shows the outcome of each action)."""

    def __init__(self, view: View):
        self.view = view
        self.services, self.actor = view.services, view.actor
        self.rules: dict[str, Record[AlertRule]] = {}
        self.names: dict[str, str] = {}
        self.editing: str | None = None  # uid, or "" for a new rule
        self._rows: list[RuleRow] = []
        self.form = Form({
            "name": ("Name", w.Text(placeholder="e.g. Network outage"), HELP["name"]),
            "metric": ("Watch", w.Dropdown(options=[(v, k) for k, v in METRICS.items()]), HELP["metric"]),
            "topic": ("Topic", w.Dropdown(options=[]), HELP["topic"]),
            "grain": ("Period", w.Dropdown(options=GRAINS), HELP["grain"]),
            "threshold": ("Threshold", w.Dropdown(options=THRESHOLDS), HELP["threshold"]),
            "k": ("k (standard deviations)", w.FloatText(step=0.5), f"{HELP['k']} {K_RANGE[0]:g} to {K_RANGE[1]:g}."),
            "window": ("Window (periods)", w.IntText(), f"{HELP['window']} {WINDOW_RANGE[0]} to {WINDOW_RANGE[1]}."),
            "value": ("Fixed value", w.FloatText(), HELP["value"]),
            "direction": ("Fire when", w.Dropdown(options=DIRECTIONS), HELP["direction"]),
            "scope": ("Scope", w.Dropdown(options=SCOPES), HELP["scope"]),
            "datasets": ("Datasets", w.SelectMultiple(options=[], rows=5), HELP["datasets"]),
            "in_app": ("In the app", w.Checkbox(description="Notify signed-in users", indent=False), HELP["in_app"]),
            "emails": ("E-mails", w.Textarea(rows=2, placeholder="ops@example.com"), HELP["emails"]),
            "webhooks": ("Webhooks", w.Textarea(rows=2, placeholder="https://hooks.slack.com/services/…"),
                         HELP["webhooks"]),
            "enabled": ("Enabled", w.Checkbox(description="Check this rule after every task", indent=False),
                        HELP["enabled"]),
        })
        for key in ("metric", "threshold", "scope"):
            self.form[key].observe(lambda _c: self._show_relevant(), "value")
        self.title = html_widget("", "dl-h2")
        self.save_button = button("Create rule", self.save, style="primary")
        self.editor = box([self.title, self.form.root, box([self.save_button, button("Cancel", self.close)],
                                                           "dl-row", vertical=False)],
                          "dl-card", "dl-inline-panel", "dl-rule-editor")
        self.confirm = ConfirmBar()
        self.confirm.cancel_button.on_click(lambda _b: self.close())
        self.confirm_panel = box([self.confirm.root], "dl-card", "dl-inline-panel", "dl-danger-panel")
        self.table = InlineTable(header_row([("Rule", PARTS[0]), ("", PARTS[1])]))
        self.empty = html_widget(muted("No alert rule yet. A rule watches the analysed tweets after every task and "
                                       "notifies you when a day (or an hour) is unusual."))
        self.new_button = button("New rule", self.open_create, style="primary")
        self.root = box([box([box([html_widget(card_title("Alert rules", "checked when a task is done"),
                                               "dl-card-title"), self.new_button], "dl-row", vertical=False,
                                  justify_content="space-between", align_items="center"),
                              self.table.root, self.empty], "dl-card", "dl-alert-rules")], "dl-col")
        self._show_relevant()

    # -- reading ------------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        with self.view.guard(clear=False) as g:
            rules = self.services.alerts.list_rules(self.actor)
            page = self.services.files.list(self.actor, limit=500)
            topics = self.services.settings.topics()
        if g.failed:
            return
        self.names = {i["file"].uid: i["file"].data.filename for i in page.items}
        self.form["datasets"].options = [(name, uid) for uid, name in self.names.items()]
        self.form["topic"].options = topics
        self.rules = {r.uid: r for r in rules}
        while len(self._rows) < len(rules):
            self._rows.append(RuleRow(self))
        for row, rule in zip(self._rows, rules, strict=False):
            row.update(rule, self.names)
        self.table.set_rows([(r.uid, row.root) for row, r in zip(self._rows, rules, strict=False)])
        set_visible(self.empty, not rules and not self.table.inline)
        if self.editing and self.editing not in self.rules:
            self.editing = None

    def _show_relevant(self) -> None:
        """Only the fields that mean something for the chosen metric, threshold and scope."""
        metric, kind = self.form["metric"].value, self.form["threshold"].value
        self.form.show_row("topic", metric == "topic_volume")
        self.form.show_row("k", kind == "sigma")
        self.form.show_row("value", kind == "fixed")
        self.form.show_row("datasets", self.form["scope"].value == "datasets")

    # -- editor -------------------------------------------------------------------------------------------------

    def fill(self, data: AlertRule) -> None:
        form = self.form
        form.clear_errors()
        for key in ("name", "metric", "grain", "threshold", "k", "window", "value", "direction", "scope", "in_app",
                    "enabled"):
            form[key].value = getattr(data, key)
        topics = list(form["topic"].options)
        if data.topic and data.topic not in topics:
            form["topic"].options = [*topics, data.topic]
        form["topic"].value = data.topic or (topics[0] if topics else None)
        form["datasets"].value = tuple(u for u in data.datasets if u in self.names)
        form["emails"].value = "\n".join(data.emails)
        form["webhooks"].value = "\n".join(data.webhooks)  # masked by the service
        self._show_relevant()

    def values(self) -> dict[str, Any]:
        form = self.form
        out = {key: form[key].value for key in ("metric", "grain", "threshold", "k", "window", "value", "direction",
                                                "scope", "in_app", "enabled")}
        out.update(name=form["name"].value.strip(), topic=form["topic"].value or "",
                   datasets=list(form["datasets"].value), emails=split_lines(form["emails"].value),
                   webhooks=split_lines(form["webhooks"].value))
        return out

    def open_create(self) -> None:
        self.close()
        self.editing = ""
        self.fill(AlertRule(name=""))
        self.title.value = card_title("New alert rule")
        self.save_button.description = "Create rule"
        self.table.open(None, self.editor)
        set_visible(self.empty, False)

    def open_edit(self, uid: str) -> None:
        rule = self.rules.get(uid)
        if rule is None:
            self.view.alert.error("This alert rule no longer exists; the list was refreshed.")
            self.refresh()
            return
        self.close()
        self.editing = uid
        self.fill(rule.data)
        self.title.value = card_title(f"Edit {rule.data.name}")
        self.save_button.description = "Save rule"
        self.table.open(uid, self.editor)

    def close(self) -> None:
        self.table.close()
        self.editing = None
        self.form["webhooks"].value = ""  # a typed webhook address must not linger in the page's widget state
        set_visible(self.empty, not self.rules)

    def save(self) -> None:
        if self.editing is None:
            return
        uid, values = self.editing, self.values()
        self.form.clear_errors()
        with self.view.guard() as g:
            if uid:
                rule = self.services.alerts.update_rule(self.actor, uid, values)
            else:
                rule = self.services.alerts.create_rule(self.actor, values)
        if g.failed:
            self.form.report(self.view, g)
            return
        self.close()
        self.view.alert.success(f"The alert rule {rule.data.name} was {'saved' if uid else 'created'}; it is checked "
                                "after every task from now on.")
        self.refresh()

    def ask_delete(self, uid: str) -> None:
        rule = self.rules.get(uid)
        name = rule.data.name if rule else ""
        self.close()
        self.confirm.ask(fragment("Delete the alert rule <b>{{ name }}</b>? Its past alerts stay listed on the "
                                  "Alerts page.", name=name), lambda: self.delete(uid, name))
        self.table.open(uid, self.confirm_panel)

    def delete(self, uid: str, name: str) -> None:
        self.close()
        with self.view.guard() as g:
            self.services.alerts.delete_rule(self.actor, uid)
        if not g.failed:
            self.view.alert.success(f"The alert rule {name} was deleted.")
            self.refresh()
