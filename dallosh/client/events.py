"""Task events through the API's server-sent event stream, for kernels that hold no broker account.

``EventStream`` has ``dallosh.events.Subscriber``'s interface (``start``, ``stop``, ``connected``, a callback run
in its own thread), so a view takes either. It reconnects by itself; the view resyncs from the stored history
after a reconnect, as it does after a broker restart.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

import httpx

if TYPE_CHECKING:
    from dallosh.client import Client

log = logging.getLogger(__name__)


def _matches(routing_key: str, patterns: list[str]) -> bool:
    """AMQP topic patterns of one word per ``*`` (``task.*.*``), as the views bind them."""
    return any(fnmatchcase(routing_key, p) for p in patterns)


class EventStream:
    def __init__(self, client: Client, callback: Callable[[dict[str, Any]], None],
                 binding_keys: list[str] | None = None, *, reconnect_delay: float = 1.0):
        self.client = client
        self.callback = callback
        self.binding_keys = binding_keys or ["task.*.*"]
        self.reconnect_delay = reconnect_delay
        self._stop = threading.Event()
        self._ready = threading.Event()
        self._response: httpx.Response | None = None
        self._thread = threading.Thread(target=self._run, name="dallosh-sse", daemon=True)

    def start(self, wait: float = 10.0) -> EventStream:
        """Open the stream; waits until the API confirmed it, so no later event is missed."""
        self._thread.start()
        self._ready.wait(wait)
        return self

    @property
    def connected(self) -> bool:
        return self._ready.is_set() and not self._stop.is_set()

    def _deliver(self, data: str) -> None:
        try:
            message = json.loads(data)
        except ValueError:
            return
        if not isinstance(message, dict):
            return
        key = message.get("_routing_key") or f"task.{message.get('file_id')}.{message.get('event')}"
        if message.get("event") != "resync" and not _matches(key, self.binding_keys):
            return
        try:
            self.callback(message)
        except Exception:  # noqa: BLE001 - a faulty callback must not end the stream
            log.exception("event callback failed")

    def _consume(self) -> None:
        timeout = httpx.Timeout(10.0, read=None)
        with self.client.http.stream("GET", "api/events", timeout=timeout) as response:
            if response.status_code != 200:
                response.read()
                from dallosh.client import _raise_for

                _raise_for(response)
            self._response = response
            data: list[str] = []
            for line in response.iter_lines():
                if self._stop.is_set():
                    return
                if line.startswith(":"):
                    self._ready.set()  # the API's "connected" comment: the fan-out queue exists now
                elif line.startswith("data:"):
                    data.append(line[5:].lstrip())
                elif not line and data:
                    self._deliver("\n".join(data))
                    data = []

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self._consume()
            except Exception as exc:  # noqa: BLE001 - network errors and refusals alike: wait and retry
                if self._stop.is_set():
                    break
                self._ready.clear()
                log.info("event stream reconnecting after %s", type(exc).__name__)
                self._stop.wait(self.reconnect_delay)

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        response = self._response
        if response is not None:
            try:
                response.close()
            except Exception:  # noqa: BLE001 - closing from another thread may race the reader
                pass
        self._thread.join(timeout)
