"""Task events on RabbitMQ: the ``tasks`` topic exchange (DESIGN.md §5).

Routing keys:
- ``task.<file_id>.<event>`` — step notifications published by the worker and the task dispatcher. Subscribe
  to one file with ``task.<file_id>.*`` or to every file with ``task.*.*`` (``routing_key_for``).
- ``control.<file_id>.<command>`` — the original spec's control messages (``proceed_task``, ``retry_step``,
  ``handle_process``), consumed by the workers' control listener (one worker handles each message).

Events are notifications: the task document and its stored events (``TasksService.history``) are the truth, so
a publish that fails while the broker is down loses nothing a dashboard cannot rebuild. Messages never carry
API keys (details are scrubbed like the activity logs).
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pika
from pika.exceptions import AMQPError

from dallosh.config import Config, get_config
from dallosh.services.logs import scrub

log = logging.getLogger(__name__)

#: Control commands of the original spec and the queue the workers share to receive them.
CONTROL_COMMANDS = ("proceed_task", "retry_step", "handle_process")
#: How long a publish keeps trying to reach a restarting broker before giving up (the event stays stored).
PUBLISH_RETRY_S = 3.0


def routing_key_for(file_id: str | None = None, event: str | None = None) -> str:
    """``task.<file>.<event>``; None means any (``*``)."""
    return f"task.{file_id or '*'}.{event or '*'}"


def control_key(file_id: str, command: str) -> str:
    return f"control.{file_id}.{command}"


def control_queue(config: Config) -> str:
    """The durable queue the workers share for control messages (one worker handles each)."""
    return f"{config.events_exchange}.control"


def make_message(file_id: str, task_id: str, event: str, **details: Any) -> dict[str, Any]:
    """The event body: ``{file_id, task_id, event, ts, ...details}``, secrets removed."""
    return {"file_id": file_id, "task_id": task_id, "event": event, "ts": datetime.now(UTC).isoformat(),
            **scrub(details)}


def broker_user(url: str) -> str:
    """The account a RabbitMQ URL signs in as (what the broker stamps as ``user_id`` on its messages)."""
    return pika.URLParameters(url).credentials.username


def _parameters(url: str) -> pika.URLParameters:
    params = pika.URLParameters(url)
    params.heartbeat = 30
    params.blocked_connection_timeout = 10
    params.connection_attempts = 1
    params.socket_timeout = 5
    return params


def declare_exchange(channel, name: str) -> None:
    channel.exchange_declare(exchange=name, exchange_type="topic", durable=True)


class Publisher:
    """Publishes JSON messages on the topic exchange; reconnects and republishes after broker restarts.

    pika's BlockingConnection is not thread-safe, so each thread gets its own connection.
    """

    def __init__(self, config: Config | None = None, *, retry_for: float = PUBLISH_RETRY_S):
        self.config = config or get_config()
        self.retry_for = retry_for
        self._local = threading.local()

    def _channel(self):
        conn = getattr(self._local, "connection", None)
        if conn is None or conn.is_closed:
            conn = pika.BlockingConnection(_parameters(self.config.rabbitmq_url))
            channel = conn.channel()
            declare_exchange(channel, self.config.events_exchange)
            channel.confirm_delivery()
            self._local.connection, self._local.channel = conn, channel
        else:
            # Service heartbeats missed while idle (a long LLM call): the broker may have dropped us.
            conn.process_data_events(0)
        return self._local.channel

    def _drop(self) -> None:
        conn = getattr(self._local, "connection", None)
        self._local.connection = None
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except (AMQPError, OSError):  # already broken
                pass

    def publish(self, routing_key: str, message: dict[str, Any]) -> bool:
        """Publish; True once the broker confirmed. False (logged) if it stayed unreachable for ``retry_for``."""
        body = json.dumps(message, default=str).encode("utf-8")
        # RabbitMQ refuses a user_id that is not the connection's own account: receivers can trust it.
        props = pika.BasicProperties(content_type="application/json", delivery_mode=2,
                                     user_id=broker_user(self.config.rabbitmq_url))
        deadline = time.monotonic() + self.retry_for
        delay = 0.1
        while True:
            try:
                self._channel().basic_publish(self.config.events_exchange, routing_key, body, props)
                return True
            except (AMQPError, OSError) as exc:
                self._drop()
                if time.monotonic() >= deadline:
                    log.warning("event %s not published (broker unreachable: %s); it stays stored", routing_key,
                                type(exc).__name__)
                    return False
                time.sleep(delay)
                delay = min(delay * 2, 1.0)

    def publish_event(self, message: dict[str, Any]) -> bool:
        return self.publish(routing_key_for(message["file_id"], message["event"]), message)

    def close(self) -> None:
        self._drop()


class Subscriber:
    """Consumes messages in a background thread and hands each decoded message to ``callback``.

    Made for Jupyter kernels: the callback runs in the consumer thread, so it must stay tiny (hand the event
    to the widget layer). Reconnects by itself when the broker restarts. ``stop()`` is thread-safe.
    """

    def __init__(self, callback: Callable[[dict[str, Any]], None], binding_keys: list[str] | None = None, *,
                 config: Config | None = None, queue: str = "", reconnect_delay: float = 1.0):
        self.callback = callback
        self.binding_keys = binding_keys or [routing_key_for()]
        self.config = config or get_config()
        #: "" = a private auto-deleted queue (each subscriber sees every event); a name = a shared work queue.
        self.queue = queue
        self.reconnect_delay = reconnect_delay
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._connection = None
        self._channel = None
        self._thread = threading.Thread(target=self._run, name="dallosh-events", daemon=True)

    def start(self, wait: float = 10.0) -> Subscriber:
        """Start consuming; waits until the queue is bound so no event published afterwards is missed."""
        self._thread.start()
        self._ready.wait(wait)
        return self

    @property
    def connected(self) -> bool:
        return self._ready.is_set() and self._connection is not None and self._connection.is_open

    def _on_message(self, channel, method, properties, body) -> None:
        try:
            message = json.loads(body)
        except ValueError:
            log.warning("ignored a non-JSON message on %s", method.routing_key)
            message = None
        if isinstance(message, dict):
            message["_routing_key"] = method.routing_key
            message["_user_id"] = getattr(properties, "user_id", None)  # checked by the broker when present
            try:
                self.callback(message)
            except Exception:  # noqa: BLE001 - a faulty callback must not kill the consumer thread
                log.exception("event callback failed")
        if self.queue:
            channel.basic_ack(method.delivery_tag)

    def _consume_once(self) -> None:
        self._connection = pika.BlockingConnection(_parameters(self.config.rabbitmq_url))
        channel = self._channel = self._connection.channel()
        declare_exchange(channel, self.config.events_exchange)
        if self.queue:
            channel.queue_declare(queue=self.queue, durable=True)
            channel.basic_qos(prefetch_count=1)
            queue = self.queue
        else:
            queue = channel.queue_declare(queue="", exclusive=True, auto_delete=True).method.queue
        for key in self.binding_keys:
            channel.queue_bind(exchange=self.config.events_exchange, queue=queue, routing_key=key)
        channel.basic_consume(queue=queue, on_message_callback=self._on_message, auto_ack=not self.queue)
        self._ready.set()
        channel.start_consuming()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume_once()
            except (AMQPError, OSError) as exc:
                if self._stop.is_set():
                    break
                self._ready.clear()
                log.info("event subscriber reconnecting after %s", type(exc).__name__)
                self._stop.wait(self.reconnect_delay)
            else:
                if self._stop.is_set():
                    break
        self._close()

    def _close(self) -> None:
        conn = self._connection
        if conn is not None and conn.is_open:
            try:
                conn.close()
            except (AMQPError, OSError):
                pass

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        conn, channel = self._connection, self._channel
        if conn is not None and conn.is_open and channel is not None:
            try:
                conn.add_callback_threadsafe(channel.stop_consuming)
            except (AMQPError, OSError):
                pass
        self._thread.join(timeout)


def broker_alive(config: Config | None = None) -> bool:
    """Health check for the overview page."""
    try:
        conn = pika.BlockingConnection(_parameters((config or get_config()).rabbitmq_url))
        conn.close()
        return True
    except (AMQPError, OSError):
        return False


class TaskEvents:
    """Emits a task event: stores it (the history) and then publishes it (the live notification)."""

    def __init__(self, services, publisher: Publisher | None = None):
        self.services = services
        self.publisher = publisher if publisher is not None else Publisher(services.config)

    def emit(self, task, event: str, **details: Any) -> dict[str, Any]:
        from dallosh.services import SYSTEM

        stored = self.services.tasks.record_event(SYSTEM, task, event, details)
        message = make_message(task.data.file_id, task.uid, event, run=task.data.run, event_uid=stored["uid"],
                               **details)
        self.publisher.publish_event(message)
        return message
