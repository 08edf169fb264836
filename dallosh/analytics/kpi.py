"""Headline KPIs of a (filtered) frame; the definitions are in the package docstring and each docstring."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from dallosh.analytics.filters import _bool_column
from dallosh.analytics.load import _per_distinct
from dallosh.defaults import PRIORITIES, SENTIMENTS

#: Priority of a critical tweet (together with a negative sentiment).
CRITICAL_PRIORITY = max(PRIORITIES)


def _sentiment_counts(df: pd.DataFrame) -> dict[str, int]:
    counts = df["sentiment"].value_counts(dropna=True) if len(df) else pd.Series(dtype=np.int64)
    return {s: int(counts.get(s, 0)) for s in SENTIMENTS}


def volume(df: pd.DataFrame) -> int:
    """Number of tweets (rows) in ``df``."""
    return len(df)


def negative_share(df: pd.DataFrame) -> float | None:
    """Percentage (0–100) of negative tweets among the tweets with a sentiment label; None if there are none."""
    counts = _sentiment_counts(df)
    labelled = sum(counts.values())
    return 100.0 * counts["negative"] / labelled if labelled else None


def net_sentiment(df: pd.DataFrame) -> float | None:
    """(positive − negative) / (positive + negative), in [-1, 1]; neutrals ignored; None without pos/neg."""
    counts = _sentiment_counts(df)
    polar = counts["positive"] + counts["negative"]
    return (counts["positive"] - counts["negative"]) / polar if polar else None


def high_priority_count(df: pd.DataFrame) -> int:
    """Number of tweets labelled priority 2 (urgent), whatever their sentiment."""
    return int((df["priority"].to_numpy() == CRITICAL_PRIORITY).sum()) if len(df) else 0


def _operator_rows(df: pd.DataFrame, operator_accounts: Sequence[str] | None) -> np.ndarray:
    """Rows written by the operator: screen name in ``operator_accounts`` (case and "@" ignored), or the
    ``is_operator`` flag when no account list is given."""
    if operator_accounts is None:
        return _bool_column(df, "is_operator")
    accounts = {a.strip().lstrip("@").casefold() for a in operator_accounts if a and a.strip().lstrip("@")}
    if not accounts or "screen_name" not in df.columns or not len(df):
        return np.zeros(len(df), dtype=bool)
    def is_operator(uniques: np.ndarray) -> np.ndarray:
        names = pd.Series(uniques, dtype=object).astype("str").str.strip().str.lstrip("@").str.casefold()
        return names.isin(accounts).to_numpy(dtype=bool)

    return _per_distinct(df["screen_name"], is_operator, False)


def first_reply_delays(
    df: pd.DataFrame, operator_accounts: Sequence[str] | None = None, *, replies_from: pd.DataFrame | None = None
) -> pd.Series:
    """Per customer tweet of ``df`` that the operator answered: delay until the operator's first reply.

    A reply is an operator row whose ``in_reply_to`` equals the customer tweet's id; replies are looked up in
    ``replies_from`` (default ``df``) so that a view filtered to customer tweets still finds them. Negative
    delays (clock skew, bad data) are ignored before taking the earliest reply; tweets or replies without a
    date are skipped. Returns a Series of Timedelta indexed by customer tweet id (each id once).
    """
    source = df if replies_from is None else replies_from
    empty = pd.Series([], dtype="timedelta64[us]", index=pd.Index([], dtype="str", name="id"), name="delay")
    if not len(df) or not len(source) or "in_reply_to" not in source.columns:
        return empty
    is_reply = _operator_rows(source, operator_accounts)
    is_reply &= (source["in_reply_to"] != "").to_numpy(dtype=bool, na_value=False)
    is_reply &= source["created_at"].notna().to_numpy()
    replies = pd.DataFrame(
        {
            "id": source["in_reply_to"][is_reply].astype("str").to_numpy(),
            "reply_at": source["created_at"][is_reply].array,
        }
    )
    if replies.empty:
        return empty
    customer = ~_operator_rows(df, operator_accounts) & df["created_at"].notna().to_numpy()
    customer &= df["id"].isin(set(replies["id"])).to_numpy(dtype=bool)
    tweets = pd.DataFrame(
        {"id": df["id"][customer].astype("str").to_numpy(), "tweet_at": df["created_at"][customer].array}
    )
    tweets = tweets.drop_duplicates("id")
    pairs = tweets.merge(replies, on="id", how="inner")
    pairs["delay"] = pairs["reply_at"] - pairs["tweet_at"]
    pairs = pairs[pairs["delay"] >= pd.Timedelta(0)]
    if pairs.empty:
        return empty
    first = pairs.groupby("id", sort=True)["delay"].min()
    first.index = first.index.astype("str")
    return first


def median_first_reply_time(
    df: pd.DataFrame, operator_accounts: Sequence[str] | None = None, *, replies_from: pd.DataFrame | None = None
) -> pd.Timedelta | None:
    """Median, over the answered customer tweets, of the delay to the operator's first reply; None if none.

    See :func:`first_reply_delays`; pass the unfiltered frame as ``replies_from`` when ``df`` was filtered
    with ``include_operator=False`` (the default), otherwise there are no replies left to measure.
    """
    delays = first_reply_delays(df, operator_accounts, replies_from=replies_from)
    return pd.Timedelta(delays.median()) if len(delays) else None


def engagement_median(df: pd.DataFrame) -> float | None:
    """Median engagement per tweet (likes + retweets + replies + quotes); None if empty.

    The headline figure: a few viral tweets (which cleaning flags) move a mean by orders of magnitude (measured:
    3 tweets made a real 312-tweet export's mean 378, its median is 2), never a median. Per tweet rather than per
    view because ``views_count`` is blank or missing in many exports.
    """
    return float(np.median(df["engagement"].to_numpy())) if len(df) else None


def engagement_rate(df: pd.DataFrame) -> float | None:
    """Mean engagement per tweet over the tweets cleaning did not flag as viral outliers; None if none is left."""
    values = df["engagement"].to_numpy()[~_bool_column(df, "is_engagement_outlier")]
    return float(values.mean()) if len(values) else None


def engagement_outlier_count(df: pd.DataFrame) -> int:
    """How many tweets cleaning flagged as viral outliers (left out of :func:`engagement_rate`)."""
    return int(_bool_column(df, "is_engagement_outlier").sum())


def kpis(
    df: pd.DataFrame, operator_accounts: Sequence[str] | None = None, *, replies_from: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Every headline KPI of ``df`` in one dict (keys are the function names above)."""
    return {
        "volume": volume(df),
        "negative_share": negative_share(df),
        "net_sentiment": net_sentiment(df),
        "high_priority_count": high_priority_count(df),
        "median_first_reply_time": median_first_reply_time(df, operator_accounts, replies_from=replies_from),
        "engagement_median": engagement_median(df),
        "engagement_rate": engagement_rate(df),
        "engagement_outliers": engagement_outlier_count(df),
    }
