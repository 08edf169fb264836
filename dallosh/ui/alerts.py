"""Alerts: what the alert rules found, newest first (all rules or one) — the rule, the value against its
threshold, the period, what became of its e-mails and webhooks, and why (the terms, hashtags and topics that rose,
their share of the rise, three representative tweets), with a button that opens Analysis on that day (that hour,
for an hourly rule), filtered like the rule (its datasets, negative tweets / the topic / priority 2).

``services.alerts.list_firings`` decides what a user sees (readers of datasets: the firings of datasets that still
exist; admins: all). Also the target of an alert's notification (``dallosh.ui.notifications``), which opens this
view with ``firing=<uid>``: that firing is shown first.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

import ipywidgets as w

from dallosh.alerts import messages
from dallosh.schemas import Record, dump
from dallosh.schemas.alerts import AlertFiring
from dallosh.ui.base import UIContext, View
from dallosh.ui.components import box, button, html_widget, human_time, muted, set_visible
from dallosh.ui.html import render

log = logging.getLogger(__name__)

PAGE_SIZE = 10
#: Seconds an alert's toast stays (it asks to look at something: as long as a failure's).
TOAST_S = 30.0


def alert_toast(ctx: UIContext, message: dict[str, Any], can_open: Callable[[str], bool],
                navigate: Callable[..., None]) -> Any:
    """The toast for an ``alert_fired`` event, or None when this user may not see that firing (the service
    decides: the event carries the firing's uid only)."""
    from dallosh.errors import DalloshError
    from dallosh.ui.notifications import Toast

    uid = str(message.get("firing_uid") or "")
    if not uid:
        return None
    try:
        record = ctx.services.alerts.get_firing(ctx.actor, uid)
    except DalloshError:
        return None
    except Exception:  # noqa: BLE001 - the database is unreachable: the Alerts page shows it when opened
        log.warning("could not read alert %s for a notification", uid)
        return None
    f = dump(record.data)
    label, action = "", None
    if can_open("alerts"):
        label, action = "See why", lambda: navigate("alerts", firing=uid)
    text = f"{messages.period_words(record.data.period, record.data.grain)}: {messages.summary(f)}"
    return Toast(f"alert:{uid}", "warn", f"Alert: {record.data.rule_name}", text, "", label, action,
                 time.monotonic() + TOAST_S)


#: What a delivery's status means, in the words of the Alerts page.
STATUS_WORDS = {"sent": "sent", "queued": "on their way", "retrying": "being retried", "failed": "not delivered"}


def channels(f: AlertFiring, outcome: dict[str, dict[str, int]] | None = None, *, admin: bool = False) -> str:
    """Where the firing went: in the app, and its e-mails and webhooks by what became of them (``outcome``:
    ``services.alerts.delivery_outcomes``; without it, as queued)."""
    parts = ["shown in the app"] if f.in_app else []
    failed = False
    for kind, noun, queued in (("email", "e-mail", f.emails_sent), ("webhook", "webhook", f.webhooks_sent)):
        counts = (outcome or {}).get(kind) or ({"queued": queued} if queued else {})
        for status in ("sent", "queued", "retrying", "failed"):
            n = counts.get(status, 0)
            if n:
                verb = STATUS_WORDS[status] if status != "queued" or n > 1 else "on its way"
                parts.append(f"{n} {noun}{'s' if n > 1 else ''} {verb}")
                failed = failed or status == "failed"
    text = ", ".join(parts)
    if failed and admin:
        text += " (Settings › Delivery says why and retries)"
    return text


def firing_html(record: Record[AlertFiring], outcome: dict[str, dict[str, int]] | None = None, *,
                admin: bool = False) -> Any:
    """The card's HTML for one firing (``templates/alerts_firing.html``); why e-mails or webhooks were not sent
    is for admins (they set delivery up)."""
    f = dump(record.data)
    return render("alerts_firing.html", title=messages.title(f), summary=messages.summary(f),
                  threshold=messages.threshold_words(f), datasets=", ".join(record.data.dataset_names),
                  fired=human_time(record.createdAt), channels=channels(record.data, outcome, admin=admin),
                  delivery_error=record.data.delivery_error if admin else "", explained=messages.explanation_summary(f),
                  rises=messages.rise_rows(record.data.explanation),
                  tweets=[{"text": t["full_text"], "line": messages.tweet_line(t, record.data.tz)}
                          for t in record.data.explanation.get("tweets", [])])


class FiringCard:
    def __init__(self, view: AlertsView):
        self.uid = ""
        self.admin = view.can("manage_app")
        self.html = html_widget("", "dl-spike")
        self.open_button = button("Open Analysis on that day", lambda: view.open_analysis(self.uid), "dl-small",
                                  style="primary", tooltip="Analysis with this alert's datasets, period and filter")
        set_visible(self.open_button, view.can_open("analysis"))
        self.root = box([self.html, box([self.open_button], "dl-row", vertical=False)], "dl-card", "dl-firing")

    def update(self, record: Record[AlertFiring], outcome: dict[str, dict[str, int]] | None = None) -> None:
        self.uid = record.uid
        self.html.value = firing_html(record, outcome, admin=self.admin)
        self.open_button.description = f"Open Analysis on that {'hour' if record.data.grain == 'hour' else 'day'}"


class AlertsView(View):
    name = "alerts"
    title = "Alerts"

    def __init__(self, ctx: UIContext):
        super().__init__(ctx)
        self.page = 0
        self.total = 0
        self.firings: dict[str, Record[AlertFiring]] = {}
        self.focus: str | None = None
        self._cards: list[FiringCard] = []
        self.cards = box([], "dl-col", "dl-firings")
        self.empty = html_widget(muted("No alert yet. Alert rules are set by an administrator (Settings › Alert "
                                       "rules); each one is checked when a dataset's processing is done."))
        #: Which rule's firings are listed ("": every rule's).
        self.rule_filter = w.Dropdown(options=[("All rules", "")], value="", description="Rule",
                                      layout=w.Layout(width="320px"))
        self.rule_filter.style.description_width = "40px"
        self._quiet = False
        self.rule_filter.observe(lambda _c: None if self._quiet else self.go(0), "value")
        self.pager = html_widget("", "dl-muted")
        self.previous_button = button("Newer", lambda: self.go(self.page - 1), "dl-small")
        self.next_button = button("Older", lambda: self.go(self.page + 1), "dl-small")
        self.set_heading("Alerts", "What the alert rules found, newest first, and why.",
                         button("Refresh", self.refresh, "dl-small"))
        self.body.children = [box([self.rule_filter], "dl-row", vertical=False), self.empty, self.cards,
                              box([self.previous_button, self.pager, self.next_button], "dl-row", vertical=False,
                                  align_items="center")]

    def on_show(self, firing: str | None = None, **params: Any) -> None:
        if firing:
            self.focus, self.page = firing, 0
        super().on_show(**params)

    def go(self, page: int) -> None:
        self.page = max(0, page)
        self.refresh()

    def refresh(self) -> None:
        with self.guard(clear=False) as g:
            rules = self.services.alerts.firing_rules(self.actor)
            rule = self.rule_filter.value if self.rule_filter.value in {uid for uid, _ in rules} else ""
            page = self.services.alerts.list_firings(self.actor, rule_id=rule or None, skip=self.page * PAGE_SIZE,
                                                     limit=PAGE_SIZE)
            focused = None
            if self.focus and self.focus not in {r.uid for r in page.items}:
                focused = self.services.alerts.get_firing(self.actor, self.focus)
            items = ([focused] if focused else []) + list(page.items)
            outcomes = self.services.alerts.delivery_outcomes(self.actor, [r.uid for r in items])
        if g.failed:
            return
        self._show_rules(rules, rule)
        self.total = page.total
        self.firings = {r.uid: r for r in items}
        while len(self._cards) < len(items):
            self._cards.append(FiringCard(self))
        for card, record in zip(self._cards, items, strict=False):
            card.update(record, outcomes.get(record.uid))
        self.cards.children = [c.root for c in self._cards[:len(items)]]
        set_visible(self.empty, not items)
        set_visible(self.rule_filter, len(rules) > 1)
        pages = max(1, -(-self.total // PAGE_SIZE))
        self.pager.value = f"page {self.page + 1} of {pages} · {self.total} alert{'s' if self.total != 1 else ''}"
        self.previous_button.disabled = self.page == 0
        self.next_button.disabled = self.page + 1 >= pages

    def _show_rules(self, rules: list[tuple[str, str]], chosen: str) -> None:
        """The rule filter's choices: the rules that fired (a rule renamed since shows its latest name)."""
        names = [name for _, name in rules]
        options = [("All rules", "")] + [(name if names.count(name) == 1 else f"{name} ({uid[:6]})", uid)
                                         for uid, name in rules]
        if options != list(self.rule_filter.options) or self.rule_filter.value != chosen:
            self._quiet = True
            try:
                self.rule_filter.options = options
                self.rule_filter.value = chosen
            finally:
                self._quiet = False

    def open_analysis(self, uid: str) -> None:
        """Analysis on the firing's datasets and day, filtered like the rule (the page's own shared-link state)."""
        record = self.firings.get(uid)
        if record is None:
            return
        state = messages.analysis_state(dump(record.data))
        view = self.ctx.navigate("analysis", datasets=list(record.data.datasets))
        apply = getattr(view, "apply_address_state", None)
        if apply is not None:
            apply(state.to_fragment())
