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
    import time

    from dallosh.ui.overview import Ticker

    calls, watched = [], [False]
    ticker = Ticker(0.01, lambda: calls.append(1), lambda: watched[0]).start()
    time.sleep(0.1)
    assert calls == []
    watched[0] = True
    time.sleep(0.1)
    ticker.stop()
    assert calls
