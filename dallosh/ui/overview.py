"""Overview: real numbers, refreshed live while shown.

Admins see users, datasets, rows analysed, tasks by status, queue length, workers alive, the health of MongoDB /
Redis / RabbitMQ / each configured LLM and the recent activity. Analysts see their datasets, tasks in progress
and the headline KPIs of the latest analyses (read from the analysed files through ``services.files.path``).

Numbers are re-read every ``NUMBERS_EVERY_S``; infrastructure probes (which can take seconds when something is
down) and LLM checks (a real labelling request) run less often, always in a background thread, so a dead broker
never freezes the page.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from dallosh.lifecycle import ACTIVE, STATUSES
from dallosh.services.results import DEFAULT_SCOPE
from dallosh.ui.base import UIContext, View
from dallosh.ui.components import (
    KPI,
    badge,
    box,
    button,
    card_title_widget,
    display_timezone,
    html_widget,
    human_int,
    human_time,
    status_badge,
    status_label,
    updated_now,
)
from dallosh.ui.glossary import kpi_help
from dallosh.ui.html import Markup, fragment, render
from dallosh.ui.logs import target_text

log = logging.getLogger(__name__)

#: Seconds between refreshes of the counts (cheap queries).
NUMBERS_EVERY_S = 5.0
#: Seconds between infrastructure probes (database, Redis, RabbitMQ).
HEALTH_EVERY_S = 30.0
#: Seconds between LLM checks: each one is a real request to the provider.
LLM_EVERY_S = 300.0
#: Timeout of one LLM check (the overview must not wait for a hanging provider).
LLM_CHECK_TIMEOUT_S = 10.0
#: Latest analyses whose KPIs the analyst overview shows.
LATEST_ANALYSES = 3


class RemoteQueue:
    """``TaskQueue``'s three figures the overview shows, asked of the API (one call per refresh)."""

    def __init__(self, system, actor):
        self.system, self.actor = system, actor
        self._last: dict[str, Any] = {}

    def _fetch(self) -> dict[str, Any]:
        self._last = self.system.queue(self.actor)
        return self._last

    def workers(self) -> list[dict[str, Any]]:
        return self._fetch()["workers"]

    def length(self) -> int:
        return int(self._last.get("length", 0)) if self._last else int(self._fetch()["length"])

    def alive(self) -> bool:
        return bool(self._fetch()["alive"])


def status_bars(counts: dict[str, int]) -> Markup:
    """Tasks by status as CSS bars (plotly would add seconds to the page start for one small chart)."""
    top = max(counts.values(), default=0) or 1
    bars = [(status_badge(status), 100 * counts[status] / top, counts[status]) for status in STATUSES
            if counts.get(status)]
    return render("overview_status_bars.html", bars=bars)


def person(uid: str | None, emails: dict[str, str], people: dict[str, str]) -> Markup | str:
    """Who acted: the name they gave (their email on hover), else their email; "system" for automatic work."""
    if not uid:
        return "system"
    email = emails.get(uid)
    if email is None:
        return "a deleted user"
    name = people.get(uid)
    return fragment('<span title="{{ email }}">{{ name }}</span>', email=email, name=name) if name else email


def health_rows(items: list[tuple[str, bool | None, str]]) -> Markup:
    return render("overview_health.html", items=items)


class Ticker:
    """Calls ``fn`` every ``every`` seconds in a daemon thread until stopped, while ``watched()`` is true."""

    def __init__(self, every: float, fn: Callable[[], None], watched: Callable[[], bool] = lambda: True):
        self.every, self.fn, self.watched = every, fn, watched
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="dallosh-ui-ticker")

    def start(self) -> Ticker:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            if not self.watched():
                continue
            try:
                self.fn()
            except Exception:  # noqa: BLE001 - a failed refresh is retried at the next tick
                log.exception("overview refresh failed")

    def stop(self) -> None:
        self._stop.set()


class OverviewView(View):
    name = "overview"
    title = "Overview"

    def __init__(self, ctx: UIContext):
        super().__init__(ctx)
        self.admin = self.actor.is_admin
        self.tickers: list[Ticker] = []
        self._queue = None
        self.health: dict[str, tuple[str, bool | None, str]] = {}
        self.llm_checked_at = 0.0
        self.updated = html_widget("", "dl-muted")
        self.refresh_button = button("Refresh now", self.refresh_all, "dl-small")
        self.set_heading("Overview", "Admin dashboard" if self.admin else "Your analyses at a glance", self.updated,
                         self.refresh_button)
        if self.admin:
            self.kpis = {k: KPI(label, help=kpi_help(k)) for k, label in (("users", "Users"), ("datasets", "Datasets"),
                                                          ("rows", "Rows analysed"), ("queue", "Queue length"),
                                                          ("workers", "Workers alive"))}
        else:
            self.kpis = {k: KPI(label, help=kpi_help(k)) for k, label in (("mine", "Your datasets"),
                                                                        ("active", "Tasks in progress"),
                                                          ("done", "Datasets analysed"), ("rows", "Rows analysed"))}
        self.status_html = html_widget("")
        self.health_html = html_widget("")
        self.activity_html = html_widget("")
        self.latest_html = html_widget("")
        self.progress_html = html_widget("")
        kpi_row = box(self.kpis.values(), "dl-row", vertical=False)
        if self.admin:
            middle = box([box([card_title_widget("Tasks by status"), self.status_html], "dl-card",
                              flex="1 1 320px"),
                          box([card_title_widget("Health"), self.health_html], "dl-card",
                              flex="2 1 420px")], "dl-row", vertical=False)
            bottom = box([card_title_widget("Recent activity"), self.activity_html], "dl-card")
        else:
            middle = box([box([card_title_widget("Latest analyses"), self.latest_html], "dl-card",
                              flex="2 1 420px"),
                          box([card_title_widget("Tasks by status"), self.status_html], "dl-card",
                              flex="1 1 300px")], "dl-row", vertical=False)
            bottom = box([card_title_widget("In progress"), self.progress_html], "dl-card")
        self.body.children = [kpi_row, middle, bottom]

    # -- life cycle -----------------------------------------------------------------------------------------

    def on_show(self, **params: Any) -> None:
        self.visible = True
        self.refresh()
        if self.admin:
            self.ctx.background(self.refresh_health)
        if self.ctx.live and not self.tickers:
            self.tickers = [Ticker(NUMBERS_EVERY_S, self.refresh, self.ctx.watched).start()]
            if self.admin:
                self.tickers.append(Ticker(HEALTH_EVERY_S, self.refresh_health, self.ctx.watched).start())

    def on_hide(self) -> None:
        super().on_hide()
        for ticker in self.tickers:
            ticker.stop()
        self.tickers = []

    def refresh_all(self) -> None:
        self.llm_checked_at = 0.0
        self.refresh()
        if self.admin:
            self.ctx.background(self.refresh_health)

    # -- numbers --------------------------------------------------------------------------------------------

    @property
    def task_queue(self):
        if self._queue is None:
            if hasattr(self.services, "system"):  # the API client: the queue is the API's to reach
                self._queue = RemoteQueue(self.services.system, self.actor)
            else:
                from dallosh.queue import TaskQueue

                self._queue = TaskQueue(self.services.config)
        return self._queue

    def refresh(self) -> None:
        with self.guard(clear=False) as g:
            if self.admin:
                self._refresh_admin()
            else:
                self._refresh_analyst()
        if not g.failed:
            self.updated.value = updated_now()

    def _refresh_admin(self) -> None:
        s, a = self.services, self.actor
        counts = s.tasks.counts_by_status(a)
        self.kpis["users"].set(human_int(s.users.list(a, limit=1).total))
        self.kpis["datasets"].set(human_int(s.files.list(a, limit=1).total))
        self.kpis["rows"].set(human_int(s.tasks.rows_analysed(a)), f"{counts.get('done', 0)} datasets done")
        try:
            workers = self.task_queue.workers()
            busy = sum(1 for x in workers if x.get("job"))
            self.kpis["queue"].set(human_int(self.task_queue.length()), "jobs waiting")
            self.kpis["workers"].set(human_int(len(workers)), f"{busy} busy")
        except Exception as exc:  # noqa: BLE001 - Redis down is a health fact, not a page error
            log.info("queue unavailable: %s", exc)
            self.kpis["queue"].set("–", "Redis unavailable")
            self.kpis["workers"].set("–", "Redis unavailable")
        self.status_html.value = status_bars(counts)
        page = s.logs.list(a, limit=8)
        names, people = page.extra.get("names", {}), page.extra.get("people", {})
        rows = []
        for entry in page.items:
            result = entry.data.result
            family = "ok" if result == "ok" else "warn" if result == "denied" else "err"
            rows.append((human_time(entry.createdAt), person(entry.data.requested_by, names, people),
                         entry.data.action, target_text(entry, names), badge(result[:60], family)))
        self.activity_html.value = render("overview_activity.html", rows=rows, tz=display_timezone())

    def _refresh_analyst(self) -> None:
        s, a = self.services, self.actor
        counts = s.tasks.counts_by_status(a)
        active = sum(counts.get(x, 0) for x in ACTIVE)
        self.kpis["mine"].set(human_int(s.files.count_owned(a)), "uploaded by you")
        self.kpis["active"].set(human_int(active), f"{counts.get('paused', 0)} paused")
        self.kpis["done"].set(human_int(counts.get("done", 0)))
        self.kpis["rows"].set(human_int(s.tasks.rows_analysed(a)))
        self.status_html.value = status_bars(counts)
        latest = s.tasks.list(a, status="done", limit=LATEST_ANALYSES).items
        cards: list[dict[str, Any]] = []
        for task in latest:
            try:
                k = s.results.headline(a, task.data.file_id)
            except Exception as exc:  # noqa: BLE001 - one unreadable file must not hide the others
                cards.append({"filename": task.data.filename, "error": str(exc)})
                continue
            cards.append({"filename": task.data.filename, "error": "", "updated": human_time(task.updatedAt),
                          "rows": human_int(k["rows"]), "kpis": k})
        self.latest_html.value = render("overview_latest.html", rows=cards, scope=DEFAULT_SCOPE)
        running = [t for t in s.tasks.list(a, limit=200).items if t.data.status in ACTIVE or
                   t.data.status == "paused"]
        lines = []
        for task in running:
            prog = task.data.progress
            page = f"page {prog.get('page')} of {prog.get('pages')}" if prog.get("pages") else ""
            lines.append((task.data.filename, status_badge(task.data.status),
                          page or status_label(prog.get("step") or "")))
        self.progress_html.value = render("overview_progress.html", rows=lines)

    # -- health ---------------------------------------------------------------------------------------------

    def refresh_health(self) -> None:
        """Probe the database, Redis, RabbitMQ and (every LLM_EVERY_S) each configured LLM."""
        from dallosh.db.embedded import status as db_status
        from dallosh.events import broker_alive

        if not self.health:
            for key, name in (("db", "MongoDB"), ("redis", "Redis (queue)"), ("rabbitmq", "RabbitMQ (events)")):
                self.health[key] = (name, None, "")
            self._paint_health()
        if hasattr(self.services, "system"):  # the API client: the API probes what it alone may reach
            with self.guard(clear=False):
                probes = self.services.system.health(self.actor)
                for key, name in (("db", "MongoDB"), ("redis", "Redis (queue)"), ("rabbitmq", "RabbitMQ (events)")):
                    self.health[key] = (name, *probes[key])
        else:
            config = self.services.config
            db = db_status(config)
            self.health["db"] = ("MongoDB", db.kind != "down", db.describe())
            redis_ok = self.task_queue.alive()
            self.health["redis"] = ("Redis (queue)", redis_ok, config.redis_url.split("@")[-1])
            broker = broker_alive(config)
            self.health["rabbitmq"] = ("RabbitMQ (events)", broker, f"exchange '{config.events_exchange}'")
        self._paint_health()
        if time.monotonic() - self.llm_checked_at >= LLM_EVERY_S or not self.llm_checked_at:
            self.llm_checked_at = time.monotonic()
            for key in [k for k in self.health if k.startswith("llm:")]:
                del self.health[key]
            with self.guard(clear=False):
                for model in self.services.settings.check_models(self.actor, timeout=LLM_CHECK_TIMEOUT_S):
                    self.health[f"llm:{model['uid']}"] = (f"LLM {model['kind']}: {model['model']}", model["ok"],
                                                          model["message"])
            self.health["llm:builtin"] = ("Built-in analyzer", True, "offline fallback, always available")
            self._paint_health()

    def _paint_health(self) -> None:
        self.health_html.value = health_rows(list(self.health.values()))
