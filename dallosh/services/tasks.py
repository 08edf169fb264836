"""Tasks: one per dataset, moved through the lifecycle (dallosh.lifecycle) by users and by the worker.

Transitions are enforced atomically in the database: the update's filter includes the statuses the new status
may be reached from, so two workers or two browser tabs can never both win an illegal race.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dallosh.errors import IllegalTransition, MaintenanceMode, NotFound
from dallosh.lifecycle import (
    ACTIONS,
    STATUSES,
    STEPS,
    allowed_actions,
    can_transition,
    sources_of,
    status_words,
)
from dallosh.llm.labelling import summarise
from dallosh.schemas import FileData, Record, TaskData, dump
from dallosh.services.base import Actor, Page, Service, audited, authorize_owner
from dallosh.services.logs import scrub

COLLECTION = "tasks"
#: Stored copies of every task event, one document each (nx-27017 corrupts $push of sub-documents).
EVENTS = "task_events"
#: What a user reads when a task is gone (its dataset was deleted, maybe in another tab): no id, what to do.
TASK_GONE = "This task no longer exists: its dataset was deleted. Refresh the list."


class TasksService(Service):
    #: Called after a user action changed a task (``action, task``): the queue enqueues or signals the worker.
    dispatchers: list[Callable[[str, Record[TaskData]], None]]

    def __init__(self, ctx):
        super().__init__(ctx)
        self.dispatchers = []

    def _record(self, doc: dict[str, Any]) -> Record[TaskData]:
        return Record.from_doc(TaskData, doc)

    def find(self, uid: str) -> Record[TaskData] | None:
        doc = self.db.get(COLLECTION, uid)
        return self._record(doc) if doc else None

    def find_by_file(self, file_id: str) -> Record[TaskData] | None:
        doc = self.db.find_one(COLLECTION, {"data.file_id": file_id})
        return self._record(doc) if doc else None

    def create_for_file(self, actor: Actor, file: Record[FileData]) -> Record[TaskData]:
        actor = self.authorize(actor, "manage_datasets")
        data = TaskData(file_id=file.uid, file_path=file.data.file_path, filename=file.data.filename)
        return self._record(self.db.insert(COLLECTION, dump(data), by=actor.uid))

    def remove(self, uid: str) -> None:
        self.db.delete(COLLECTION, uid)
        self.db.delete_many(EVENTS, {"data.task_id": uid})

    def list(self, actor: Actor, *, status: str | None = None, skip: int = 0, limit: int = 100
             ) -> Page[Record[TaskData]]:
        self.authorize(actor, "read_tasks", "manage_tasks")
        query = {"data.status": status} if status else {}
        total = self.db.count(COLLECTION, query)
        docs = self.db.find(COLLECTION, query, sort=[("createdAt", -1)], skip=max(0, skip), limit=max(1, limit))
        return Page([self._record(d) for d in docs], total, skip, limit)

    def get(self, actor: Actor, uid: str) -> Record[TaskData]:
        self.authorize(actor, "read_tasks", "manage_tasks")
        task = self.find(uid)
        if task is None:
            raise NotFound(TASK_GONE)
        return task

    def counts_by_status(self, actor: Actor) -> dict[str, int]:
        self.authorize(actor, "read_tasks", "manage_tasks", "view_overview")
        counts = self.db.group_count(COLLECTION, "data.status")
        return {status: counts.get(status, 0) for status in STATUSES}

    def rows_analysed(self, actor: Actor) -> int:
        """Rows labelled by every finished task (the overview's figure), counted over all of them."""
        self.authorize(actor, "read_tasks", "manage_tasks", "view_overview")
        docs = self.db.find(COLLECTION, {"data.status": "done"}, projection=["data.stats.appending_columns.rows"])
        # A done task without the step's stats (finished by an older version, or marked done by hand) has no
        # "data" at all in the projection: it counts 0 instead of breaking the overview.
        return sum(int((((d.get("data") or {}).get("stats") or {}).get("appending_columns") or {}).get("rows") or 0)
                   for d in docs)

    def transition(self, actor: Actor, uid: str, new_status: str, *, expect: str | None = None,
                   changes: dict[str, Any] | None = None, inc: dict[str, int] | None = None) -> Record[TaskData]:
        """Move a task to ``new_status`` if the lifecycle allows it from its current status (atomically).

        ``expect`` narrows the allowed source to one status (the worker uses it to avoid resurrecting a task a
        user has just paused or stopped). Raises IllegalTransition otherwise.
        """
        actor = self.authorize(actor, "manage_tasks")
        if new_status not in STATUSES:
            raise IllegalTransition(f"Unknown status {new_status!r}.")
        if expect is not None and not can_transition(expect, new_status):
            raise IllegalTransition(f"A task cannot go from {expect} to {new_status}.")
        sources = [expect] if expect else sources_of(new_status)
        doc = self.db.find_one_and_update(COLLECTION, {"uid": uid, "data.status": {"$in": sources}},
                                          {"status": new_status, **(changes or {})}, by=actor.uid, inc=inc)
        if doc is None:
            current = self.find(uid)
            if current is None:
                raise NotFound(TASK_GONE)
            raise IllegalTransition(
                f"The task is {status_words(current.data.status)}; it cannot go to "
                f"{status_words(new_status)} from there."
            )
        return self._record(doc)

    def update_progress(self, actor: Actor, uid: str, changes: dict[str, Any]) -> None:
        """Record progress/stats without changing status (the worker, between pages)."""
        actor = self.authorize(actor, "manage_tasks")
        self.db.update(COLLECTION, uid, changes, by=actor.uid)

    # -- worker side ---------------------------------------------------------------------------------------

    def claim(self, actor: Actor, uid: str, run: int, step: str, worker: str) -> Record[TaskData] | None:
        """Atomically take a queued task for run ``run``; None if another worker (or an older job) lost the race.

        The run number makes stale jobs harmless: after pause → resume, only the newest job may proceed.
        """
        actor = self.authorize(actor, "manage_tasks")
        doc = self.db.find_one_and_update(
            COLLECTION, {"uid": uid, "data.run": run, "data.status": {"$in": ["in_queue", "resumed", "retry_step"]}},
            {"status": step, "worker": worker, "heartbeat": self.ctx.clock()}, by=actor.uid)
        return self._record(doc) if doc else None

    def heartbeat(self, actor: Actor, uid: str, run: int) -> None:
        """Proof of life of the job running ``run`` (a float timestamp: nx-27017 stringifies $set datetimes)."""
        actor = self.authorize(actor, "manage_tasks")
        self.db.find_one_and_update(COLLECTION, {"uid": uid, "data.run": run}, {"heartbeat": self.ctx.clock()},
                                    by=actor.uid)

    def recover_orphans(self, actor: Actor, max_age: float) -> list[Record[TaskData]]:
        """Tasks left mid-step by a dead worker (no heartbeat for ``max_age`` s) go to ``on_error``, retryable."""
        actor = self.authorize(actor, "manage_tasks")
        limit = self.ctx.clock() - max_age
        recovered = []
        for doc in self.db.find(COLLECTION, {"data.status": {"$in": list(STEPS)}}):
            beat = doc["data"].get("heartbeat") or 0
            if beat >= limit:
                continue
            message = ("The worker processing this task stopped unexpectedly (killed or crashed) during "
                       f"{status_words(doc['data']['status'])}. Click Retry to continue from the last "
                       "checkpoint.")
            got = self.db.find_one_and_update(
                COLLECTION, {"uid": doc["uid"], "data.status": doc["data"]["status"], "data.run": doc["data"]["run"]},
                {"status": "on_error", "error": message}, by=actor.uid)
            if got:
                recovered.append(self._record(got))
        return recovered

    def record_event(self, actor: Actor, task: Record[TaskData], event: str, details: dict[str, Any]
                     ) -> dict[str, Any]:
        """Store one event of a task (the history a dashboard rebuilds); returns the stored document."""
        actor = self.authorize(actor, "manage_tasks")
        data = {"task_id": task.uid, "file_id": task.data.file_id, "run": task.data.run, "event": event,
                "details": scrub(details)}
        return self.db.insert(EVENTS, data, by=actor.uid)

    def history(self, actor: Actor, uid: str, *, limit: int = 1000) -> list[dict[str, Any]]:
        """The latest ``limit`` stored events of a task, oldest first (a long run can store thousands)."""
        self.authorize(actor, "read_tasks", "manage_tasks")
        query = {"data.task_id": uid}
        skip = max(0, self.db.count(EVENTS, query) - max(1, limit))  # insertion order breaks createdAt ties
        docs = self.db.find(EVENTS, query, sort=[("createdAt", 1)], skip=skip, limit=max(1, limit))
        return [{"uid": d["uid"], "ts": d["createdAt"], **d["data"]} for d in docs]

    def labelling(self, actor: Actor, uid: str | None = None, *, file_id: str | None = None) -> dict[str, Any]:
        """How a task's rows were labelled, for the task view and the Analysis page (by task or by dataset).

        ``{task_id, status, texts_by_model, rows_by_model, fallbacks, kept_by_builtin, response_formats,
        complete}``: rows per model (dataset rows once ``appending_columns`` ran, else None), distinct texts per
        model, ``{model, to, rows, reason}`` per fallback reason, rows the LLMs never saw (``author_rule``,
        ``confident``), the response format each LLM used; while labelling runs, from the current run's events.
        """
        self.authorize(actor, "read_tasks", "manage_tasks", "read_datasets")
        task = self.find(uid) if uid else self.find_by_file(file_id or "")
        if task is None:
            raise NotFound(TASK_GONE)
        events = []
        if "sending_to_llm" not in task.data.stats:
            events = [{**h.get("details", {}), "event": h["event"]} for h in self._events(task.uid)
                      if h.get("run") == task.data.run]
        return {"task_id": task.uid, "status": task.data.status, **summarise(task.data.stats, events)}

    def _events(self, uid: str) -> list[dict[str, Any]]:
        docs = self.db.find(EVENTS, {"data.task_id": uid, "data.event": "sending_to_llm"}, sort=[("createdAt", 1)])
        return [d["data"] for d in docs]

    def request(self, actor: Actor, uid: str, action: str) -> Record[TaskData]:
        """A user asks to start, pause, resume, stop or retry a task (buttons of the task view)."""
        if action not in ACTIONS:
            raise IllegalTransition(f"Unknown action {action!r}; use one of {', '.join(ACTIONS)}.")
        return self._request(actor, uid, action)

    @audited("tasks.request", method="patch", target=lambda a, k, r: f"tasks/{a[0]}")
    def _request(self, actor: Actor, uid: str, action: str) -> Record[TaskData]:
        actor = self.authorize(actor, "manage_tasks")
        if action in ("start", "retry", "resume") and self.ctx.settings.general().isMaintenance:
            raise MaintenanceMode("The app is in maintenance: starting tasks is paused by an administrator. "
                                  "Try again later.")
        task = self.get(actor, uid)
        authorize_owner(actor, task.createdBy or "", f"The task of {task.data.filename!r}")
        new_status, sources = ACTIONS[action]
        if task.data.status not in sources:
            legal = ", ".join(allowed_actions(task.data.status)) or "none"
            raise IllegalTransition(f"Cannot {action} a task that is {status_words(task.data.status)} "
                                    f"(possible now: {legal}).")
        changes: dict[str, Any] = {"error": None} if action in ("start", "retry") else {}
        inc = {"run": 1} if action in ("start", "retry", "resume") else None
        if action == "start" and task.data.status == "done":
            changes["last_completed_step"] = None  # reprocess from scratch
        updated = self.transition(actor, uid, new_status, expect=task.data.status, changes=changes, inc=inc)
        for dispatch in self.dispatchers:
            dispatch(action, updated)
        return updated
