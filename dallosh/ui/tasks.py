"""Tasks: the list with status badges, and one task's steps, progress, activity log and control buttons.

Live updates: while the view is shown, one ``dallosh.events.Subscriber`` per view receives every task event.
Its callback only puts the message on a queue; an applier thread drains the queue, re-reads the affected tasks
from the database (the task document is the truth, so two tabs on the same task always converge) and updates
the widgets. The activity log shows the stored history first, then live events, de-duplicated by event uid.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import ipywidgets as w

from dallosh.lifecycle import ACTIONS, STEPS, allowed_actions
from dallosh.llm.labelling import summarise
from dallosh.progress import page_fraction, step_duration, step_remaining
from dallosh.schemas import Record, TaskData
from dallosh.ui.base import UIContext, View, drain
from dallosh.ui.components import (
    HTML,
    NBSP,
    Alert,
    box,
    button,
    card_title_widget,
    html_widget,
    human_duration,
    human_int,
    human_size,
    human_time,
    muted,
    set_visible,
    status_badge,
    status_label,
    time_left,
)
from dallosh.ui.html import fragment, render
from dallosh.ui.labelling import labelling_html, model_name, models_label

log = logging.getLogger(__name__)

#: Actions that start work, blocked while the app is in maintenance.
STARTING_ACTIONS = frozenset({"start", "resume", "retry"})
ACTION_LABELS = {"start": "Start", "pause": "Pause", "resume": "Resume", "stop": "Stop", "retry": "Retry"}
STEP_LABELS = {"reading_dataset": "Reading the file", "process_cleaning": "Cleaning",
               "sending_to_llm": "Labelling", "appending_columns": "Adding the labels", "saving_file": "Saving"}
STEP_ICONS = {"done": "✓", "running": "●", "waiting": "…", "pending": "○", "failed": "✕", "paused": "❚❚",
              "stopped": "■"}
#: Log lines kept on screen (a 200k-row run has ~400 page events).
LOG_LIMIT = 500
#: Tasks listed at first (newest first); "Show more" adds as many again.
TASKS_PAGE = 200
#: Seconds between list refreshes while shown (new datasets from other tabs; events cover status changes).
LIST_REFRESH_S = 10.0
WAITING = frozenset({"in_queue", "resumed", "retry_step"})


@dataclass(frozen=True)
class StepState:
    step: str
    state: str  # done | running | waiting | pending | failed | paused | stopped
    progress: float  # 0..1
    note: str = ""


def _done_note(step: str, stats: dict[str, Any]) -> str:
    """What a finished step did, and how long it took (when the worker recorded it)."""
    took = step_duration(stats)
    took_text = f"took{NBSP}{human_duration(took)}" if took is not None else ""
    return " · ".join(part for part in (_step_result(step, stats), took_text) if part)


def _step_result(step: str, stats: dict[str, Any]) -> str:
    if step == "reading_dataset":
        return f"{human_int(stats.get('rows_read'))} rows read"
    if step == "process_cleaning":
        removed = stats.get("removed") or {}
        total = sum(v for v in removed.values() if isinstance(v, int))
        return f"{human_int(stats.get('rows_out'))} rows kept, {human_int(total)} removed"
    if step == "sending_to_llm":
        return f"{human_int(stats.get('distinct_texts'))} texts in {human_int(stats.get('pages'))} page(s)"
    if step == "appending_columns":
        return f"labels added to {human_int(stats.get('rows'))} rows"
    if step == "saving_file":
        return f"saved ({human_size(stats.get('size'))})"
    return ""


def step_title(step: str, models: Any = None) -> str:
    """A step's name; the labelling step says what labelled (``Labelling (built-in analyzer)``), never "LLM"."""
    label = STEP_LABELS.get(step, status_label(step).capitalize())
    ran = models_label(models) if step == "sending_to_llm" else ""
    return f"{label} ({ran})" if ran else label


def step_models(task: TaskData) -> Any:
    """Who labelled: the finished step's models, else the models of the latest page (a run in progress)."""
    stats = task.stats.get("sending_to_llm") or {}
    if stats.get("texts_by_model") or stats.get("models"):
        return stats.get("texts_by_model") or stats.get("models")
    if task.progress.get("step") == "sending_to_llm":
        return task.progress.get("models") or ([task.progress["model"]] if task.progress.get("model") else None)
    return None


def _page_fraction(progress: dict[str, Any], *, with_model: bool = False) -> tuple[float, str]:
    fraction = page_fraction(progress)
    if fraction is None:
        return 0.0, ""
    note = f"page {progress['page']} of {progress['pages']}"
    if progress.get("rows_labelled") is not None:
        note += f" · {human_int(progress['rows_labelled'])} texts"
    if with_model and progress.get("model"):
        note += f" by {model_name(progress['model'])}"
    return fraction, note


def step_states(task: TaskData, events: Iterable[tuple[Any, str, dict[str, Any]]] = (),
                now: float | None = None) -> list[StepState]:
    """The checklist: which steps are done (and how long they took), which one runs (with its page progress and,
    from the task's ``events``, the time left) or stopped, which wait."""
    if task.status == "done":
        return [StepState(s, "done", 1.0, _done_note(s, task.stats.get(s) or {})) for s in STEPS]
    completed = STEPS.index(task.last_completed_step) + 1 if task.last_completed_step in STEPS else 0
    current = STEPS.index(task.status) if task.status in STEPS else completed
    states: list[StepState] = []
    for index, step in enumerate(STEPS):
        if index < completed or index < current:
            states.append(StepState(step, "done", 1.0, _done_note(step, task.stats.get(step) or {})))
            continue
        if index != current or task.status == "added":
            states.append(StepState(step, "pending", 0.0))
            continue
        fraction, note = _page_fraction(task.progress) if task.progress.get("step") == step else (0.0, "")
        if task.status in STEPS:
            left = time_left(step_remaining(events, step, time.time() if now is None else now)) if note else ""
            states.append(StepState(step, "running", fraction, " · ".join(p for p in (note or "running…", left) if p)))
        elif task.status in WAITING:
            states.append(StepState(step, "waiting", fraction, "waiting for a worker"))
        elif task.status == "on_error":
            states.append(StepState(step, "failed", fraction, "failed"))
        elif task.status in ("paused", "stopped"):
            states.append(StepState(step, task.status, fraction, note or task.status))
        else:
            states.append(StepState(step, "pending", 0.0))
    return states


#: How a stop went, in the analyst's words (the queue's outcome names are for the logs).
STOP_OUTCOMES = {"stop sent": "the running step was interrupted", "cancelled": "it had not started yet"}


def describe_event(event: str, details: dict[str, Any]) -> str:
    """One activity-log sentence for a stored or live event."""
    phase = details.get("phase")
    label = STEP_LABELS.get(event, status_label(event).capitalize())
    if event in STEPS:
        if phase == "started":
            return f"{label} started"  # which worker (a host name) is for admins' logs, not analysts
        if phase == "done":
            return f"{step_title(event, details.get('texts_by_model') or details.get('models'))} done: " \
                   f"{_done_note(event, details)}"
        if details.get("fallback_to"):
            reason = f" ({details['error']})" if details.get("error") else ""
            return (f"Page {details.get('page')}: {model_name(details.get('model'))} could not label some texts"
                    f"{reason}; {model_name(details['fallback_to'])} labels them instead")
        if details.get("page") is not None:
            return f"{label}: {_page_fraction(details, with_model=True)[1] or 'page ' + str(details['page'])}"
        return label
    if event == "in_queue":
        after = f" (resumes after {status_label(details['resume_after'])})" if details.get("resume_after") else ""
        return f"Start requested: waiting for a worker{after}"
    if event == "paused":
        if phase == "checkpointed":
            where = f" at page {details.get('page')} of {details.get('pages')}" if details.get("page") else ""
            return f"Paused{where} ({status_label(details.get('step') or '')})"
        return "Pause requested" + (f": {details['note']}" if details.get("note") else "")
    if event == "resumed":
        return "Resume requested: waiting for a worker"
    if event == "retry_step":
        after = f" after {status_label(details['resume_after'])}" if details.get("resume_after") else ""
        return f"Retry requested: continues{after}"
    if event == "stopped":
        outcome = STOP_OUTCOMES.get(str(details.get("job") or ""))
        return "Stopped" + (f": {outcome}" if outcome else "")
    if event == "on_error":
        return f"Error during {status_label(details.get('step') or 'processing')}: {details.get('error', '')}"
    if event == "done":
        by = " and ".join(model_name(m) for m in details.get("models") or [] if not str(m).startswith("rule:"))
        return f"Done: {human_int(details.get('rows'))} rows analysed" + (f" by {by}" if by else "")
    return label


def error_advice(can_manage: bool) -> str:
    """What the buttons do now (the error message itself says how to fix the cause)."""
    if can_manage:
        return "Next: Retry continues from the last completed step; Stop ends the task."
    return "Next: ask someone who can manage tasks to retry it."


class TaskItem:
    """One entry of the task list: a button with the file name and a status badge."""

    def __init__(self, view: TasksView, task: Record[TaskData]):
        self.uid = task.uid
        self.button = button("", lambda: view.select(self.uid), "dl-task-name")
        self.badge = html_widget("")
        self.root = box([self.button, self.badge], "dl-task-item", vertical=False)
        self.update(task)

    def update(self, task: Record[TaskData]) -> None:
        self.status = task.data.status
        self.button.description = task.data.filename or task.data.file_id
        self.button.tooltip = f"{task.data.filename} — {status_label(task.data.status)}"
        self.badge.value = status_badge(task.data.status)


class TasksView(View):
    name = "tasks"
    title = "Tasks"

    def __init__(self, ctx: UIContext):
        super().__init__(ctx)
        self.can_manage = self.can("manage_tasks")
        self.tasks: dict[str, Record[TaskData]] = {}
        self.items: dict[str, TaskItem] = {}
        self.selected: str | None = None
        #: The task the user asked for last: a reload that started earlier must not bring another one back.
        self._wanted: str | None = None
        self.maintenance = False
        self.log_lines: list[tuple[str, str, bool]] = []  # (time, text, live)
        self.log_truncated = False  # older events exist than the LOG_LIMIT lines shown
        self.seen_events: set[str] = set()
        #: The open task's step events (time, event, details), oldest first: the time left of its running step.
        self.step_events: list[tuple[Any, str, dict[str, Any]]] = []
        self._lock = threading.RLock()
        self._inbox: queue.Queue[dict[str, Any] | None] = queue.Queue()
        self._applier: threading.Thread | None = None
        self.subscriber = None
        self.batches_applied = 0
        #: (received monotonic, applied monotonic) of the last live event (bench: event → widget latency).
        self.last_event_timing: tuple[float, float] | None = None

        self.filter = w.Dropdown(options=[("All tasks", ""), ("In progress", "active"), ("Done", "done"),
                                          ("Errors", "on_error"), ("Paused or stopped", "resting"),
                                          ("Not started", "added")], value="", layout=w.Layout(width="100%"))
        self.filter.observe(lambda _c: self.render_list(), "value")
        self.list_box = box([], "dl-task-items")
        self.list_empty = html_widget(muted("No tasks yet. Add a dataset to create one."))
        self.list_limit = TASKS_PAGE
        self.list_count = html_widget("", "dl-muted")
        self.list_more = button(f"Show {TASKS_PAGE} more", self.show_more, "dl-small")
        more = box([self.list_count, self.list_more], "dl-tight")
        set_visible(self.list_count, False)
        set_visible(self.list_more, False)
        sidebar = box([card_title_widget("Tasks"), self.filter, self.list_empty, self.list_box, more],
                      "dl-card", "dl-task-list")

        self.d_title = html_widget("", "dl-h2")
        self.d_meta = html_widget("", "dl-muted")
        self.d_error = Alert()
        self.maintenance_note = html_widget("", "dl-muted")
        self.action_buttons = {a: button(ACTION_LABELS[a], lambda a=a: self.request(a), "dl-action",
                                         style="danger" if a == "stop" else "primary" if a == "start" else "")
                               for a in ACTIONS}
        actions = box(list(self.action_buttons.values()), "dl-row", vertical=False)
        set_visible(actions, self.can_manage)
        self.step_rows: dict[str, tuple[HTML, HTML, w.FloatProgress, HTML]] = {}
        rows = []
        for step in STEPS:
            icon = html_widget("○", "dl-step-icon", "dl-st-pending")
            name = html_widget(STEP_LABELS[step], "dl-step-name")
            # a fixed width: every step's bar lines up, and the note beside it wraps instead of squeezing it
            bar = w.FloatProgress(value=0, min=0, max=1, layout=w.Layout(width="180px", flex="0 0 180px"))
            bar.style.bar_color = "#c62828"
            note = html_widget("", "dl-step-note")
            self.step_rows[step] = (icon, name, bar, note)
            rows.append(box([icon, name, bar, note], "dl-step", vertical=False))
        self.labelling_html = html_widget("", "dl-muted")
        self.log_html = html_widget("", "dl-log")
        self.open_datasets = button("Open in Datasets", lambda: self.ctx.navigate("datasets"), "dl-link")
        self.detail = box([
            box([box([self.d_title, self.d_meta]), self.open_datasets], "dl-row", vertical=False,
                justify_content="space-between"),
            self.d_error, self.maintenance_note, actions,
            card_title_widget("Steps"), box(rows), self.labelling_html,
            card_title_widget("Activity", "(newest first)"), self.log_html,
        ], "dl-card", "dl-task-detail")
        self.placeholder = html_widget(muted("Select a task on the left to follow it."), "dl-card", "dl-task-detail")
        self.set_heading("Tasks", "Follow processing live; control each task.")
        self.body.children = [box([sidebar, self.placeholder, self.detail], "dl-row-nowrap", vertical=False)]
        set_visible(self.detail, False)

    # -- loading --------------------------------------------------------------------------------------------

    def refresh(self) -> None:
        with self.guard(clear=False) as g:
            page = self.services.tasks.list(self.actor, limit=self.list_limit)
            self.maintenance = self.services.settings.general().isMaintenance
        if g.failed:
            return
        with self._lock:
            self.tasks = {t.uid: t for t in page.items}
            for uid in list(self.items):
                if uid not in self.tasks:
                    del self.items[uid]
            for task in page.items:
                if task.uid in self.items:
                    self.items[task.uid].update(task)
                else:
                    self.items[task.uid] = TaskItem(self, task)
            shown, total = len(page.items), page.total
            self.list_count.value = f"Newest {shown} of {total} tasks" if total > shown else ""
            set_visible(self.list_count, total > shown)
            set_visible(self.list_more, total > shown)
            self.render_list()
            if self.selected and self.selected in self.tasks:
                self.render_detail(self.tasks[self.selected])
            elif self.selected:
                self.selected = self._wanted = None
                set_visible(self.detail, False)
                set_visible(self.placeholder, True)

    def show_more(self) -> None:
        """List the next TASKS_PAGE older tasks too."""
        self.list_limit += TASKS_PAGE
        self.refresh()

    def _matches(self, status: str) -> bool:
        wanted = self.filter.value
        if not wanted:
            return True
        if wanted == "active":
            return status in WAITING or status in STEPS
        if wanted == "resting":
            return status in ("paused", "stopped")
        return status == wanted

    def render_list(self) -> None:
        with self._lock:
            shown = [item for uid, item in self.items.items() if self._matches(self.tasks[uid].data.status)]
            self.list_box.children = [item.root for item in shown]
            set_visible(self.list_empty, not shown)
            for uid, item in self.items.items():
                (item.root.add_class if uid == self.selected else item.root.remove_class)("dl-active")

    def on_show(self, task_id: str | None = None, **params: Any) -> None:
        self.visible = True
        self.refresh()
        target = task_id or self.selected or next(iter(self.tasks), None)
        if target:
            self.select(target)
        if self.ctx.live:
            self.start_live()

    def on_hide(self) -> None:
        super().on_hide()
        self.stop_live()

    def select(self, uid: str, *, reload: bool = False) -> None:
        """Open a task: its document, then its stored history (live events follow).

        ``reload``: re-read the open task (the live resync) without choosing it: if the user clicks another task
        while this runs, their choice wins (the resync once brought the previous task back over a click).
        """
        with self._lock:
            if not reload:
                self._wanted = uid
            elif self._wanted != uid:
                return
        with self.guard() as g:
            task = self.services.tasks.get(self.actor, uid)
            history = self.services.tasks.history(self.actor, uid, limit=LOG_LIMIT + 1)
        if g.failed:
            return
        with self._lock:
            if self._wanted != uid:
                return  # a later click chose another task meanwhile
            self.selected = uid
            self.tasks[uid] = task
            if uid not in self.items:
                self.items[uid] = TaskItem(self, task)
            self.log_lines, self.seen_events, self.step_events = [], set(), []
            self.log_truncated = len(history) > LOG_LIMIT
            for event in history[-LOG_LIMIT:]:
                self._add_log(event.get("uid"), event.get("ts"), event["event"], event.get("details") or {},
                              live=False)
            self.render_list()
            self.render_detail(task)

    # -- rendering ------------------------------------------------------------------------------------------

    def enabled_actions(self, status: str) -> list[str]:
        """Actions whose buttons are enabled: legal now, and not blocked by maintenance."""
        legal = allowed_actions(status)
        return [a for a in legal if not (self.maintenance and a in STARTING_ACTIONS)]

    def render_detail(self, task: Record[TaskData]) -> None:
        with self._lock:
            data = task.data
            set_visible(self.placeholder, False)
            set_visible(self.detail, True)
            self.d_title.value = fragment('<b style="font-size:17px">{{ name }}</b> {{ badge }}',
                                          name=data.filename or data.file_id, badge=status_badge(data.status))
            self.d_meta.value = f"Added {human_time(task.createdAt)}"  # run counters and ids are for code
            if data.status == "on_error":
                self.d_error.show("error", data.error or "The task failed.",
                                  fragment('<div style="margin-top:6px"><b>{{ advice }}</b></div>',
                                           advice=error_advice(self.can_manage)))
            else:
                self.d_error.clear()
            enabled = set(self.enabled_actions(data.status))
            for action, btn in self.action_buttons.items():
                btn.disabled = action not in enabled
            self.action_buttons["start"].description = ("Start again" if data.status in ("done", "stopped")
                                                        else "Start")
            main = next((a for a in ("start", "resume", "retry") if a in enabled), None)
            for action in ("start", "resume", "retry"):
                self.action_buttons[action].button_style = "primary" if action == main else ""
            blocked = self.maintenance and any(a in STARTING_ACTIONS for a in allowed_actions(data.status))
            summary = summarise(data.stats)
            self.labelling_html.value = (labelling_html(summary["rows_by_model"], summary["fallbacks"])
                                         if summary["complete"] and summary["rows_by_model"] else "")
            self.maintenance_note.value = ("Maintenance mode: starting, resuming and retrying are blocked until "
                                           "an administrator ends maintenance." if blocked else "")
            set_visible(self.maintenance_note, blocked and self.can_manage)
            models = step_models(data)
            for state in step_states(data, self.step_events):
                icon, name, bar, note = self.step_rows[state.step]
                name.value = step_title(state.step, models)
                icon.value = STEP_ICONS[state.state]
                for cls in ("done", "running", "waiting", "pending", "failed", "paused", "stopped"):
                    icon.remove_class(f"dl-st-{cls}")
                icon.add_class(f"dl-st-{'running' if state.state == 'waiting' else state.state}")
                bar.value = state.progress
                bar.bar_style = {"done": "success", "failed": "danger", "paused": "warning",
                                 "stopped": "warning"}.get(state.state, "")
                bar.style.bar_color = "#c62828" if state.state in ("running", "waiting") else None
                # a long note is cut on screen: the whole sentence stays readable on hover
                note.value = fragment('<span title="{{ note }}">{{ note }}</span>', note=state.note) \
                    if state.note else ""
            set_visible(self.open_datasets, data.status == "done" and self.can_open("datasets"))
            self._render_log()

    def _add_log(self, uid: str | None, ts: Any, event: str, details: dict[str, Any], *, live: bool) -> bool:
        if uid and uid in self.seen_events:
            return False
        if uid:
            self.seen_events.add(uid)
        if event in STEPS:
            self.step_events.append((ts, event, details))
            del self.step_events[:-LOG_LIMIT]
        self.log_lines.append((human_time(ts), describe_event(event, details), live))
        if len(self.log_lines) > LOG_LIMIT:
            del self.log_lines[:-LOG_LIMIT]
            self.log_truncated = True
        return True

    def _render_log(self) -> None:
        if not self.log_lines:
            self.log_html.value = muted("No activity yet.")
            return
        self.log_html.value = render("tasks_log.html", lines=list(reversed(self.log_lines)),
                                     truncated=self.log_truncated, limit=LOG_LIMIT)

    # -- actions --------------------------------------------------------------------------------------------

    def request(self, action: str) -> None:
        """A control button: the service checks permission, maintenance and legality again."""
        if not self.selected:
            return
        with self.guard() as g:
            task = self.services.tasks.request(self.actor, self.selected, action)
        if g.failed:
            with self.guard(clear=False):  # show the real current state next to the message
                self.apply_task(self.services.tasks.get(self.actor, self.selected))
            return
        if action == "pause":
            self.alert.info("Pause requested: the task stops at the next page boundary and keeps its progress.")
        self.apply_task(task)

    def apply_task(self, task: Record[TaskData]) -> None:
        with self._lock:
            self.tasks[task.uid] = task
            if task.uid in self.items:
                self.items[task.uid].update(task)
            else:
                self.items[task.uid] = TaskItem(self, task)
            self.render_list()
            if task.uid == self.selected:
                self.render_detail(task)

    # -- live events ----------------------------------------------------------------------------------------

    def on_event(self, message: dict[str, Any]) -> None:
        """Subscriber callback (consumer thread): hand over and return at once."""
        message["_received"] = time.monotonic()
        self._inbox.put(message)

    def handle_events(self, messages: list[dict[str, Any]]) -> None:
        """Apply events: log lines for the open task, then re-read every task they concern (DB is the truth)."""
        changed: list[str] = []
        resync = False
        with self._lock:
            for msg in messages:
                if msg.get("_resync"):
                    resync = True
                    continue
                uid = msg.get("task_id")
                if not uid:
                    continue
                if uid == self.selected:
                    details = {k: v for k, v in msg.items() if k not in ("file_id", "task_id", "event", "ts", "run",
                                                                         "event_uid", "_routing_key", "_received")}
                    self._add_log(msg.get("event_uid"), msg.get("ts"), msg.get("event", ""), details, live=True)
                if uid not in changed:
                    changed.append(uid)
        if resync:
            self.refresh()
            if self._wanted:
                self.select(self._wanted, reload=True)
        for uid in changed:
            with self.guard(clear=False) as g:
                task = self.services.tasks.get(self.actor, uid)
            if not g.failed:
                self.apply_task(task)
        received = [m["_received"] for m in messages if "_received" in m]
        if received:
            self.last_event_timing = (max(received), time.monotonic())
        self.batches_applied += 1  # what tests and the benchmark wait on (the resync after connecting, events)

    def _apply_loop(self) -> None:
        while True:
            try:
                first = self._inbox.get(timeout=LIST_REFRESH_S)
            except queue.Empty:
                if self.visible and self.ctx.watched():
                    self.refresh()
                continue
            batch = drain(self._inbox, first)
            if batch is None:
                return
            if not self.ctx.watched():
                continue  # the tab is gone: updating widgets nobody sees would only keep the kernel "active"
            try:
                self.handle_events(batch)
            except Exception:  # noqa: BLE001 - the applier must survive a bad event
                log.exception("could not apply task events")

    def start_live(self) -> None:
        """Subscribe to task events (one subscriber for this view) and start applying them."""
        from dallosh.events import routing_key_for

        if self.subscriber is not None:
            return
        self._inbox = queue.Queue()
        self._applier = threading.Thread(target=self._apply_loop, name="dallosh-ui-tasks", daemon=True)
        self._applier.start()
        self.subscriber = self.services.event_subscriber(self.on_event, [routing_key_for()])
        subscriber, inbox = self.subscriber, self._inbox

        def connect() -> None:
            subscriber.start()
            inbox.put({"_resync": True})  # anything that happened before the queue was bound

        self.ctx.background(connect)

    def stop_live(self) -> None:
        subscriber, self.subscriber = self.subscriber, None
        if self._applier is not None:
            self._inbox.put(None)
            self._applier = None
        if subscriber is not None:
            self.ctx.background(subscriber.stop)
