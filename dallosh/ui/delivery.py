"""The Settings page's Delivery tab: the SMTP server and sender (password masked), the app's public address,
"Send a test e-mail", a webhook test, and the recent deliveries with their status, attempts and last error, each
failed one with a Retry button.

Every rule is ``services.delivery``'s: it masks the password (the form sends the masked value back to keep the
stored one, like the API keys), validates the settings (errors land under their field) and checks that the user
is an admin. Tests run off the message loop (``ctx.background``): a dead server takes its timeout.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from dallosh.schemas.settings import DeliverySettings
from dallosh.services.settings import is_masked
from dallosh.ui.components import badge, box, button, card_title_widget, html_widget, human_time, muted, set_visible
from dallosh.ui.forms import Form
from dallosh.ui.html import render

if TYPE_CHECKING:
    from dallosh.ui.settings import SettingsView

SECURITY = (("STARTTLS (port 587)", "starttls"), ("TLS (port 465)", "tls"),
            ("None: a relay on your own network only", "none"))
#: Deliveries listed (failed and retrying first).
RECENT = 20
STATUS_FAMILY = {"sent": "ok", "queued": "idle", "retrying": "warn", "failed": "err"}
KIND_NAMES = {"email": "E-mail", "webhook": "Webhook"}
FIELDS = ("smtpHost", "smtpPort", "smtpSecurity", "smtpUser", "smtpPassword", "fromAddress", "publicUrl")


def setting_help(name: str) -> str:
    """A delivery setting's help, as declared once in ``DeliverySettings``."""
    return next(f.metadata.get("help", "") for f in dataclasses.fields(DeliverySettings) if f.name == name)


def result_html(result: dict[str, Any] | None):
    if result is None:
        return ""
    return render("delivery_result.html", testing=result.get("testing", ""), ok=result.get("ok", False),
                  message=result.get("message", ""))


class DeliveryRow:
    """One delivery of the list, with Retry when it failed."""

    def __init__(self, panel: DeliveryPanel):
        self.uid = ""
        self.info = html_widget("", "dl-td", "dl-wrap-cell")  # the last error wraps, whole
        self.info.layout.width = "88%"
        self.retry_button = button("Retry", lambda: panel.retry(self.uid), "dl-small",
                                   tooltip="Send it again now (then retried on failure as usual)")
        self.root = box([self.info, self.retry_button], "dl-tr", "dl-delivery-row", vertical=False,
                        align_items="center", width="100%")

    def update(self, record) -> None:
        self.uid = record.uid
        d = record.data
        attempts = f"{d.attempts} attempt{'s' if d.attempts != 1 else ''}"
        when = human_time(d.sentAt or d.lastAttemptAt or record.createdAt)
        self.info.value = render("delivery_row.html", status=badge(d.status, STATUS_FAMILY.get(d.status, "idle")),
                                 kind=KIND_NAMES.get(d.kind, d.kind), target=d.target, subject=d.subject,
                                 detail=f"{attempts} · {when}", error=d.lastError if d.status != "sent" else "")
        set_visible(self.retry_button, d.status == "failed")


class DeliveryPanel:
    """The tab's content; ``view`` (the Settings view) gives the services, the actor, the alert and the guard."""

    def __init__(self, view: SettingsView):
        self.view = view
        self.form = Form({
            "smtpHost": ("Mail server", w.Text(placeholder="e.g. smtp.office365.com"), setting_help("smtpHost")),
            "smtpPort": ("Port", w.IntText(), setting_help("smtpPort")),
            "smtpSecurity": ("Security", w.Dropdown(options=SECURITY), setting_help("smtpSecurity")),
            "smtpUser": ("User name", w.Text(placeholder="e.g. reports@yourcompany.com"), setting_help("smtpUser")),
            "smtpPassword": ("Password", w.Password(), setting_help("smtpPassword")),
            "fromAddress": ("Sender address", w.Text(placeholder="reports@yourcompany.com"),
                            setting_help("fromAddress")),
            "publicUrl": ("App address", w.Text(placeholder="https://dallosh.yourcompany.com/"),
                          setting_help("publicUrl")),
        })
        self.save_button = button("Save delivery settings", self.save, style="primary")
        smtp_card = box([card_title_widget("E-mail (SMTP)", "reports and alerts are sent through it"),
                         self.form.root, self.save_button], "dl-card", "dl-settings-form", "dl-delivery-smtp")

        self.test_to = w.Text(placeholder="name@example.com", layout=w.Layout(width="320px"))
        self.test_button = button("Send a test e-mail", self.send_test, tooltip="Sends a short e-mail now with "
                                  "the saved settings")
        self.test_result = html_widget("", "dl-check")
        self.hook_url = w.Text(placeholder="https://hooks.slack.com/services/… or a Teams webhook address",
                               layout=w.Layout(width="480px"))
        self.hook_button = button("Test webhook", self.test_hook, tooltip="Posts a short test message to it now")
        self.hook_result = html_widget("", "dl-check")
        for result in (self.test_result, self.hook_result):
            set_visible(result, False)
        tests_card = box([
            card_title_widget("Tests"),
            html_widget(muted("Save the settings first: the test uses the saved ones.")),
            box([self.test_to, self.test_button], "dl-row", vertical=False, align_items="center"), self.test_result,
            html_widget(muted("Slack and Microsoft Teams incoming webhooks are supported; the address is kept with "
                              "each alert or subscription, never shown in full.")),
            box([self.hook_url, self.hook_button], "dl-row", vertical=False, align_items="center"),
            self.hook_result], "dl-card", "dl-delivery-tests")

        self.summary = html_widget("", "dl-muted")
        self.refresh_button = button("Refresh", self.refresh_list, "dl-small")
        self.rows_box = box([], "dl-table", "dl-deliveries")
        self.empty = html_widget(muted("Nothing sent yet: alerts and subscribed reports appear here."))
        self._rows: list[DeliveryRow] = []
        list_card = box([box([card_title_widget("Recent deliveries", "failed ones first"), self.refresh_button],
                             "dl-row", vertical=False, justify_content="space-between", align_items="center"),
                         self.summary, self.rows_box, self.empty], "dl-card", "dl-delivery-list")
        self.root = box([smtp_card, tests_card, list_card], "dl-col")

    @property
    def services(self):
        return self.view.services

    # -- settings ---------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        with self.view.guard(clear=False) as g:
            settings = self.services.delivery.smtp_settings(self.view.actor)
        if g.failed:
            return
        self.fill(settings)
        if not self.test_to.value:
            self.test_to.value = self.view.actor.email
        self.refresh_list()

    def fill(self, settings: DeliverySettings) -> None:
        self.form.clear_errors()
        for name in FIELDS:
            self.form[name].value = getattr(settings, name)
        stored = settings.smtpPassword
        self.form.set_hint("smtpPassword", f"Saved password {stored}: leave it to keep it, type a new one to "
                           "replace it, or empty the field to remove it." if stored else setting_help("smtpPassword"))

    def values(self) -> dict[str, Any]:
        values = {name: self.form[name].value for name in FIELDS}
        for name in ("smtpHost", "smtpUser", "fromAddress", "publicUrl"):
            values[name] = values[name].strip()
        return values

    def save(self) -> None:
        self.form.clear_errors()
        values = self.values()
        with self.view.guard() as g:
            settings = self.services.delivery.update(self.view.actor, **values)
        if g.failed:
            self.form.report(self.view, g)
            return
        self.fill(settings)  # the password field now holds the masked value, never the typed one
        changed = "" if is_masked(values["smtpPassword"]) or not values["smtpPassword"] else " The new password is "\
                  "stored for sending only."
        self.view.alert.success("Delivery settings saved." + changed + " Send a test e-mail to check them.")

    # -- tests ------------------------------------------------------------------------------------------------

    def _show(self, widget, btn, label: str, result: dict[str, Any] | None) -> None:
        widget.value = result_html(result)
        set_visible(widget, result is not None)
        for cls in ("dl-check-ok", "dl-check-err"):
            widget.remove_class(cls)
        testing = bool(result and result.get("testing"))
        if result is not None and not testing:
            widget.add_class("dl-check-ok" if result["ok"] else "dl-check-err")
        btn.disabled = testing
        btn.description = "Sending…" if testing else label

    def send_test(self) -> None:
        self._show(self.test_result, self.test_button, "Send a test e-mail", {"testing": "Sending the test e-mail…"})
        self.view.ctx.background(self._send_test, self.test_to.value.strip())

    def _send_test(self, to: str) -> None:
        with self.view.guard() as g:
            result = self.services.delivery.send_test_email(self.view.actor, to)
        self._show(self.test_result, self.test_button, "Send a test e-mail", None if g.failed else result)

    def test_hook(self) -> None:
        self._show(self.hook_result, self.hook_button, "Test webhook", {"testing": "Posting the test message…"})
        self.view.ctx.background(self._test_hook, self.hook_url.value.strip())

    def _test_hook(self, url: str) -> None:
        with self.view.guard() as g:
            result = self.services.delivery.test_webhook(self.view.actor, url)
        self._show(self.hook_result, self.hook_button, "Test webhook", None if g.failed else result)

    # -- recent deliveries ------------------------------------------------------------------------------------

    def refresh_list(self) -> None:
        with self.view.guard(clear=False) as g:
            page = self.services.delivery.list(self.view.actor, limit=RECENT)
        if g.failed:
            return
        while len(self._rows) < len(page.items):
            self._rows.append(DeliveryRow(self))
        for row, record in zip(self._rows, page.items, strict=False):
            row.update(record)
        self.rows_box.children = [row.root for row in self._rows[:len(page.items)]]
        counts = page.extra.get("counts", {})
        self.summary.value = muted(" · ".join(f"{counts.get(s, 0)} {s}" for s in ("failed", "retrying", "queued",
                                                                                     "sent")))
        set_visible(self.summary, bool(page.total))
        set_visible(self.empty, not page.items)

    def retry(self, uid: str) -> None:
        with self.view.guard() as g:
            self.services.delivery.retry(self.view.actor, uid)
        if not g.failed:
            self.view.alert.success("The delivery was queued again; its status updates here.")
        self.refresh_list()
