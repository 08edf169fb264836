"""The task queue: RQ on Redis, and the dispatcher that turns user actions into queue operations.

Start/resume/retry publish their event first and then enqueue a job (DESIGN.md §5: a warm worker's
``reading_dataset`` must not overtake ``in_queue``). Pause is cooperative: the job checkpoints at the next page
boundary and exits, freeing the worker. Stop kills the running work-horse at once (forking workers honour
RQ's stop command within ~50 ms) or cancels a job still waiting.
"""

from __future__ import annotations

import logging
import os
import socket
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, Worker, get_current_job
from rq.command import send_stop_job_command
from rq.exceptions import InvalidJobOperation, NoSuchJobError
from rq.job import Job, JobStatus

from dallosh.config import Config, get_config
from dallosh.events import TaskEvents

log = logging.getLogger(__name__)

#: The RQ job function (a dotted path, so enqueuers need not import the pipeline).
JOB_FUNCTION = "dallosh.pipeline.job.run_task"


def worker_name() -> str:
    """The RQ worker running the current job (its work-horse's pid changes per job), else host:pid."""
    job = get_current_job()
    name = getattr(job, "worker_name", None) if job is not None else None
    return name or f"{socket.gethostname()}:{os.getpid()}"


class TaskQueue:
    """The RQ queue the workers listen on."""

    def __init__(self, config: Config | None = None, connection: Redis | None = None):
        self.config = config or get_config()
        self.redis = connection or Redis.from_url(self.config.redis_url, socket_connect_timeout=3)
        self.queue = Queue(self.config.queue_name, connection=self.redis)

    def enqueue(self, task_uid: str, run: int) -> str:
        job = self.queue.enqueue_call(
            JOB_FUNCTION, args=(task_uid, run), timeout=self.config.job_timeout_s, result_ttl=3600,
            failure_ttl=7 * 86400, description=f"task {task_uid} run {run}",
            job_id=f"task-{task_uid}-run-{run}")
        return job.id

    def stop(self, job_id: str | None) -> str:
        """Stop a job: kill its work-horse if it runs, cancel it if it waits. Returns what happened."""
        if not job_id:
            return "no job"
        try:
            job = Job.fetch(job_id, connection=self.redis)
        except NoSuchJobError:
            return "job gone"
        status = job.get_status()
        if status == JobStatus.STARTED:
            try:
                send_stop_job_command(self.redis, job_id)
                return "stop sent"
            except InvalidJobOperation:
                return "not running"
        if status in (JobStatus.QUEUED, JobStatus.DEFERRED, JobStatus.SCHEDULED):
            job.cancel()
            return "cancelled"
        return str(status)

    def length(self) -> int:
        return len(self.queue)

    def workers(self) -> list[dict[str, Any]]:
        """Live workers (for the overview): name, state, current job."""
        return [{"name": w.name, "state": w.get_state(), "job": w.get_current_job_id()}
                for w in Worker.all(queue=self.queue)]

    def alive(self) -> bool:
        try:
            return bool(self.redis.ping())
        except RedisError:
            return False


class TaskDispatcher:
    """Registered in ``TasksService.dispatchers``: runs after a user's action changed a task."""

    #: action → event published for it
    EVENTS = {"start": "in_queue", "resume": "resumed", "retry": "retry_step", "pause": "paused", "stop": "stopped"}

    def __init__(self, services, queue: TaskQueue, events: TaskEvents):
        self.services = services
        self.queue = queue
        self.events = events

    def __call__(self, action: str, task) -> None:
        from dallosh.services import SYSTEM

        details: dict[str, Any] = {"phase": "requested"}
        if action in ("start", "resume", "retry"):
            if task.data.last_completed_step:
                details["resume_after"] = task.data.last_completed_step
            self.events.emit(task, self.EVENTS[action], **details)
            job_id = self.queue.enqueue(task.uid, task.data.run)
            self.services.tasks.update_progress(SYSTEM, task.uid, {"job_id": job_id})
        elif action == "pause":
            self.events.emit(task, "paused", **details, note="takes effect at the next page boundary")
        elif action == "stop":
            outcome = self.queue.stop(task.data.job_id)
            self.events.emit(task, "stopped", **details, job=outcome)


def connect_runtime(services, config: Config | None = None) -> TaskDispatcher:
    """Wire a Services instance to the real queue and event bus (hub, kernels, CLI, worker)."""
    config = config or services.config
    dispatcher = TaskDispatcher(services, TaskQueue(config), TaskEvents(services))
    services.tasks.dispatchers.append(dispatcher)
    return dispatcher
