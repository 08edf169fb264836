"""The RQ job of the notify queue: one attempt of one delivery, as the system actor."""

from __future__ import annotations

from functools import lru_cache

from rq import get_current_job

from dallosh.services import SYSTEM, Services


@lru_cache(maxsize=1)
def _services() -> Services:
    return Services.from_config()


class DeliveryFailed(Exception):
    """Raised so RQ records the failure and schedules the next attempt; the text is the record's plain reason."""


def deliver(uid: str) -> str:
    """Try delivery ``uid`` once. RQ retries the job (with the configured delays) while attempts remain."""
    job = get_current_job()
    retries_left = int(getattr(job, "retries_left", 0) or 0) if job is not None else 0
    outcome = _services().delivery.attempt(SYSTEM, uid, final=retries_left <= 0)
    if outcome["status"] == "sent":
        return "sent"
    if outcome["status"] == "failed" and retries_left > 0 and job is not None:
        job.retries_left = 0  # a permanent failure (wrong password, unknown address): retrying cannot help (the job
        # object is RQ's own: it reads retries_left after the job raised)
    raise DeliveryFailed(outcome["lastError"])
