"""Step durations and the time left of a running step (``dallosh.progress``), and how the views word them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dallosh.progress import (
    ETA_MIN_PROGRESS,
    ETA_MIN_SECONDS,
    Sample,
    page_fraction,
    remaining_seconds,
    step_duration,
    step_remaining,
    step_samples,
    timestamp,
)
from dallosh.ui.components import human_duration, time_left

T0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
STEP = "sending_to_llm"


def at(seconds: float) -> str:
    """An event time ``seconds`` after T0, as the live messages carry it (ISO text)."""
    return (T0 + timedelta(seconds=seconds)).isoformat()


def page(seconds: float, k: int, n: int) -> tuple[str, str, dict]:
    return at(seconds), STEP, {"page": k, "pages": n, "model": "builtin"}


def started(seconds: float) -> tuple[str, str, dict]:
    return at(seconds), STEP, {"phase": "started"}


def test_the_rate_since_the_step_started_gives_the_time_left():
    events = [started(0), page(10, 1, 10), page(20, 2, 10)]
    # 2 pages in 20 s: 8 pages left take 80 s, as soon as the second page arrived
    assert step_remaining(events, STEP, now=timestamp(at(20))) == pytest.approx(80)
    # between two pages the estimate counts down, never below zero
    assert step_remaining(events, STEP, now=timestamp(at(50))) == pytest.approx(50)
    assert step_remaining(events, STEP, now=timestamp(at(500))) == 0


def test_no_estimate_until_it_means_something():
    # 1 page of 100 after 2 s: neither 5 % nor 10 s measured
    assert step_remaining([started(0), page(2, 1, 100)], STEP, now=timestamp(at(2))) is None
    # positive controls: the same page after 10 s, or 5 pages of 100 after 2 s
    assert step_remaining([started(0), page(ETA_MIN_SECONDS, 1, 100)], STEP, now=timestamp(at(10))) \
        == pytest.approx(990)
    assert step_remaining([started(0), page(1, 1, 100), page(2, 5, 100)], STEP, now=timestamp(at(2))) \
        == pytest.approx(38)
    assert ETA_MIN_PROGRESS == 0.05
    # nothing before the first page, and nothing once the step is at its end or done
    assert step_remaining([started(0)], STEP, now=timestamp(at(30))) is None
    assert step_remaining([started(0), page(30, 10, 10)], STEP, now=timestamp(at(30))) is None
    done = (at(31), STEP, {"phase": "done", "pages": 10})
    assert step_remaining([started(0), page(20, 5, 10), done], STEP, now=timestamp(at(31))) is None


def test_a_resumed_run_is_measured_from_where_it_resumed():
    # the first run did 4 pages of 10 slowly, then was paused; the resumed run skips them (checkpointed)
    events = [started(0), page(100, 1, 10), page(200, 4, 10), (at(210), "paused", {"phase": "checkpointed"}),
              started(1000), page(1010, 5, 10), page(1020, 6, 10)]
    baseline, latest = step_samples(events, STEP)
    assert baseline == Sample(timestamp(at(1000)), 0.4) and latest == Sample(timestamp(at(1020)), 0.6)
    # 2 pages in 20 s, 4 left: 40 s (the first run's 50 s per page does not count)
    assert step_remaining(events, STEP, now=timestamp(at(1020))) == pytest.approx(40)


def test_samples_ignore_other_steps_fallback_notes_and_unreadable_times():
    events = [started(0), (at(5), "process_cleaning", {"page": 9, "pages": 10}),
              (at(6), STEP, {"page": 1, "model": "m", "fallback_to": "builtin"}),  # no page count
              ("not a time", STEP, {"page": 1, "pages": 4}), page(20, 2, 4)]
    assert step_samples(events, STEP) == (Sample(timestamp(at(0)), 0.25), Sample(timestamp(at(20)), 0.5))
    # without the start event (older than the history kept), the first page is the baseline
    assert step_samples([page(20, 2, 4), page(40, 3, 4)], STEP) == (Sample(timestamp(at(20)), 0.5),
                                                                   Sample(timestamp(at(40)), 0.75))


def test_remaining_seconds_refuses_a_clock_going_backwards():
    assert remaining_seconds(Sample(10, 0.1), Sample(5, 0.5), now=20) is None
    assert remaining_seconds(Sample(10, 0.5), Sample(20, 0.5), now=20) is None
    assert remaining_seconds(Sample(10, 0.2), Sample(20, 0.5), now=20) == pytest.approx(50 / 3)


def test_timestamps_and_fractions():
    naive = datetime(2025, 3, 1, 12, 0)  # stored times without a zone are UTC
    assert timestamp(naive) == timestamp(T0) == timestamp(T0.isoformat()) == T0.timestamp()
    assert timestamp(None) is None and timestamp("") is None and timestamp("yesterday") is None
    assert timestamp(12.5) == 12.5
    assert page_fraction({"page": 3, "pages": 4}) == 0.75
    assert page_fraction({"page": 5, "pages": 4}) == 1.0
    assert page_fraction({"page": 1}) is None and page_fraction({"page": 1, "pages": 0}) is None


def test_step_durations_come_from_the_stats():
    assert step_duration({"rows_read": 10, "duration_s": 1.25}) == 1.25
    assert step_duration({"rows_read": 10}) is None and step_duration(None) is None
    assert step_duration({"duration_s": "soon"}) is None and step_duration({"duration_s": -1}) is None


def said(text: str) -> str:
    """The text as read (its non-breaking spaces as spaces)."""
    return text.replace("\u00a0", " ")


def test_durations_and_estimates_read_as_people_say_them():
    def duration(seconds):
        return said(human_duration(seconds))

    def left(seconds):
        return said(time_left(seconds))

    assert duration(None) == "" and duration(0.3) == "< 1 s"
    assert duration(42.4) == "42 s" and duration(185) == "3 min 05 s"
    assert duration(12 * 60 + 20) == "12 min" and duration(3900) == "1 h 05 min"
    assert left(None) == "" and left(3) == "almost done"
    assert left(42) == "about 40 s left" and left(153) == "about 2 min 30 s left"
    assert left(47 * 60 + 10) == "about 47 min left" and left(2 * 3600 + 600) == "about 2 h 10 min left"


def test_a_duration_never_breaks_across_lines():
    assert human_duration(185) == "3\u00a0min\u00a005\u00a0s" and " " not in human_duration(0.2)
    assert time_left(153) == "about 2\u00a0min\u00a030\u00a0s left"
