"""Activity log: who did what to which target and how it ended, newest first, with filters and pages.

Entries come from ``services.logs.list`` (every mutating service call writes one, refused calls included). Times
are shown in the settings' time zone, and the date filters are days in that zone. The service names the users
and roles behind ids (``Page.extra["names"]``), so the table shows emails rather than uids.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ipywidgets as w

from dallosh.schemas import LogData, Record
from dallosh.ui.base import UIContext, View
from dallosh.ui.components import (
    badge,
    box,
    button,
    html_widget,
    human_time,
    muted,
    set_display_timezone,
)
from dallosh.ui.html import Markup, fragment, render

PAGE_SIZE = 25
RESULTS = (("Any result", ""), ("ok", "ok"), ("denied", "denied"), ("error", "error"))
#: Action names written outside the ``@audited`` service methods.
OTHER_ACTIONS = ("auth.login", "settings.check_model", "system.bootstrap", "control.proceed_task",
                 "control.retry_step", "control.handle_process")


def known_actions() -> list[str]:
    """Every action the app logs, and their prefixes (``users`` matches ``users.create``...), for the filter."""
    from dallosh.services import alerts, auth, corrections, files, roles, settings, tasks, users

    names = set(OTHER_ACTIONS)
    for module in (alerts, auth, corrections, files, roles, settings, tasks, users):
        for cls in vars(module).values():
            if isinstance(cls, type) and cls.__module__ == module.__name__:
                names.update(a for a in (getattr(f, "audited_action", None) for f in vars(cls).values()) if a)
    return sorted({n.split(".")[0] for n in names}) + sorted(names)


def result_badge(result: str) -> Markup:
    if result == "ok":
        return badge("ok", "ok")
    if result == "denied":
        return badge("denied", "warn")
    if result.startswith("error"):
        return fragment('{{ badge }}{% if message %} <span class="dl-log-error">{{ message }}</span>{% endif %}',
                        badge=badge("error", "err"), message=result.partition(":")[2].strip())
    return badge(result or "–", "idle")


def who(entry: Record[LogData], names: dict[str, str]) -> str:
    """The user's email as text, or a muted "anonymous" / "system" (Markup)."""
    uid = entry.data.requested_by
    if uid:
        return names.get(uid) or f"deleted user {uid[:8]}"
    anonymous = entry.data.action.startswith("auth.")
    return muted("anonymous" if anonymous else "system", inline=True)


#: How a named target reads: ``users/<uid>`` → "user admin@free.com", ``files/<uid>`` → "dataset octobre.csv";
#: the last word names one that no longer exists.
TARGET_KINDS = (("users/", "user", "user"), ("roles/", "role", "role"),
                ("settings/ai/local/", "local model", "local model"),
                ("settings/ai/external/", "external model", "external model"), ("files/", "dataset", "dataset"),
                ("tasks/", "task of", "task"), ("corrections/", "correction", "correction"))


#: A record's uid (``uuid4().hex``): a target ending in one that has no name any more was deleted.
UID = re.compile(r"[0-9a-f]{32}")


def target_text(entry: Record[LogData], names: dict[str, str]) -> Markup:
    """The target by its name; the stored path stays in the tooltip for whoever needs the id."""
    target = entry.data.target
    kind = next(((label, noun) for prefix, label, noun in TARGET_KINDS if target.startswith(prefix)), None)
    if target == "users/self":
        return fragment('<span title="{{ target }}">their own account</span>', target=target)
    if target in names:
        return fragment('<span title="{{ target }}">{{ kind }} <b>{{ name }}</b></span>', target=target,
                        kind=kind[0] if kind else "", name=names[target])
    if kind and UID.fullmatch(target.rsplit("/", 1)[-1]):  # named by its uid only, and gone since (deleted)
        return fragment('<span title="{{ target }}">a deleted {{ noun }}</span>', target=target, noun=kind[1])
    return fragment('<span title="{{ target }}">{{ target or "–" }}</span>', target=target)


def log_table(entries: list[Record[LogData]], names: dict[str, str]) -> Markup:
    rows = [(human_time(e.createdAt), who(e, names), e.data.action, target_text(e, names),
             result_badge(e.data.result)) for e in entries]
    return render("logs_table.html", rows=rows)


class LogsView(View):
    name = "logs"
    title = "Logs"

    def __init__(self, ctx: UIContext):
        super().__init__(ctx)
        self.page = 0
        self.total = 0
        self.entries: list[Record[LogData]] = []
        self.names: dict[str, str] = {}
        self.tz = ZoneInfo("UTC")
        self.user_filter = w.Combobox(placeholder="Any user (email)", ensure_option=False, continuous_update=False,
                                      layout=w.Layout(width="210px"))
        self.action_filter = w.Combobox(placeholder="Any action", options=known_actions(), ensure_option=False,
                                        continuous_update=False, layout=w.Layout(width="190px"))
        self.result_filter = w.Dropdown(options=RESULTS, layout=w.Layout(width="130px"))
        self.since = w.DatePicker(description="From", layout=w.Layout(width="196px"))
        self.until = w.DatePicker(description="To", layout=w.Layout(width="180px"))
        self.since.style.description_width, self.until.style.description_width = "42px", "26px"
        self._quiet = False
        for control in (self.user_filter, self.action_filter, self.result_filter, self.since, self.until):
            control.observe(lambda _c: None if self._quiet else self.go_to_page(0), "value")
        self.clear_button = button("Clear filters", self.clear_filters)
        self.refresh_button = button("Refresh", self.refresh)
        self.table = html_widget("", "dl-log-list")
        self.prev_button = button("‹ Previous", lambda: self.go_to_page(self.page - 1), "dl-small")
        self.next_button = button("Next ›", lambda: self.go_to_page(self.page + 1), "dl-small")
        self.page_label = html_widget("", "dl-muted")
        self.tz_note = html_widget("", "dl-muted")
        filters = box([self.user_filter, self.action_filter, self.result_filter, self.since, self.until,
                       self.clear_button], "dl-row", "dl-toolbar", vertical=False, align_items="center")
        self.set_heading("Activity log", "Every change made through the app, refused attempts included.",
                         self.refresh_button)
        self.body.children = [box([filters, self.tz_note], "dl-card"),
                              box([self.table, box([self.prev_button, self.page_label, self.next_button], "dl-row",
                                                   vertical=False, align_items="center")], "dl-card")]

    def on_show(self, **params: Any) -> None:
        self._quiet = True
        try:
            for key, control in (("user", self.user_filter), ("action", self.action_filter)):
                if params.get(key):
                    control.value = params[key]
        finally:
            self._quiet = False
        super().on_show(**params)

    # -- filters ----------------------------------------------------------------------------------------------

    def day_start(self, day: date) -> datetime:
        """Midnight of ``day`` in the app's time zone (the dates an admin picks are local days)."""
        return datetime.combine(day, time.min, tzinfo=self.tz)

    def filters(self) -> dict[str, Any]:
        return {"user": self.user_filter.value.strip() or None, "action": self.action_filter.value.strip() or None,
                "result": self.result_filter.value or None,
                "since": self.day_start(self.since.value) if self.since.value else None,
                "until": self.day_start(self.until.value + timedelta(days=1)) if self.until.value else None}

    def clear_filters(self) -> None:
        self._quiet = True
        try:
            self.user_filter.value = self.action_filter.value = self.result_filter.value = ""
            self.since.value = self.until.value = None
        finally:
            self._quiet = False
        self.go_to_page(0)

    def go_to_page(self, page: int) -> None:
        self.page = max(0, page)
        self.refresh()

    # -- list -------------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        with self.guard(clear=False) as g:
            zone = self.services.settings.general().timeZone
            try:
                self.tz = ZoneInfo(zone)
            except (ZoneInfoNotFoundError, ValueError):
                self.tz = ZoneInfo("UTC")
            set_display_timezone(zone)  # the App does the same on every navigation
            page = self.services.logs.list(self.actor, **self.filters(), skip=self.page * PAGE_SIZE,
                                           limit=PAGE_SIZE)
            emails = self._user_choices()
        if g.failed:
            return
        self.entries, self.total, self.names = page.items, page.total, page.extra.get("names", {})
        self.user_filter.options = emails
        if self.entries:
            self.table.value = log_table(self.entries, self.names)
        else:
            self.table.value = muted("No activity matches these filters.")
        first = self.page * PAGE_SIZE + 1 if self.entries else 0
        self.page_label.value = f"{first}–{self.page * PAGE_SIZE + len(self.entries)} of {self.total}"
        self.prev_button.disabled = self.page == 0
        self.next_button.disabled = (self.page + 1) * PAGE_SIZE >= self.total
        self.tz_note.value = f"Times are shown in {zone} (the app's time zone, set in Settings)."

    def _user_choices(self) -> list[str]:
        """Emails for the user filter when this admin may list users (otherwise typing one still works)."""
        if not self.can("read_users", "manage_users"):
            return []
        return [u.data.email for u in self.services.users.list(self.actor, limit=500).items]
