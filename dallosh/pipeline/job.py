"""The RQ job: one run of one task, reported step by step to the database and the event bus.

The job claims the task atomically for its run number (stale or duplicate jobs exit at once), keeps a
heartbeat while it works (a dead worker is detected by ``TasksService.recover_orphans``), and turns every
failure into ``on_error`` with a message saying what to do.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

import pandas as pd

from dallosh.errors import DalloshError, IllegalTransition
from dallosh.events import TaskEvents
from dallosh.lifecycle import next_step, status_words
from dallosh.llm.models import ModelConfig
from dallosh.llm.registry import providers_for
from dallosh.pipeline import Interrupted, Run, run_steps
from dallosh.queue import worker_name
from dallosh.services import SYSTEM, Services
from dallosh.storage import ANALYSED, CLEANED, DATASETS

log = logging.getLogger(__name__)


def plain_error(step: str, exc: BaseException) -> str:
    """A user-facing sentence for a failure, with the action to take (server paths, hosts and exception names
    stay in the worker log, which an administrator reads)."""
    where = status_words(step)
    if isinstance(exc, DalloshError):
        return str(exc)
    if isinstance(exc, FileNotFoundError):
        return f"A file needed for {where} is missing from storage. Delete the dataset and upload it again."
    if isinstance(exc, pd.errors.ParserError | UnicodeDecodeError):
        return f"The dataset could not be read during {where}: {exc}. Upload a valid UTF-8 CSV export."
    if isinstance(exc, MemoryError):
        return f"The worker ran out of memory during {where}. Split the dataset into smaller files."
    return (f"Something unexpected went wrong during {where}. Click Retry; if it fails again, an administrator "
            "can read the details in the worker log.")


class _Heartbeat(threading.Thread):
    def __init__(self, services: Services, task_uid: str, run: int, every: float):
        super().__init__(name="dallosh-heartbeat", daemon=True)
        self.services, self.task_uid, self.run_no, self.every = services, task_uid, run, every
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                self.services.tasks.heartbeat(SYSTEM, self.task_uid, self.run_no)
            except Exception:  # noqa: BLE001 - a missed beat is retried at the next tick
                log.warning("heartbeat failed for task %s", self.task_uid)


class TaskJob:
    """State of one job execution (kept on an object so the step callbacks stay small)."""

    def __init__(self, services: Services, events: TaskEvents, task_uid: str, run: int):
        self.services, self.events, self.uid, self.run_no = services, events, task_uid, run
        self.task = services.tasks.find(task_uid)
        self.step: str | None = None

    def check(self) -> None:
        """Pause/stop point: the database says whether this run may go on."""
        task = self.services.tasks.find(self.uid)
        if task is None:
            raise Interrupted("deleted")
        if task.data.run != self.run_no or task.data.status != self.step:
            raise Interrupted(task.data.status)

    def report(self, event: str, details: dict[str, Any]) -> None:
        progress = {"step": self.step, **{k: v for k, v in details.items() if k in
                                          ("page", "pages", "rows_labelled", "model", "models", "fallback_used")}}
        self.services.tasks.update_progress(SYSTEM, self.uid, {"progress": progress})
        self.events.emit(self.task, event, **details)

    def on_start(self, step: str) -> None:
        if self.task.data.status != step:  # the claim already moved the task to the first step
            try:
                self.task = self.services.tasks.transition(SYSTEM, self.uid, step, expect=self.step)
            except IllegalTransition:
                self.check()  # raises Interrupted when a user paused or stopped in between
                raise
        self.step = step
        self.events.emit(self.task, step, phase="started", worker=worker_name())

    def on_done(self, step: str, stats: dict[str, Any]) -> None:
        try:
            self.task = self.services.tasks.transition(
                SYSTEM, self.uid, step, expect=step,
                changes={"last_completed_step": step, f"stats.{step}": stats, "progress": {"step": step}})
        except IllegalTransition:
            self.check()  # paused/stopped during the step: its output is kept, the step reruns idempotently
            raise
        self.events.emit(self.task, step, phase="done", **stats)

    def build_run(self) -> Run:
        storage, file_id = self.services.storage, self.task.data.file_id
        general = self.services.settings.general()
        ai = self.services.settings.ai_config(SYSTEM)
        descriptions = general.topic_descriptions()
        return Run(source=storage.path(DATASETS, file_id), cleaned=storage.path(CLEANED, file_id),
                   analysed=storage.path(ANALYSED, file_id), checkpoints=storage.checkpoints(file_id),
                   topics=list(general.topics), operator_accounts=list(general.operatorAccounts),
                   providers=lambda: providers_for(ai, topic_descriptions=descriptions,
                                                   on_format=self.remember_format),
                   hybrid_threshold=ai["preferences"]["hybrid_threshold"], report=self.report, check=self.check)

    def keep_typed_copy(self) -> None:
        """Type the analysed file once here, beside it (``analytics.load.write_typed_copy``): the first Analysis
        view, alert check or report of it then maps the copy instead of parsing the CSV. Best effort."""
        from dallosh.analytics.load import write_typed_copy

        write_typed_copy(self.services.storage.path(ANALYSED, self.task.data.file_id))

    def remember_format(self, cfg: ModelConfig, fmt: str) -> None:
        """Store a negotiated response format with the model's settings, so the next task starts there."""
        self.services.settings.remember_response_format(SYSTEM, cfg.kind, cfg.uid, fmt)

    def check_alerts(self) -> None:
        """The alert rules, once the task is done; a failure here is logged and never fails the task."""
        try:
            self.services.alerts.evaluate_after_task(SYSTEM, self.task, publisher=self.events.publisher)
        except Exception:  # noqa: BLE001 - the analysis is done and stays done
            log.exception("alert rules could not be checked after task %s; the task itself is done", self.uid)

    def execute(self) -> str:
        task = self.task
        if task is None or task.data.run != self.run_no:
            return "stale job"
        first = next_step(task.data.last_completed_step) or "saving_file"
        claimed = self.services.tasks.claim(SYSTEM, self.uid, self.run_no, first, worker_name())
        if claimed is None:
            return "not claimed"  # paused, stopped or taken by another worker meanwhile
        self.task, self.step = claimed, None
        heartbeat = _Heartbeat(self.services, self.uid, self.run_no, self.services.config.heartbeat_s)
        heartbeat.start()
        try:
            self.step = first
            results = run_steps(self.build_run(), first, on_start=self.on_start, on_done=self.on_done)
            self.keep_typed_copy()
            self.task = self.services.tasks.transition(SYSTEM, self.uid, "done", expect="saving_file",
                                                       changes={"progress": {"step": "done"}})
            summary = {"rows": results.get("appending_columns", {}).get("rows"),
                       "models": results.get("sending_to_llm", {}).get("models"),
                       "labelled_by": results.get("appending_columns", {}).get("labelled_by"),
                       "fallback_used": results.get("sending_to_llm", {}).get("fallback_used")}
            self.events.emit(self.task, "done", **summary)
            self.check_alerts()
            return "done"
        except Interrupted as stop:
            if stop.reason == "paused":
                progress = (self.services.tasks.find(self.uid) or self.task).data.progress
                self.events.emit(self.task, "paused", phase="checkpointed", step=self.step,
                                 page=progress.get("page"), pages=progress.get("pages"))
            return f"interrupted: {stop.reason}"
        except Exception as exc:  # noqa: BLE001 - every failure becomes on_error with a plain message
            log.exception("task %s failed during %s", self.uid, self.step)
            message = plain_error(self.step or first, exc)
            try:
                self.task = self.services.tasks.transition(SYSTEM, self.uid, "on_error", expect=self.step,
                                                           changes={"error": message})
                self.events.emit(self.task, "on_error", step=self.step, error=message)
            except IllegalTransition:
                pass  # paused or stopped meanwhile: the user's decision wins
            return "on_error"
        finally:
            heartbeat.stopped.set()


def run_task(task_uid: str, run: int) -> str:
    """RQ entry point (``dallosh.queue.JOB_FUNCTION``). Builds its own connections: it runs in a fork."""
    services = Services.from_config()
    events = TaskEvents(services)
    try:
        return TaskJob(services, events, task_uid, run).execute()
    finally:
        events.publisher.close()
        services.db.close()
