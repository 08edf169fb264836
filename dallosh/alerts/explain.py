"""Why a rule fired: the spike explanation of :mod:`dallosh.analytics.spikes` for the period, as plain data to
store with the firing (the Alerts page, e-mails and webhooks show it without reading the dataset again).

Each metric is explained on the tweets it counts: negative tweets for the negative volume and for a falling net
sentiment (what the unhappy customers talk about), the topic's tweets for a topic, the priority-2 tweets for the
high-priority count. The baseline is the rule's own window.
"""

from __future__ import annotations

from datetime import tzinfo
from typing import Any

import pandas as pd

from dallosh.alerts.evaluate import HIGH_PRIORITY
from dallosh.analytics.spikes import Rise, SpikeExplanation, explain_spike
from dallosh.analytics.terms import TermIndex, build_term_index

#: Rising items kept per kind (terms, hashtags, topics): what a reader takes in at a glance.
ITEMS = 5


def explained_rows(rows: pd.DataFrame, metric: str, topic: str = "") -> tuple[pd.DataFrame, Any]:
    """(the rows to explain, the ``explain_spike`` scope) for a metric."""
    if metric == "topic_volume":
        return rows, ("topic", topic)
    if metric == "high_priority":
        return rows[rows["priority"].to_numpy() == HIGH_PRIORITY].reset_index(drop=True), "all"
    return rows, "negative"


def _rise(rise: Rise) -> dict[str, Any]:
    return {"kind": rise.kind, "label": rise.label, "count": rise.count, "baseline": rise.baseline,
            "expected": round(rise.expected, 2), "share": round(rise.share, 4), "z": round(rise.z, 2)}


def _tweet(tweet: dict[str, Any]) -> dict[str, Any]:
    when = tweet.get("created_at")
    return {"id": str(tweet.get("id") or ""), "full_text": str(tweet.get("full_text") or ""),
            "screen_name": str(tweet.get("screen_name") or ""),
            "created_at": None if when is None or pd.isna(when) else pd.Timestamp(when).isoformat(),
            "main_topic": "" if pd.isna(tweet.get("main_topic")) else str(tweet.get("main_topic") or ""),
            "engagement": int(tweet.get("engagement") or 0)}


def as_data(spike: SpikeExplanation) -> dict[str, Any]:
    """A :class:`SpikeExplanation` as plain JSON-friendly data."""
    return {"volume": spike.volume, "expected": None if pd.isna(spike.expected) else round(spike.expected, 2),
            "excess": round(spike.excess, 2), "baseline_periods": spike.baseline_periods,
            "terms": [_rise(r) for r in spike.terms], "hashtags": [_rise(r) for r in spike.hashtags],
            "topics": [_rise(r) for r in spike.topics], "tweets": [_tweet(t) for t in spike.tweets]}


def explain(rows: pd.DataFrame, tz: str | tzinfo, period: pd.Timestamp, grain: str, metric: str, *, topic: str = "",
            window: int = 7, index: TermIndex | None = None) -> dict[str, Any]:
    """The explanation of ``period`` for a rule's metric, as :func:`as_data`."""
    subset, scope = explained_rows(rows, metric, topic)
    if index is None or index.rows != len(subset):
        index = build_term_index(subset["full_text"])
    spike = explain_spike(subset, tz, period, grain, scope=scope, baseline_periods=window, index=index, n=ITEMS)
    return as_data(spike)
