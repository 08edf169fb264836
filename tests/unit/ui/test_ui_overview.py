"""The overview's helpers: status bars, the ticker's idle skip.

The view itself, on the real services, is tested in ``tests/integration/ui/test_ui_overview.py``.
"""

from __future__ import annotations

from dallosh.ui.overview import status_bars


def test_status_bars():
    assert "No tasks yet" in status_bars({})
    html = status_bars({"done": 4, "on_error": 1})
    assert "width:100.0%" in html and "width:25.0%" in html and "error" in html


def test_ticker_skips_work_while_nobody_watches():
    import threading

    from dallosh.ui.overview import Ticker

    calls, polls, watched = [], [], [False]
    five_unwatched_ticks, called = threading.Event(), threading.Event()

    def is_watched() -> bool:  # asked once per tick, before the work
        polls.append(watched[0])
        if polls.count(False) >= 5:
            five_unwatched_ticks.set()
        return watched[0]

    def work() -> None:
        calls.append(watched[0])
        called.set()

    ticker = Ticker(0.01, work, is_watched).start()
    try:
        assert five_unwatched_ticks.wait(10)
        assert calls == []  # five ticks while nobody watched: no work
        watched[0] = True
        assert called.wait(10)  # positive control: the same ticker works once watched
    finally:
        ticker.stop()
    assert calls and all(calls)
