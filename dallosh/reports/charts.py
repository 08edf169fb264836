"""The report's charts as PNG images (Pillow), for e-mails (inline, ``cid:``), the PDF and the HTML file.

Mail clients show no script, SVG or canvas, so the charts that need more than a table of bars are pictures:
the timeline (tweets per period by sentiment, spikes marked). It is are drawn at twice the size
they are shown (sharp on high-density screens) in the red theme's colours, with DejaVu Sans (the PDF's font),
so accents in topic names print as they are.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence

from PIL import Image, ImageDraw, ImageFont

from dallosh.reports import layout
from dallosh.reports.content import ReportContent, TimelinePoint

#: Pixels drawn per pixel shown.
SCALE = 2
#: Shown width of every chart (the e-mail's content column), pixels.
WIDTH = 680
TIMELINE_HEIGHT = 250
SERIES = (("negative", "negative"), ("neutral", "neutral_sentiment"), ("positive", "positive"))


def _font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
    from dallosh.reports.pdf import font_paths

    return ImageFont.truetype(str(font_paths()["B" if bold else ""]), size * SCALE)


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _nice_step(top: float, ticks: int = 4) -> int:
    """A round axis step (1, 2, 5 × 10ⁿ) giving about ``ticks`` grid lines up to ``top``."""
    raw = max(top / ticks, 1.0)
    power = 10 ** math.floor(math.log10(raw))
    return int(next(m * power for m in (1, 2, 5, 10) if m * power >= raw))


def _label(point: TimelinePoint, grain: str) -> str:
    if grain == "hour":
        return f"{point.start:%H:00}"
    if grain == "month":
        return f"{point.start:%b %Y}"
    return f"{point.start:%d %b}"


def timeline_png(points: Sequence[TimelinePoint], grain: str) -> bytes:
    """Stacked bars of tweets per ``grain`` by sentiment, a ▼ over the spikes, a legend and a value axis."""
    s = SCALE
    w, h = WIDTH * s, TIMELINE_HEIGHT * s
    image = Image.new("RGB", (w, h), "#ffffff")
    draw = ImageDraw.Draw(image)
    small, legend_font = _font(10), _font(11)
    left, right, top, bottom = 44 * s, 10 * s, 34 * s, 28 * s
    x = left
    for name, color in ((n, layout.COLORS[c]) for n, c in SERIES):
        draw.rectangle((x, 10 * s, x + 10 * s, 20 * s), fill=color)
        x += 14 * s
        draw.text((x, 8 * s), name, font=legend_font, fill=layout.COLORS["text"])
        x += int(draw.textlength(name, font=legend_font)) + 18 * s
    draw.text((x, 8 * s), "▼ spike", font=legend_font, fill=layout.COLORS["primary"])
    plot_h = h - top - bottom
    if not points:
        draw.text((left, top + plot_h // 2), "No tweet in this period.", font=legend_font, fill=layout.COLORS["muted"])
        return _png(image)
    peak = max(p.volume for p in points) or 1
    step = _nice_step(peak)
    axis_top = max(step * math.ceil(peak / step), step)
    if peak > 0.9 * axis_top:  # room above the tallest bar for its spike marker
        axis_top += step
    for value in range(0, axis_top + 1, step):
        y = top + plot_h - plot_h * value / axis_top
        draw.line((left, y, w - right, y), fill=layout.COLORS["border"], width=s)
        text = f"{value:,}".replace(",", " ")
        draw.text((left - 6 * s - draw.textlength(text, font=small), y - 7 * s), text, font=small,
                  fill=layout.COLORS["muted"])
    slot = (w - left - right) / len(points)
    bar = max(slot * 0.72, 1.0)
    labels_every = max(1, math.ceil(len(points) / 10))
    for i, point in enumerate(points):
        x0 = left + i * slot + (slot - bar) / 2
        y = top + plot_h
        for name, color in SERIES:
            count = getattr(point, name)
            if count:
                height = plot_h * count / axis_top
                draw.rectangle((x0, y - height, x0 + bar, y), fill=layout.COLORS[color])
                y -= height
        other = point.volume - point.negative - point.neutral - point.positive  # not labelled yet
        if other > 0:
            height = plot_h * other / axis_top
            draw.rectangle((x0, y - height, x0 + bar, y), fill=layout.COLORS["surface_2"])
            y -= height
        if point.spike:
            cx, tip = x0 + bar / 2, y - 4 * s
            draw.polygon(((cx - 5 * s, tip - 8 * s), (cx + 5 * s, tip - 8 * s), (cx, tip)),
                         fill=layout.COLORS["primary"])
        if i % labels_every == 0:
            text = _label(point, grain)
            tx = min(max(x0 + bar / 2 - draw.textlength(text, font=small) / 2, left), w - right -
                     draw.textlength(text, font=small))
            draw.text((tx, h - bottom + 8 * s), text, font=small, fill=layout.COLORS["muted"])
    return _png(image)


def timeline_alt(report: ReportContent) -> str:
    """The timeline in words, for readers whose mail client does not show pictures."""
    points = report.timeline
    if not points:
        return "Timeline: no tweet in this period."
    peak = max(points, key=lambda p: p.volume)
    spikes = sum(p.spike for p in points)
    return (f"Timeline: tweets per {report.grain} by sentiment; the most were {peak.volume} on "
            f"{_label(peak, report.grain)}" + (f"; {spikes} spike{'s' if spikes > 1 else ''} marked." if spikes
                                                else "."))


def report_charts(report: ReportContent) -> dict[str, bytes]:
    """``{name: png}`` of the report's picture charts: the ``timeline`` (the breakdowns are table bars, which
    every mail client shows even with pictures blocked)."""
    return {"timeline": timeline_png(report.timeline, report.grain)}
