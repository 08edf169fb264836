"""Notifications: a task the user may see finished (done, failed, stopped) → a toast on whatever view is shown.

Events reach them by the tasks view's live path (``dallosh.ui.tasks``): ``services.event_subscriber`` (the broker,
or the API's event stream for kernels without broker credentials), bound here to the three finishing events
only, for as long as the App lives. The subscriber's callback only queues the message; an applier thread reads the
task through the tasks service, which checks that this user may read tasks (a message about a task they may not
see shows nothing), and adds the toast. The task document, not the message, names the dataset.

Toasts stack newest first (at most ``MAX_TOASTS``) and leave after ``TOAST_S`` or when closed. Each one offers the
next step: the analysis of a finished dataset, the task of a failed or stopped one.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import ipywidgets as w

from dallosh.errors import DalloshError
from dallosh.ui import registry
from dallosh.ui.base import UIContext, drain
from dallosh.ui.components import box, button, html_widget, human_int, set_visible
from dallosh.ui.html import render

log = logging.getLogger(__name__)

#: The events that end a task's processing, and how the toast names each.
FINISHED = {"done": ("ok", "Analysis ready"), "on_error": ("err", "Analysis failed"),
            "stopped": ("warn", "Processing stopped")}
#: Seconds a toast stays: long enough to read it and click; a failure stays longer (it asks for an action).
TOAST_S = {"done": 15.0, "stopped": 15.0, "on_error": 30.0}
#: Toasts shown at once: a burst of finishing tasks must not cover the page (the oldest leave first).
MAX_TOASTS = 4
#: Characters of an error message shown in a toast; the whole message is in its tooltip and on the task.
ERROR_CHARS = 160
#: Permissions that let a user see tasks (the tasks service checks them again for every toast).
READERS = ("read_tasks", "manage_tasks")
#: An alert rule fired (``services.alerts``): readers of datasets get a toast (``dallosh.ui.alerts.alert_toast``).
ALERT_EVENT = "alert_fired"
ALERT_READERS = ("read_datasets", "manage_datasets", "manage_app")


@dataclass
class Toast:
    """One notification: what it says (``kind``, ``title``, ``text``), its action and when it leaves."""

    key: str
    kind: str
    title: str
    text: str
    detail: str
    action_label: str
    action: Callable[[], None] | None
    expires_at: float
    root: w.Box | None = None


def toast_for(event: str, task: Any, details: dict[str, Any], can_open: Callable[[str], bool],
              navigate: Callable[..., None]) -> Toast | None:
    """The toast for a finishing ``event`` of ``task`` (a Record of TaskData), or None for other events."""
    if event not in FINISHED:
        return None
    kind, title = FINISHED[event]
    data = task.data
    name = data.filename or "A dataset"
    detail, label, action = "", "", None
    if event == "done":
        rows = details.get("rows") or ((data.stats.get("appending_columns") or {}).get("rows"))
        text = f"{name} is analysed" + (f": {human_int(rows)} tweets labelled." if rows else ".")
        if can_open("analysis"):
            label, action = "Open the analysis", lambda: navigate("analysis", datasets=data.file_id)
        elif can_open("datasets"):
            label, action = "Open in Datasets", lambda: navigate("datasets")
    elif event == "on_error":
        text = f"{name} could not be analysed."
        detail = str(details.get("error") or data.error or "")
        if can_open("tasks"):
            label, action = "See what went wrong", lambda: navigate("tasks", task_id=task.uid)
    else:
        text = f"{name} was stopped before its analysis finished."
        if can_open("tasks"):
            label, action = "Open the task", lambda: navigate("tasks", task_id=task.uid)
    return Toast(str(details.get("event_uid") or f"{task.uid}:{event}:{data.run}"), kind, title, text, detail,
                 label, action, time.monotonic() + TOAST_S[event])


class Notifications(w.VBox):
    """The toast stack of one App (fixed at the bottom right of the page, above the views)."""

    def __init__(self, ctx: UIContext):
        super().__init__()
        self.ctx = ctx
        self.add_class("dl-toasts")
        self.toasts: list[Toast] = []
        self.seen: set[str] = set()
        self._lock = threading.RLock()
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._applier: threading.Thread | None = None
        self.subscriber = None
        #: Batches of events applied (what tests wait on, like the tasks view's counter).
        self.batches_applied = 0
        set_visible(self, False)

    @property
    def allowed(self) -> bool:
        """Whether to listen at all (the service checks each task again when a toast is made)."""
        return any(self.ctx.actor.can(p) for p in (*READERS, *ALERT_READERS))

    def can_open(self, view: str) -> bool:
        spec = registry.get(view)
        return spec is not None and spec.allowed(self.ctx.actor)

    # -- live events ----------------------------------------------------------------------------------------

    def start(self) -> None:
        """Subscribe to the finishing events (one subscriber for the App) and start applying them."""
        from dallosh.events import routing_key_for

        if self.subscriber is not None or not self.allowed:
            return
        self._applier = threading.Thread(target=self._apply_loop, name="dallosh-ui-notifications", daemon=True)
        self._applier.start()
        subscriber = self.subscriber = self.ctx.services.event_subscriber(
            self.on_event, [routing_key_for(event=event) for event in (*FINISHED, ALERT_EVENT)])

        def connect() -> None:
            subscriber.start()
            if subscriber.connected:
                self.add_class("dl-live")  # listening from now on (what a page test waits for)

        self.ctx.background(connect)

    def stop(self) -> None:
        subscriber, self.subscriber = self.subscriber, None
        if self._applier is not None:
            self._inbox.put(None)
            self._applier = None
        if subscriber is not None:
            subscriber.stop()

    def on_event(self, message: dict[str, Any]) -> None:
        """Subscriber callback (consumer thread): hand over and return at once."""
        self._inbox.put(message)

    def _next_expiry(self) -> float | None:
        with self._lock:
            return min((t.expires_at for t in self.toasts), default=None)

    def _apply_loop(self) -> None:
        while True:
            expiry = self._next_expiry()
            try:
                first = self._inbox.get(timeout=None if expiry is None else max(0.05, expiry - time.monotonic()))
            except queue.Empty:
                self.expire()
                continue
            batch = drain(self._inbox, first)
            if batch is None:
                return
            if not self.ctx.watched():
                continue  # the tab is gone: nobody would read them
            try:
                self.handle_events(batch)
                self.expire()
            except Exception:  # noqa: BLE001 - the applier must survive a bad event
                log.exception("could not show task notifications")

    def handle_events(self, messages: list[dict[str, Any]]) -> list[Toast]:
        """A toast per finishing event of a task this user may see (the service decides); returns the new ones."""
        added = []
        for message in messages:
            event, uid = message.get("event", ""), message.get("task_id")
            if event == ALERT_EVENT:
                from dallosh.ui.alerts import alert_toast

                toast = alert_toast(self.ctx, message, self.can_open, self._navigate)
                if toast is not None and toast.key not in self.seen:
                    self.seen.add(toast.key)
                    self.show(toast)
                    added.append(toast)
                continue
            key = str(message.get("event_uid") or "")
            if event not in FINISHED or not uid or (key and key in self.seen):
                continue
            try:
                task = self.ctx.services.tasks.get(self.ctx.actor, uid)
            except DalloshError:  # not allowed to read tasks (any more), or the task was deleted meanwhile
                continue
            except Exception:  # noqa: BLE001 - the database is unreachable: the tasks view shows it when opened
                log.warning("could not read task %s for a notification", uid)
                continue
            toast = toast_for(event, task, message, self.can_open, self._navigate)
            if toast is not None:
                self.seen.add(toast.key)
                self.show(toast)
                added.append(toast)
        self.batches_applied += 1
        return added

    # -- the stack ------------------------------------------------------------------------------------------

    def _navigate(self, name: str, **params: Any) -> None:
        self.ctx.navigate(name, **params)

    def show(self, toast: Toast) -> None:
        html = html_widget(render("toast.html", kind=toast.kind, title=toast.title, text=toast.text,
                                  detail=toast.detail, limit=ERROR_CHARS), "dl-toast-body")
        close = button("×", lambda: self.dismiss(toast), "dl-toast-close", tooltip="Dismiss")
        parts: list[w.Widget] = [box([html, close], "dl-toast-head", vertical=False)]
        if toast.action is not None:
            action = toast.action

            def act() -> None:
                self.dismiss(toast)
                action()

            parts.append(button(toast.action_label, act, "dl-toast-action", style="primary"))
        toast.root = box(parts, "dl-toast", f"dl-toast-{toast.kind}")
        with self._lock:
            self.toasts.insert(0, toast)
            for old in self.toasts[MAX_TOASTS:]:
                self._close(old)
            del self.toasts[MAX_TOASTS:]
            self._paint()

    def dismiss(self, toast: Toast) -> None:
        with self._lock:
            if toast in self.toasts:
                self.toasts.remove(toast)
                self._paint()
                self._close(toast)

    def expire(self, now: float | None = None) -> None:
        """Remove the toasts whose time is up."""
        now = time.monotonic() if now is None else now
        with self._lock:
            for toast in [t for t in self.toasts if t.expires_at <= now]:
                self.dismiss(toast)

    def _paint(self) -> None:
        self.children = [t.root for t in self.toasts if t.root is not None]
        set_visible(self, bool(self.toasts))

    @staticmethod
    def _close(toast: Toast) -> None:
        if toast.root is not None:
            for widget in [*toast.root.children]:
                if isinstance(widget, w.Box):
                    for child in widget.children:
                        child.close()
                widget.close()
            toast.root.close()
            toast.root = None

    def close(self) -> None:
        self.stop()
        super().close()
