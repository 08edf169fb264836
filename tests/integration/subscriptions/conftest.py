"""Scheduled reports against real servers: nx-27017, Redis (its own notify queue per test), and the app's clock
set a few seconds before a report's time (``AppClock``) while RQ's scheduler keeps the machine's."""

from __future__ import annotations

import time
from datetime import datetime

import pytest

from tests.integration.delivery.conftest import config, notify_workers, smtp_plain  # noqa: F401 - shared fixtures


class AppClock:
    """The app's wall clock, running at real speed from a chosen instant (``Services.clock``)."""

    def __init__(self, start: datetime):
        self.offset = start.timestamp() - time.time()

    def __call__(self) -> float:
        return time.time() + self.offset

    def set(self, when: datetime) -> None:
        self.offset = when.timestamp() - time.time()


#: 22 October 2025, 06:59:50 in Paris (04:59:50 UTC): ten seconds before a 07:00 report on the 21st.
BEFORE_SEVEN = datetime.fromisoformat("2025-10-22T06:59:50+02:00")


@pytest.fixture
def clock() -> AppClock:
    return AppClock(BEFORE_SEVEN)


@pytest.fixture
def notify(services):
    """The test's notify queue (emptied afterwards, scheduled jobs included)."""
    from rq.registry import ScheduledJobRegistry

    queue = services.subscriptions.scheduler.queue
    yield queue
    registry = ScheduledJobRegistry(queue=queue)
    for job_id in registry.get_job_ids():
        queue.connection.delete(f"rq:job:{job_id}")
    queue.connection.delete(registry.key)
    for job in queue.jobs:
        job.delete()
    queue.empty()
