"""The processing worker: a forking RQ worker plus a control listener and orphan recovery; and the notify worker.

``dallosh worker`` (or ``python -m worker``) runs one of each, the notify worker in a child process: it serves
the notify queue (e-mails, webhooks) with RQ's scheduler, so an alert or a morning report never waits behind an
hours-long labelling task, failed deliveries come back after their retry delay, and jobs enqueued with
``enqueue_at``/``enqueue_in`` run at their time. Several may run on one or many machines against the
same Redis, MongoDB and RabbitMQ; each job claims its task atomically, so a task never runs twice at once.
"""

from __future__ import annotations

import logging
import threading
from typing import Any

from rq import Worker

from dallosh.config import Config, get_config
from dallosh.delivery import notify_queue
from dallosh.errors import DalloshError
from dallosh.events import Subscriber, TaskEvents, broker_user, control_queue
from dallosh.queue import TaskQueue, connect_runtime
from dallosh.services import SYSTEM, Services

log = logging.getLogger(__name__)

#: handle_process's "event" field → the user action it asks for.
HANDLE_PROCESS_ACTIONS = {"pause": "pause", "resume": "resume", "stop": "stop"}


def control_action(command: str, message: dict[str, Any]) -> str | None:
    """The task action an original-spec control message asks for (None if not understood)."""
    if command == "proceed_task":
        return "start"
    if command == "retry_step":
        return "retry"
    if command == "handle_process":
        return HANDLE_PROCESS_ACTIONS.get(str(message.get("event", "")).lower())
    return None


class ControlHandler:
    """Applies control messages through the same service calls as the dashboards (as the system actor).

    The ``ai`` field of ``proceed_task``/``retry_step`` is ignored on purpose: API keys never travel on the
    bus, so the worker always reads the AI configuration from the settings. Only messages the broker stamped
    with the app's own account (``user_id``, which RabbitMQ verifies) are obeyed: anyone else able to reach the
    broker cannot start, pause or stop tasks.
    """

    def __init__(self, services: Services):
        self.services = services
        self.app_user = broker_user(services.config.rabbitmq_url)

    def __call__(self, message: dict[str, Any]) -> None:
        command = str(message.get("_routing_key", "")).rsplit(".", 1)[-1] or str(message.get("command", ""))
        if message.get("_user_id") != self.app_user:
            self.services.logs.record(SYSTEM, f"control.{command or 'unknown'}", f"files/{message.get('file_id', '')}",
                                      "denied", details={"reason": "not sent with the app's own credentials",
                                                         "user_id": message.get("_user_id")})
            log.warning("control %s ignored: not sent with the app's credentials", command)
            return
        action = control_action(command, message)
        file_id = str(message.get("file_id", ""))
        task = self.services.tasks.find_by_file(file_id) if file_id else None
        if action is None or task is None:
            self.services.logs.record(SYSTEM, f"control.{command or 'unknown'}", f"files/{file_id}",
                                      "error: unknown command or dataset", details={"command": command})
            return
        try:
            self.services.tasks.request(SYSTEM, task.uid, action)
        except DalloshError as exc:
            log.info("control %s for %s refused: %s", command, file_id, exc)


def recover_orphans(services: Services, events: TaskEvents) -> int:
    """Mark tasks of dead workers on_error (and tell the dashboards). Returns how many."""
    recovered = services.tasks.recover_orphans(SYSTEM, services.config.orphan_after_s)
    for task in recovered:
        events.emit(task, "on_error", step=task.data.progress.get("step"), error=task.data.error)
    return len(recovered)


class _Maintenance(threading.Thread):
    def __init__(self, services: Services, events: TaskEvents, every: float):
        super().__init__(name="dallosh-maintenance", daemon=True)
        self.services, self.events, self.every = services, events, every
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(self.every):
            try:
                recover_orphans(self.services, self.events)
            except Exception:  # noqa: BLE001 - retried at the next tick
                log.exception("orphan recovery failed")


def run_worker(config: Config | None = None, *, burst: bool = False, name: str | None = None) -> bool:
    """Run a worker until stopped (or, with ``burst``, until the queue is empty)."""
    config = config or get_config()
    services = Services.from_config(config)
    dispatcher = connect_runtime(services, config)
    recover_orphans(services, dispatcher.events)
    control = Subscriber(ControlHandler(services), ["control.#"], config=config, queue=control_queue(config))
    maintenance = _Maintenance(services, dispatcher.events, max(1.0, config.orphan_after_s / 2))
    if not burst:
        control.start()
        maintenance.start()
    queue = TaskQueue(config)
    worker = Worker([queue.queue], connection=queue.redis, name=name)
    try:
        return worker.work(burst=burst, with_scheduler=False, logging_level=config.log_level)
    finally:
        maintenance.stopped.set()
        control.stop()


def run_notify_worker(config: Config | None = None, *, burst: bool = False, name: str | None = None) -> bool:
    """Serve the notify queue with RQ's scheduler until stopped (or, with ``burst``, until it is empty)."""
    config = config or get_config()
    try:  # sent deliveries older than a month and the stored messages nothing uses any more
        Services.from_config(config).delivery.purge(SYSTEM)
    except Exception:  # noqa: BLE001 - housekeeping must not keep e-mails from going out
        log.exception("purging old deliveries failed")
    queue = notify_queue(config)
    try:  # scheduled reports whose job was lost (Redis flushed, a run missed while no worker was up)
        Services.from_config(config).subscriptions.reschedule_missing(SYSTEM)
    except Exception:  # noqa: BLE001 - the queue must be served even if this fails; retried at the next start
        log.exception("could not reschedule the scheduled reports")
    worker = Worker([queue], connection=queue.connection, name=name)
    return worker.work(burst=burst, with_scheduler=True, logging_level=config.log_level)
