"""The words and numbers both renderers print, so that the HTML and the PDF of a report say the same thing."""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import pandas as pd

from dallosh.analytics.spikes import Rise, SpikeExplanation, scope_label

#: Colours of the red theme (dallosh/ui/theme.py's light palette), written out: e-mail clients ignore CSS variables.
COLORS = {"primary": "#c62828", "accent_soft": "#fdecea", "text": "#1d1d1f", "muted": "#5b5e66",
          "border": "#dedfe3", "surface_2": "#f1f1f3", "good": "#1b7a34", "bad": "#b3261e", "neutral": "#5b5e66",
          "negative": "#c62828", "neutral_sentiment": "#8e9099", "positive": "#1b7a34"}
#: Priority names, as the dashboards show them.
PRIORITY_NAMES = {"0": "low", "1": "medium", "2": "high"}
#: What each kind of rising item is called in a table header.
KIND_TITLES = {"term": "Terms", "hashtag": "Hashtags", "topic": "Topics"}
#: The statistic in one sentence, printed under the spikes.
STATISTIC = ("Items ranked by the z-score of the weighted log-odds ratio with an informative prior (Monroe, "
             "Colaresi & Quinn 2008) between the period and its trailing baseline; \"share of the rise\" is the "
             "fraction of the period's extra tweets (above the baseline's mean) that contain the item.")


def bar_color(label: str) -> str:
    return {"negative": COLORS["negative"], "neutral": COLORS["neutral_sentiment"],
            "positive": COLORS["positive"]}.get(label, COLORS["primary"])


def local_time(value: Any, tz: str | tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A tweet's ``created_at`` in the app's time zone ("" when unknown)."""
    if value is None or pd.isna(value):
        return ""
    stamp = pd.Timestamp(value)
    return (stamp.tz_convert(tz) if stamp.tzinfo else stamp).strftime(fmt)


def spike_title(spike: SpikeExplanation) -> str:
    """"Spike on 2025-10-20 (negative tweets)"; hours and weeks say so."""
    if spike.grain == "hour":
        when = f"{spike.start:%Y-%m-%d %H:00}–{spike.end:%H:00}"
    elif spike.grain == "week":
        when = f"the week of {spike.start:%Y-%m-%d}"
    elif spike.grain == "month":
        when = f"{spike.start:%B %Y}"
    else:
        when = f"{spike.start:%Y-%m-%d}"
    return f"Spike on {when} ({scope_label(spike.scope)})"


def spike_summary(spike: SpikeExplanation) -> str:
    per = {"hour": "hour", "day": "day", "week": "week", "month": "month"}[spike.grain]
    return (f"{spike.volume} tweets against {spike.expected:.1f} per {per} over the {spike.baseline_periods} "
            f"{per}s before: {spike.excess:.0f} extra.")


def rise_row(rise: Rise) -> dict[str, str | float]:
    """One table row of a rising item: its label, counts, share of the rise (text and 0–100) and z."""
    return {"label": rise.label, "count": str(rise.count), "expected": f"{rise.expected:.1f}",
            "share": f"{100 * rise.share:.0f} %", "width": round(100 * rise.share, 1), "z": f"{rise.z:.1f}"}


def rise_tables(spike: SpikeExplanation) -> list[tuple[str, list[dict[str, str | float]]]]:
    """(title, rows) of the terms, hashtags and topics that rose, the kinds without any left out."""
    return [(KIND_TITLES[kind], [rise_row(r) for r in rises])
            for kind, rises in (("term", spike.terms), ("hashtag", spike.hashtags), ("topic", spike.topics))
            if rises]


def tweet_url(tweet: dict[str, Any]) -> str:
    """The tweet's address on X built from its numeric id alone ("" otherwise), as on the Analysis page: never
    the CSV's ``url`` column, which any uploader controls (a report must not carry their links to its readers)."""
    from dallosh.ui.analysis.table import tweet_link

    return tweet_link(tweet.get("id"))


def tweet_line(tweet: dict[str, Any], tz: str | tzinfo) -> str:
    """"@client3 · 2025-10-20 12:05 · Réseau · 14 interactions"."""
    parts = [f"@{tweet['screen_name']}" if tweet.get("screen_name") else "",
             local_time(tweet.get("created_at"), tz), str(tweet.get("main_topic") or ""),
             f"{int(tweet.get('engagement') or 0)} interactions"]
    return " · ".join(p for p in parts if p and p != "nan")
