"""The timeline chart: a PNG of the shown size × 2, bars stacked by sentiment in the theme's colours, spikes marked."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from PIL import Image

from dallosh.reports import layout
from dallosh.reports.charts import SCALE, TIMELINE_HEIGHT, WIDTH, _nice_step, timeline_png
from dallosh.reports.content import TimelinePoint


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i:i + 2], 16) for i in (1, 3, 5))  # type: ignore[return-value]


def points(spike_at: int | None = None) -> list[TimelinePoint]:
    start = datetime(2025, 10, 1)
    return [TimelinePoint(start + timedelta(days=i), 10 + (30 if i == spike_at else 0), 4 + (30 if i == spike_at
                                                                                                else 0), 3, 3,
                          i == spike_at) for i in range(7)]


def colours(png: bytes) -> set[tuple[int, int, int]]:
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return {c for _, c in image.getcolors(maxcolors=1 << 20)}


def test_size_and_sentiment_colours():
    png = timeline_png(points(), "day")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size == (WIDTH * SCALE, TIMELINE_HEIGHT * SCALE)
    found = colours(png)
    for key in ("negative", "neutral_sentiment", "positive"):
        assert _rgb(layout.COLORS[key]) in found


def test_a_spike_adds_its_marker_and_raises_the_axis():
    quiet, spiky = timeline_png(points(), "day"), timeline_png(points(spike_at=3), "day")
    assert quiet != spiky
    image = Image.open(io.BytesIO(spiky)).convert("RGB")
    # The ▼ over the spike bar (4th of 7 slots) is drawn in the primary red, above the bar's top.
    left, right = 44 * SCALE, image.width - 10 * SCALE
    slot = (right - left) / 7
    x = int(left + 3.5 * slot)
    column = [image.getpixel((x, y)) for y in range(34 * SCALE, 60 * SCALE)]
    assert _rgb(layout.COLORS["primary"]) in column


def test_empty_period_says_so():
    png = timeline_png([], "day")
    assert Image.open(io.BytesIO(png)).size == (WIDTH * SCALE, TIMELINE_HEIGHT * SCALE)


def test_axis_steps_are_round():
    assert [_nice_step(v) for v in (3, 9, 40, 130, 999, 12000)] == [1, 5, 10, 50, 500, 5000]
