"""How long a task's steps took, and how long the running step still needs: pure functions, no I/O.

The worker stores each finished step's ``duration_s`` in the task's stats. A step that reports pages ("page k of
n", today the labelling step) is estimated from the events of its current run: the rate measured since the step
(re)started, applied to the pages still to do. A resumed run skips the pages an earlier run finished (they are
checkpointed), so its first page event says how far the step already was when this run started; measuring from
there keeps the earlier run's pages out of the rate.

An estimate from one quick page is noise, so none is given until the step moved ``ETA_MIN_PROGRESS`` or was
measured for ``ETA_MIN_SECONDS``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

#: Share of the step done in this run before a time left is shown (5 %: a few pages of a long run).
ETA_MIN_PROGRESS = 0.05
#: ...or seconds of measuring, whichever comes first (a slow model may need minutes for 5 %).
ETA_MIN_SECONDS = 10.0


@dataclass(frozen=True)
class Sample:
    """How far a step was (``fraction``, 0..1) at a moment (``at``, seconds since the epoch)."""

    at: float
    fraction: float


def timestamp(value: datetime | str | float | None) -> float | None:
    """An event's time (a datetime, an ISO string or epoch seconds) as epoch seconds; None if unreadable.

    Stored times without a zone are UTC (the database stores UTC).
    """
    if value is None or value == "":
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return None
    if not isinstance(value, datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.timestamp()


def page_fraction(details: Mapping[str, Any]) -> float | None:
    """``page / pages`` of a page event, None for events without a page count (fallback notes, phases)."""
    page, pages = details.get("page"), details.get("pages")
    if isinstance(page, int) and isinstance(pages, int) and pages > 0:
        return min(1.0, max(0.0, page / pages))
    return None


def step_samples(events: Iterable[tuple[Any, str, Mapping[str, Any]]], step: str) -> tuple[Sample, Sample] | None:
    """(where the current run of ``step`` started, its latest page) from a task's events, oldest first.

    ``events`` are ``(time, event name, details)``. A ``started`` phase begins a new run of the step (after a
    pause, a retry or a new start); a ``done`` phase ends it (nothing left to estimate). None until the current
    run reported a page.
    """
    started: float | None = None
    baseline: Sample | None = None
    latest: Sample | None = None
    for when, event, details in events:
        if event != step:
            continue
        phase = details.get("phase")
        if phase in ("started", "done"):
            started = timestamp(when) if phase == "started" else None
            baseline = latest = None
            continue
        fraction, at = page_fraction(details), timestamp(when)
        if fraction is None or at is None:
            continue
        if latest is None:
            # The pages before this one were done when the run started (a fresh run: none; a resumed one: the
            # checkpointed pages), so the run started there. Without its start event, measure from this page.
            page, pages = details["page"], details["pages"]
            baseline = Sample(started, (page - 1) / pages) if started is not None and started <= at else \
                Sample(at, fraction)
        latest = Sample(at, fraction)
    if baseline is None or latest is None:
        return None
    return baseline, latest


def remaining_seconds(baseline: Sample, latest: Sample, now: float) -> float | None:
    """Seconds the step still needs at ``now``, at the rate measured from ``baseline`` to ``latest``.

    None while the estimate is not meaningful yet (no progress, or less than ``ETA_MIN_PROGRESS`` in less than
    ``ETA_MIN_SECONDS``) or once the step reached the end. The time since the latest page counts down, never
    below zero.
    """
    gained, elapsed = latest.fraction - baseline.fraction, latest.at - baseline.at
    if gained <= 0 or elapsed <= 0 or latest.fraction >= 1:
        return None
    if gained < ETA_MIN_PROGRESS and elapsed < ETA_MIN_SECONDS:
        return None
    left = (1.0 - latest.fraction) * elapsed / gained
    return max(0.0, left - max(0.0, now - latest.at))


def step_remaining(events: Iterable[tuple[Any, str, Mapping[str, Any]]], step: str, now: float) -> float | None:
    """The time left of ``step`` from a task's events (see ``step_samples`` and ``remaining_seconds``)."""
    samples = step_samples(events, step)
    return remaining_seconds(*samples, now) if samples else None


def step_duration(stats: Mapping[str, Any] | None) -> float | None:
    """Seconds a finished step took, from its stats (None for stats written before durations were kept)."""
    value = (stats or {}).get("duration_s")
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        return None
    return float(value)
