"""A circuit breaker per model: after repeated failed chunks, stop sending it rows for a cool-down.

Closed: every chunk may try the model. After LLM_BREAKER_FAILURES chunks failed in a row (each after its own
retries), or one refusal that retrying cannot fix (wrong key, unknown model), it opens: chunks are not sent and
go to the next model at once. After LLM_BREAKER_COOLDOWN_S one chunk may try again (half-open); its success closes
the circuit, its failure opens it for another cool-down. So a dead server costs a few chunks, not every page,
and a server that comes back labels the rest of the dataset.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from dallosh.defaults import LLM_BREAKER_COOLDOWN_S, LLM_BREAKER_FAILURES


class CircuitBreaker:
    """Thread-safe: chunks of one page may run concurrently."""

    def __init__(self, failures: int = LLM_BREAKER_FAILURES, cooldown: float = LLM_BREAKER_COOLDOWN_S,
                 clock: Callable[[], float] = time.monotonic):
        self.threshold, self.cooldown, self.clock = failures, cooldown, clock
        self._lock = threading.Lock()
        self._failures = 0
        self._opened_at: float | None = None
        self._trial = False
        #: Why the circuit last opened (shown as the fallback reason of the chunks it skips).
        self.reason = ""

    @property
    def is_open(self) -> bool:
        with self._lock:
            return self._opened_at is not None

    def allow(self) -> bool:
        """May a chunk be sent now? In the half-open state only one chunk at a time is let through."""
        with self._lock:
            if self._opened_at is None:
                return True
            if self._trial or self.clock() - self._opened_at < self.cooldown:
                return False
            self._trial = True
            return True

    def success(self) -> None:
        with self._lock:
            self._failures, self._opened_at, self._trial = 0, None, False

    def failure(self, reason: str) -> None:
        """A chunk failed after its retries."""
        with self._lock:
            self._failures += 1
            if self._trial or self._failures >= self.threshold:
                self._open(reason)

    def trip(self, reason: str) -> None:
        """Open at once: a refusal that retrying cannot fix."""
        with self._lock:
            self._open(reason)

    def _open(self, reason: str) -> None:
        self._opened_at, self._trial, self.reason = self.clock(), False, reason
