"""The KPI cards: how each figure of ``analytics.kpis`` is shown."""

from __future__ import annotations

from typing import Any

import pandas as pd

from dallosh.ui.components import human_int


def format_delay(delay: pd.Timedelta | None) -> str:
    if delay is None or pd.isna(delay):
        return "–"
    minutes = int(round(delay.total_seconds() / 60))
    if minutes < 60:
        return f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    if hours < 24:
        return f"{hours} h {minutes:02d}"
    days, hours = divmod(hours, 24)
    return f"{days} d {hours} h"


def format_kpis(k: dict[str, Any], loaded: int) -> dict[str, tuple[str, str]]:
    """(value, subtitle) of each KPI card from ``analytics.kpis``'s dict."""
    share, net, median, rate = k["negative_share"], k["net_sentiment"], k["engagement_median"], k["engagement_rate"]
    left_out = k["engagement_outliers"]
    high = k["high_priority_count"]
    return {
        "volume": (human_int(k["volume"]), f"of {human_int(loaded)} loaded"),
        "negative_share": ("–" if share is None else f"{share:.1f} %", "of labelled tweets"),
        "net_sentiment": ("–" if net is None else f"{net:+.2f}", "(pos − neg) / (pos + neg)"),
        "high_priority_count": (human_int(high), f"{100 * high / k['volume']:.1f} % of tweets" if k["volume"]
                                else "priority 2"),
        "median_first_reply_time": (format_delay(k["median_first_reply_time"]), "to the operator's first reply"),
        "engagement_median": ("–" if median is None else f"{median:g}",
                              "interactions per tweet" + ("" if rate is None else f" · mean {rate:.2f}") +
                              (f" without {human_int(left_out)} viral" if left_out else "")),
    }


KPI_LABELS = {"volume": "Tweets", "negative_share": "Negative", "net_sentiment": "Net sentiment",
              "high_priority_count": "High priority", "median_first_reply_time": "Median first reply",
              "engagement_median": "Median engagement"}


def _delta_text(key: str, delta: float, previous: float | None) -> str:
    if key == "negative_share":
        return f"{delta:+.1f} pts"
    if key == "net_sentiment":
        return f"{delta:+.2f}"
    if key == "median_first_reply_time":
        text = format_delay(pd.Timedelta(seconds=abs(delta)))
        return ("+" if delta > 0 else "−") + text
    if key == "engagement_median":
        return f"{delta:+g}"
    relative = f" ({100 * delta / previous:+.0f} %)" if previous else ""
    return f"{delta:+,.0f}".replace(",", " ") + relative


def change_line(key: str, change: Any, period: str) -> dict[str, str] | None:
    """The card's comparison line for an ``analytics.periods.Change`` (None when nothing can be compared)."""
    if change is None:
        return None
    if change.direction == "none":
        return {"arrow": "·", "text": f"nothing to compare with {period}", "tone": "neutral",
                "title": f"This number cannot be computed for {period} (no tweet, or none it counts)."}
    arrow = {"up": "▲", "down": "▼", "flat": "="}[change.direction]
    tone = "neutral" if change.good is None or change.direction == "flat" else ("good" if change.good else "bad")
    text = "unchanged" if change.direction == "flat" else _delta_text(key, change.delta, change.previous)
    return {"arrow": arrow, "text": f"{text} vs {period}", "tone": tone,
            "title": f"Compared with {period}, with the same filters."}
