"""Things that arrive from other threads (a test server's handler, an event subscriber), and a wait for them."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any


class Collector:
    """Keeps every item handed to ``add`` (from any thread) and lets a test wait until they satisfy a condition."""

    def __init__(self, what: str) -> None:
        self.what = what
        self.items: list[Any] = []
        self.cond = threading.Condition()

    def add(self, item: Any) -> None:
        with self.cond:
            self.items.append(item)
            self.cond.notify_all()

    def wait_for(self, predicate: Callable[[list[Any]], bool], timeout: float = 30,
                 failure: Callable[[list[Any]], str] | None = None) -> list[Any]:
        """Every item so far, once ``predicate`` holds for them; AssertionError (``failure``'s text) at timeout."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while not predicate(self.items):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(failure(self.items) if failure else f"timed out: {len(self.items)} "
                                         f"{self.what} received")
                self.cond.wait(left)
            return list(self.items)

    def wait(self, count: int, timeout: float = 30) -> list[Any]:
        """Every item so far, once there are at least ``count``."""
        return self.wait_for(lambda items: len(items) >= count, timeout,
                             lambda items: f"{len(items)} {self.what} received, expected {count}")
