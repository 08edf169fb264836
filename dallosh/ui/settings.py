"""Settings (tabs General / AI configs / Delivery): app name, description, time zone, maintenance, upload limit,
approval of registrations, operator accounts and topics; the local and external model lists, the model mode and
defaults.

Everything is validated by ``services.settings`` (a ValidationError names its field, shown under that input).
API keys never reach the page in clear: the service masks them, and the model editor sends the masked value back
unchanged to keep the stored key (``SettingsService.update_model``). "Test connection" sends one tiny labelling
request with the stored key, off the message loop (``ctx.background``), and reports the latency or the exact error.
The Delivery tab (SMTP, test e-mail and webhook, recent deliveries) is ``dallosh.ui.delivery``.
"""

from __future__ import annotations

import re
import threading
from typing import Any
from zoneinfo import available_timezones

import ipywidgets as w

from dallosh.defaults import (
    PAGINATE_ROWS_DEFAULT,
    PAGINATE_ROWS_MAX,
    REQUEST_CONCURRENCY_DEFAULT,
    REQUEST_CONCURRENCY_MAX,
    RETRY_REQUESTS_DEFAULT,
    RETRY_REQUESTS_MAX,
)
from dallosh.schemas import SettingsData
from dallosh.services.settings import is_masked
from dallosh.ui.base import TabbedView, UIContext
from dallosh.ui.components import (
    badge,
    box,
    button,
    card_title,
    card_title_widget,
    html_widget,
    muted,
    set_display_timezone,
    set_visible,
)
from dallosh.ui.delivery import DeliveryPanel
from dallosh.ui.forms import ConfirmBar, Form, InlineTable, Tabs
from dallosh.ui.html import Markup, fragment, render

KINDS = ("local", "external")
KIND_TITLES = {"local": "Local models (Ollama)", "external": "External models (OpenAI-compatible)"}
DEFAULT_PROVIDER = {"local": "ollama", "external": "openai"}
URL_PLACEHOLDER = {"local": "http://localhost:11434", "external": "https://api.openai.com/v1"}
MODES = (("Automatic: external first, then local, then built-in", "automatic"),
         ("Local: local models, then built-in", "local"),
         ("External: external models, then built-in", "external"))
#: Seconds "Test connection" waits for an answer (the pipeline's own timeout is much longer).
CHECK_TIMEOUT_S = 20.0


def split_lines(text: str, *, commas: bool = False) -> list[str]:
    """One entry per line (operator handles may also be comma-separated); blank lines dropped."""
    parts = re.split(r"[\n,]" if commas else r"\n", text or "")
    return [p.strip() for p in parts if p.strip()]


def model_name(entry: dict[str, Any]) -> str:
    data = entry.get("data") or {}
    return data.get("label") or data.get("model") or entry.get("uid", "?")


def check_html(result: dict[str, Any] | None) -> Markup | str:
    if result is None:
        return ""
    if result.get("testing"):
        return render("settings_check.html", testing=True)
    return render("settings_check.html", testing=False, ok=result["ok"], latency_ms=result["latency_ms"],
                  message=result["message"])


class ModelRow:
    """One model of a list: what it is, its limits, its last connection test and its actions."""

    def __init__(self, view: SettingsView, kind: str):
        self.kind, self.uid, self.name = kind, "", ""
        self.info = html_widget("", "dl-td")
        self.test_button = button("Test connection", lambda: view.test_connection(self.kind, self.uid), "dl-small",
                                  tooltip="Send one tiny labelling request with the saved settings")
        self.edit_button = button("Edit", lambda: view.open_model_edit(self.kind, self.uid), "dl-small")
        self.delete_button = button("Delete", lambda: view.ask_model_delete(self.kind, self.uid), "dl-small",
                                    style="danger")
        self.check = html_widget("", "dl-check")
        set_visible(self.check, False)
        actions = box([self.test_button, self.edit_button, self.delete_button], "dl-tight", "dl-actions",
                      vertical=False, width="34%")
        self.info.layout.width = "66%"
        self.root = box([box([self.info, actions], "dl-row-nowrap", vertical=False, align_items="center",
                             width="100%"), self.check], "dl-tr", "dl-model-row")

    def update(self, entry: dict[str, Any], is_default: bool) -> None:
        self.uid, self.name = entry["uid"], model_name(entry)
        data = entry["data"]
        provider = data.get("provider") or DEFAULT_PROVIDER[self.kind]
        self.info.value = render("settings_model.html", name=self.name, data=data, provider=provider,
                                 default=badge("default", "ok") if is_default else "",
                                 concurrency=data.get("concurrency", REQUEST_CONCURRENCY_DEFAULT))

    def show_check(self, result: dict[str, Any] | None) -> None:
        self.check.value = check_html(result)
        set_visible(self.check, result is not None)
        for cls in ("dl-check-ok", "dl-check-err"):
            self.check.remove_class(cls)
        if result is not None and not result.get("testing"):
            self.check.add_class("dl-check-ok" if result["ok"] else "dl-check-err")
        testing = bool(result and result.get("testing"))
        self.test_button.disabled = testing
        self.test_button.description = "Testing…" if testing else "Test connection"


class SettingsView(TabbedView):
    name = "settings"
    title = "Settings"

    def __init__(self, ctx: UIContext):
        super().__init__(ctx)
        self.settings: SettingsData | None = None
        self.checks: dict[str, dict[str, Any]] = {}  # last connection test per model uid
        self.rows: dict[str, dict[str, ModelRow]] = {k: {} for k in KINDS}
        self._pools: dict[str, list[ModelRow]] = {k: [] for k in KINDS}
        self.editing: tuple[str, str | None] | None = None  # (kind, uid or None for a new model)
        self._lock = threading.RLock()

        # general
        self.general_form = Form({
            "appName": ("App name", w.Text(), "Shown in the top bar and on the sign-in page."),
            "appDescription": ("Description", w.Textarea(rows=2), "One sentence under the name on the landing "
                                                                   "page."),
            "timeZone": ("Time zone", w.Combobox(options=sorted(available_timezones()), ensure_option=False,
                                                 placeholder="e.g. Europe/Paris"),
                         "Every time in the app (logs, tasks, datasets) is shown in this zone."),
            "isMaintenance": ("Maintenance", w.Checkbox(description="Maintenance mode", indent=False),
                              "Pauses processing: starting tasks and adding datasets are blocked, browsing works."),
            "maxUploadMB": ("Upload limit (MB)", w.IntText(), "Largest CSV an analyst may upload, 1 to 2048 MB."),
            "requireApproval": ("Registrations", w.Checkbox(description="New accounts wait for approval",
                                                            indent=False),
                                "An administrator approves them in Users."),
            "operatorAccounts": ("Operator accounts", w.Textarea(rows=5),
                                 "The operator's own handles, one per line (without @): their tweets are flagged, "
                                 "not analysed as customers'."),
            "topics": ("Topics", w.Textarea(rows=8), "One per line: the LLM labels every tweet with one of them."),
        })
        self.general_save = button("Save general settings", self.save_general, style="primary")
        general_panel = box([box([self.general_form.root, self.general_save], "dl-card", "dl-settings-form")],
                            "dl-col")

        # AI: preferences
        self.prefs_form = Form({
            "mode": ("Mode", w.Dropdown(options=MODES), "Which models label tweets, in order; the built-in "
                                                        "offline analyzer always answers last."),
            "default_local_model_id": ("Default local", w.Dropdown(options=[("— none —", "")]),
                                       "Tried first among the local models."),
            "default_external_model_id": ("Default external", w.Dropdown(options=[("— none —", "")]),
                                          "Tried first among the external models."),
        })
        self.prefs_save = button("Save preferences", self.save_preferences, style="primary")
        prefs_card = box([card_title_widget("Model choice"), self.prefs_form.root, self.prefs_save],
                         "dl-card", "dl-prefs")

        # AI: model lists and the shared editor
        self.model_form = Form({
            "label": ("Label", w.Text(placeholder="optional, e.g. Llama on the GPU box"), ""),
            "provider": ("Provider", w.Dropdown(options=[]), ""),
            "model": ("Model", w.Text(placeholder="e.g. llama3.2:3b or gpt-4o-mini"), ""),
            "baseUrl": ("Base URL", w.Text(), ""),
            "apiKey": ("API key", w.Password(), ""),
            "retryRequests": ("Retries", w.IntText(), f"0 to {RETRY_REQUESTS_MAX} per request (then the next model "
                                                      "is tried)."),
            "paginateRowsLimit": ("Rows per page", w.IntText(), f"1 to {PAGINATE_ROWS_MAX}; progress is saved after "
                                                                "each page."),
            "concurrency": ("Concurrent requests", w.IntText(), f"1 to {REQUEST_CONCURRENCY_MAX}."),
        })
        self.model_form_title = html_widget("", "dl-h2")
        self.model_save = button("Add model", self.save_model, style="primary")
        self.model_editor = box([self.model_form_title, self.model_form.root,
                                 box([self.model_save, button("Cancel", self.close_model_panels)], "dl-row",
                                     vertical=False)], "dl-card", "dl-inline-panel")
        self.model_confirm = ConfirmBar()
        self.model_confirm_panel = box([self.model_confirm.root], "dl-card", "dl-inline-panel", "dl-danger-panel")
        self.model_confirm.cancel_button.on_click(lambda _b: self.close_model_panels())
        self.tables = {k: InlineTable() for k in KINDS}
        self.empty = {k: html_widget(muted(f"No {k} model yet: the built-in analyzer labels alone.")) for k in KINDS}
        self.add_buttons = {k: button(f"Add {k} model", lambda k=k: self.open_model_create(k), style="primary")
                            for k in KINDS}
        model_cards = [box([box([card_title_widget(KIND_TITLES[k]), self.add_buttons[k]],
                                "dl-row", vertical=False, justify_content="space-between", align_items="center"),
                            self.tables[k].root, self.empty[k]], "dl-card", f"dl-models-{k}") for k in KINDS]
        ai_panel = box([prefs_card, *model_cards], "dl-col")

        self.delivery = DeliveryPanel(self)
        self.tabs = Tabs({"general": ("General", general_panel), "ai": ("AI configs", ai_panel),
                          "delivery": ("Delivery", self.delivery.root)})
        self.set_heading("Settings", "How the app looks and behaves, which AI models label the tweets, and how "
                                     "reports and alerts are sent.")
        self.body.children = [self.tabs.root]

    # -- life cycle -------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        with self.guard(clear=False) as g:
            settings = self.services.settings.get(self.actor)
        if g.failed:
            return
        with self._lock:
            self.settings = settings
            self._fill_general()
            self._paint_ai()
        self.delivery.refresh()

    def _fill_general(self) -> None:
        general = self.settings.general  # type: ignore[union-attr]
        form = self.general_form
        form.clear_errors()
        form["appName"].value, form["appDescription"].value = general.appName, general.appDescription
        form["timeZone"].value, form["isMaintenance"].value = general.timeZone, general.isMaintenance
        form["maxUploadMB"].value, form["requireApproval"].value = general.maxUploadMB, general.requireApproval
        form["operatorAccounts"].value = "\n".join(general.operatorAccounts)
        form["topics"].value = "\n".join(general.topics)

    def _paint_ai(self) -> None:
        ai = self.settings.ai  # type: ignore[union-attr]
        prefs = self.prefs_form
        prefs.clear_errors()
        prefs["mode"].value = ai.preferences.mode
        for kind in KINDS:
            entries = getattr(ai, kind)
            default_id = getattr(ai.preferences, f"default_{kind}_model_id")
            select = prefs[f"default_{kind}_model_id"]
            select.options = [("— none —", ""), *((model_name(e), e["uid"]) for e in entries)]
            select.value = default_id if default_id in {e["uid"] for e in entries} else ""
            pool = self._pools[kind]
            while len(pool) < len(entries):
                pool.append(ModelRow(self, kind))
            self.rows[kind] = {}
            for row, entry in zip(pool, entries, strict=False):
                row.update(entry, entry["uid"] == default_id)
                row.show_check(self.checks.get(entry["uid"]))
                self.rows[kind][entry["uid"]] = row
            self.tables[kind].set_rows([(row.uid, row.root) for row in pool[:len(entries)]])
            set_visible(self.empty[kind], not entries)
            if self.editing and self.editing[0] == kind and not self.tables[kind].inline:
                self.editing = None

    # -- general ----------------------------------------------------------------------------------------------

    def general_changes(self) -> dict[str, Any]:
        form = self.general_form
        return {"appName": form["appName"].value.strip(), "appDescription": form["appDescription"].value.strip(),
                "timeZone": form["timeZone"].value.strip(), "isMaintenance": form["isMaintenance"].value,
                "maxUploadMB": form["maxUploadMB"].value, "requireApproval": form["requireApproval"].value,
                "operatorAccounts": split_lines(form["operatorAccounts"].value, commas=True),
                "topics": split_lines(form["topics"].value)}

    def save_general(self) -> None:
        self.general_form.clear_errors()
        with self.guard() as g:
            general = self.services.settings.update_general(self.actor, **self.general_changes())
        if g.failed:
            self.general_form.report(self, g)
            return
        set_display_timezone(general.timeZone)
        self.alert.success("General settings saved.")
        # Re-showing this view makes the App re-read its chrome (name, maintenance banner, time zone).
        self.ctx.navigate(self.name)
        self.refresh()

    # -- preferences ------------------------------------------------------------------------------------------

    def save_preferences(self) -> None:
        form = self.prefs_form
        form.clear_errors()
        with self.guard() as g:
            self.services.settings.set_preferences(
                self.actor, mode=form["mode"].value,
                default_local_model_id=form["default_local_model_id"].value,
                default_external_model_id=form["default_external_model_id"].value)
        if g.failed:
            form.report(self, g)
            return
        self.alert.success("Model preferences saved; the next tasks use them.")
        self.refresh()

    # -- model editor -----------------------------------------------------------------------------------------

    def close_model_panels(self) -> None:
        for table in self.tables.values():
            table.close()
        self.editing = None
        self.model_form["apiKey"].value = ""  # a typed key must not linger in the page's widget state

    def _fill_model_form(self, kind: str, data: dict[str, Any]) -> None:
        from dallosh.llm.registry import provider_names

        form = self.model_form
        form.clear_errors()
        providers = provider_names()
        provider = data.get("provider") or DEFAULT_PROVIDER[kind]
        form["provider"].options = sorted({*providers, provider})
        form["provider"].value = provider
        form["label"].value, form["model"].value = data.get("label", ""), data.get("model", "")
        form["baseUrl"].value = data.get("baseUrl", "")
        form["baseUrl"].placeholder = URL_PLACEHOLDER[kind]
        form["apiKey"].value = data.get("apiKey", "")
        stored = data.get("apiKey", "")
        form.set_hint("apiKey", f"Saved key {stored}: leave it to keep the key, replace it with a new one, or "
                      "empty the field to remove it." if stored
                      else "Needed by most external providers and by remote Ollama servers.")
        form["retryRequests"].value = data.get("retryRequests", RETRY_REQUESTS_DEFAULT)
        form["paginateRowsLimit"].value = data.get("paginateRowsLimit", PAGINATE_ROWS_DEFAULT)
        form["concurrency"].value = data.get("concurrency", REQUEST_CONCURRENCY_DEFAULT)

    def open_model_create(self, kind: str) -> None:
        self.close_model_panels()
        self.editing = (kind, None)
        self._fill_model_form(kind, {})
        self.model_form_title.value = card_title(f"New {kind} model")
        self.model_save.description = "Add model"
        self.tabs.select("ai")
        self.tables[kind].open(None, self.model_editor)
        set_visible(self.empty[kind], False)

    def _entry(self, kind: str, uid: str) -> dict[str, Any] | None:
        entries = getattr(self.settings.ai, kind) if self.settings else []
        return next((e for e in entries if e["uid"] == uid), None)

    def open_model_edit(self, kind: str, uid: str) -> None:
        entry = self._entry(kind, uid)
        if entry is None:
            self.alert.error("This model no longer exists; the list was refreshed.")
            self.refresh()
            return
        self.close_model_panels()
        self.editing = (kind, uid)
        self._fill_model_form(kind, entry["data"])  # apiKey arrives masked from the service
        self.model_form_title.value = card_title(f"Edit {model_name(entry)}")
        self.model_save.description = "Save model"
        self.tables[kind].open(uid, self.model_editor)

    def model_values(self) -> dict[str, Any]:
        form = self.model_form
        return {"label": form["label"].value.strip(), "provider": form["provider"].value,
                "model": form["model"].value.strip(), "baseUrl": form["baseUrl"].value.strip(),
                "apiKey": form["apiKey"].value.strip(), "retryRequests": form["retryRequests"].value,
                "paginateRowsLimit": form["paginateRowsLimit"].value, "concurrency": form["concurrency"].value}

    def save_model(self) -> None:
        if self.editing is None:
            return
        kind, uid = self.editing
        values = self.model_values()
        self.model_form.clear_errors()
        with self.guard() as g:
            if uid is None:
                entry = self.services.settings.add_model(self.actor, kind, values)
            else:
                entry = self.services.settings.update_model(self.actor, kind, uid, values)
            # From now on the form holds what the service shows: the masked key, never the typed one.
            self.model_form["apiKey"].value = entry["data"]["apiKey"]
        if g.failed:
            self.model_form.report(self, g)
            return
        if uid is not None and not is_masked(values["apiKey"]):
            self.checks.pop(uid, None)  # a new key (or none): the last test says nothing any more
        self.close_model_panels()
        self.alert.success(f"{model_name(entry)} was {'added' if uid is None else 'saved'}. Use “Test connection” "
                           "to check it answers.")
        self.refresh()

    def ask_model_delete(self, kind: str, uid: str) -> None:
        row = self.rows[kind].get(uid)
        name = row.name if row else uid
        self.close_model_panels()
        self.model_confirm.ask(fragment("Delete the {{ kind }} model <b>{{ name }}</b> and its API key? Tasks "
                                        "already labelled keep their labels.", kind=kind, name=name),
                               lambda: self.delete_model(kind, uid, name))
        self.tables[kind].open(uid, self.model_confirm_panel)

    def delete_model(self, kind: str, uid: str, name: str = "") -> None:
        self.close_model_panels()
        with self.guard() as g:
            self.services.settings.delete_model(self.actor, kind, uid)
        if not g.failed:
            self.checks.pop(uid, None)
            self.alert.success(f"{name or 'The model'} was deleted.")
            self.refresh()

    # -- test connection --------------------------------------------------------------------------------------

    def test_connection(self, kind: str, uid: str) -> None:
        """Mark the row as testing at once, then probe off the message loop (a dead host takes the timeout)."""
        self.checks[uid] = {"testing": True}
        row = self.rows[kind].get(uid)
        if row is not None:
            row.show_check(self.checks[uid])
        self.ctx.background(self._test_connection, kind, uid)

    def _test_connection(self, kind: str, uid: str) -> None:
        with self.guard(clear=False) as g:
            result = self.services.settings.check_model(self.actor, kind, uid, timeout=CHECK_TIMEOUT_S)
        if g.failed:
            self.checks.pop(uid, None)
            result = None
        else:
            self.checks[uid] = result
        with self._lock:
            row = self.rows[kind].get(uid)
            if row is not None:
                row.show_check(result)
