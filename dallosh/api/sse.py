"""Task events for API clients: one RabbitMQ subscription in the API, fanned out as server-sent events.

Kernels then need no broker account at all: the API's single consumer thread hands each message to the asyncio
loop (``call_soon_threadsafe``), which puts it into the queue of every open event stream. A slow client only
fills its own bounded queue; when it overflows, that client gets a ``resync`` event and rebuilds from the stored
history (events are notifications, the task documents are the truth — DESIGN.md §5).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from dallosh.config import Config
from dallosh.events import Subscriber, routing_key_for

log = logging.getLogger(__name__)

#: Events buffered per client before it is told to resync (a burst of page events stays far below it).
CLIENT_QUEUE = 1000


class EventFanout:
    def __init__(self, config: Config):
        self.config = config
        self.loop: asyncio.AbstractEventLoop | None = None
        self.clients: set[asyncio.Queue] = set()
        self.subscriber: Subscriber | None = None

    def start(self, loop: asyncio.AbstractEventLoop) -> None:
        """Subscribe to every task event (called once, on the API's loop)."""
        self.loop = loop
        self.subscriber = Subscriber(self._on_message, [routing_key_for()], config=self.config)
        self.subscriber.start(wait=10)

    def _on_message(self, message: dict[str, Any]) -> None:  # consumer thread: stay tiny
        if self.loop is not None:
            self.loop.call_soon_threadsafe(self._dispatch, message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        for queue in list(self.clients):
            try:
                queue.put_nowait(message)
            except asyncio.QueueFull:
                while not queue.empty():
                    queue.get_nowait()
                queue.put_nowait({"event": "resync"})

    def open(self) -> asyncio.Queue:
        queue: asyncio.Queue = asyncio.Queue(CLIENT_QUEUE)
        self.clients.add(queue)
        return queue

    def close(self, queue: asyncio.Queue) -> None:
        self.clients.discard(queue)

    @property
    def connected(self) -> bool:
        return self.subscriber is not None and self.subscriber.connected

    def stop(self) -> None:
        if self.subscriber is not None:
            self.subscriber.stop()
