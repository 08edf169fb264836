"""Chart data of a frame other than time series: distributions, topic × sentiment, critical topics, engagement
per sentiment and the top lists (authors, critical tweets)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

from dallosh.analytics.kpi import CRITICAL_PRIORITY, _sentiment_counts
from dallosh.analytics.load import _codes
from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.textkey import text_key


def _share(counts: pd.Series | np.ndarray, total: float) -> np.ndarray:
    values = np.asarray(counts, dtype=np.float64)
    return values * 100.0 / total if total else np.zeros(len(values))


def sentiment_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Columns ``sentiment, count, share`` (share in % of labelled rows); always the 3 sentiments, in order."""
    counts = _sentiment_counts(df)
    values = np.array([counts[s] for s in SENTIMENTS], dtype=np.int64)
    return pd.DataFrame({"sentiment": list(SENTIMENTS), "count": values, "share": _share(values, values.sum())})


def priority_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Columns ``priority, count, share`` (share in % of rows); always priorities 0, 1, 2."""
    values = np.bincount(df["priority"].to_numpy(dtype=np.int64), minlength=len(PRIORITIES))[: len(PRIORITIES)]
    return pd.DataFrame(
        {"priority": list(PRIORITIES), "count": values.astype(np.int64), "share": _share(values, len(df))}
    )


def topic_counts(df: pd.DataFrame) -> pd.DataFrame:
    """Columns ``main_topic, count, share`` (% of rows with a topic) for topics present, most frequent first."""
    counts = df["main_topic"].value_counts(dropna=True)
    counts = counts[counts > 0]
    out = pd.DataFrame({"main_topic": counts.index.astype("str"), "count": counts.to_numpy(dtype=np.int64)})
    out = out.sort_values(["count", "main_topic"], ascending=[False, True], ignore_index=True)
    out["share"] = _share(out["count"], out["count"].sum())
    return out

def _topic_table(df: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """(topics, counts[topic, sentiment code + 1]): column 0 counts unlabelled rows; rows without a topic
    are left out. One bincount, whatever the number of rows."""
    topic_codes, topics = _codes(df["main_topic"])
    sentiment = df["sentiment"].cat.codes.to_numpy().astype(np.int64) + 1
    keep = topic_codes >= 0
    width = len(SENTIMENTS) + 1
    flat = np.bincount(topic_codes[keep].astype(np.int64) * width + sentiment[keep], minlength=len(topics) * width)
    return topics.astype("str"), flat.reshape(len(topics), width)


def topic_sentiment_matrix(df: pd.DataFrame, *, normalize: bool = False) -> pd.DataFrame:
    """Counts per (topic, sentiment): index ``main_topic``, columns negative/neutral/positive, busiest topic
    first (then by name), topics without labelled tweets left out; ``normalize=True`` gives % of each topic's
    labelled tweets instead (a heatmap's input)."""
    topics, table = _topic_table(df)
    counts = table[:, 1:]
    totals = counts.sum(axis=1)
    present = np.flatnonzero(totals > 0)
    order = present[np.lexsort((topics.to_numpy()[present], -totals[present]))]
    out = pd.DataFrame(counts[order].astype(np.int64), columns=list(SENTIMENTS),
                       index=pd.Index(topics.to_numpy()[order], dtype="str", name="main_topic"))
    if normalize:
        return out.div(totals[order], axis=0) * 100.0
    return out


def _critical_mask(df: pd.DataFrame) -> np.ndarray:
    negative = df["sentiment"].cat.codes.to_numpy() == SENTIMENTS.index("negative")
    return negative & (df["priority"].to_numpy() == CRITICAL_PRIORITY)


def critical_topics(df: pd.DataFrame) -> pd.DataFrame:
    """Per topic present: ``critical`` = tweets negative AND priority 2, ``volume`` = all its tweets and
    ``critical_share`` = critical / volume in %; most critical first (then busiest, then name)."""
    topic_codes, topics = _codes(df["main_topic"])
    keep = topic_codes >= 0
    codes = topic_codes[keep].astype(np.int64)
    volumes = np.bincount(codes, minlength=len(topics))
    critical = np.bincount(codes[_critical_mask(df)[keep]], minlength=len(topics))
    present = np.flatnonzero(volumes > 0)
    names = topics.astype("str").to_numpy()[present]
    order = np.lexsort((names, -volumes[present], -critical[present]))
    chosen = present[order]
    return pd.DataFrame(
        {
            "main_topic": pd.Series(names[order], dtype="str"),
            "critical": critical[chosen].astype(np.int64),
            "volume": volumes[chosen].astype(np.int64),
            "critical_share": critical[chosen] * 100.0 / np.maximum(volumes[chosen], 1),
        }
    )


def engagement_by_sentiment(df: pd.DataFrame) -> pd.DataFrame:
    """Per sentiment (always the 3): ``tweets``, total ``engagement``, ``mean_engagement`` and
    ``median_engagement`` (NaN when a sentiment has no tweet; the chart shows the median, see
    :func:`engagement_median`)."""
    codes = df["sentiment"].cat.codes.to_numpy()
    engagement = df["engagement"].to_numpy(dtype=np.int64)
    rows = []
    for k, name in enumerate(SENTIMENTS):
        values = engagement[codes == k]
        rows.append(
            {
                "sentiment": name,
                "tweets": len(values),
                "engagement": int(values.sum()),
                "mean_engagement": float(values.mean()) if len(values) else np.nan,
                "median_engagement": float(np.median(values)) if len(values) else np.nan,
            }
        )
    return pd.DataFrame(rows).astype({"tweets": np.int64, "engagement": np.int64})


def top_authors(df: pd.DataFrame, n: int = 10) -> pd.DataFrame:
    """The ``n`` accounts with the most tweets in ``df``: ``screen_name``, ``name`` (first seen), ``tweets``,
    ``negative`` (their negative tweets) and total ``engagement``; ties by engagement then screen name.

    Works on category codes (bincount), so 1M rows with 300k authors take milliseconds, not a groupby.
    """
    codes, names = _codes(df["screen_name"])
    names = names.astype("str")
    named = np.append(np.asarray(names.str.strip() != "", dtype=bool), False)  # [-1] (NaN) → not usable
    usable = named[codes]
    codes64 = codes[usable].astype(np.int64)
    tweets = np.bincount(codes64, minlength=len(names))
    negative = np.bincount(
        codes64, weights=(df["sentiment"].cat.codes.to_numpy() == 0)[usable], minlength=len(names)
    ).astype(np.int64)
    engagement = np.bincount(
        codes64, weights=df["engagement"].to_numpy(dtype=np.float64)[usable], minlength=len(names)
    ).astype(np.int64)
    present = np.flatnonzero(tweets > 0)
    if n <= 0 or not len(present):
        present = present[:0]
    elif len(present) > n:  # shortlist: every author tied with the n-th by tweet count, then sort those only
        nth = np.partition(tweets[present], len(present) - n)[len(present) - n]
        present = present[tweets[present] >= nth]
    label = names.to_numpy()[present]
    chosen = present[np.lexsort((label, -engagement[present], -tweets[present]))][: max(n, 0)]
    display = [""] * len(chosen)
    if "name" in df.columns and len(chosen):
        first_rows = [int(np.argmax(codes == c)) for c in chosen]
        display = df["name"].take(first_rows).astype("str").fillna("").tolist()
    return pd.DataFrame(
        {
            "screen_name": pd.Series(names.to_numpy()[chosen], dtype="str"),
            "name": pd.Series(display, dtype="str"),
            "tweets": tweets[chosen].astype(np.int64),
            "negative": negative[chosen],
            "engagement": engagement[chosen],
        }
    )


#: Columns shown for a critical tweet (those present in the frame are returned).
CRITICAL_TWEET_COLUMNS: tuple[str, ...] = (
    "id", "created_at", "screen_name", "full_text", "main_topic", "sentiment", "priority", "engagement", "url",
    "dataset",
)


def _most_engaging(df: pd.DataFrame, rows: np.ndarray, engagement: np.ndarray, n: int,
                   texts: Callable[[np.ndarray], Sequence[object]] | None) -> np.ndarray:
    """Of ``rows``, the first ``n`` by engagement (ties: newest, then id), skipping a text already taken."""
    when = df["created_at"].dt.tz_localize(None).to_numpy()[rows].astype("datetime64[us]").view(np.int64)
    when = np.where(when == np.iinfo(np.int64).min, np.iinfo(np.int64).min + 1, when)  # NaT last
    ids = df["id"].to_numpy(dtype=object)[rows].astype(str)
    ordered = rows[np.lexsort((ids, -when, -engagement[rows]))]
    if texts is None:
        return ordered[:n]
    chosen: list[int] = []
    seen: set[str] = set()
    for start in range(0, len(ordered), 4 * n):  # texts are read a page at a time: usually one page
        page = ordered[start:start + 4 * n]
        for row, text in zip(page, texts(page), strict=True):
            key = text_key(text)
            if key not in seen:
                seen.add(key)
                chosen.append(int(row))
                if len(chosen) == n:
                    return np.asarray(chosen, dtype=np.int64)
    return np.asarray(chosen, dtype=np.int64)


def top_critical_tweets(df: pd.DataFrame, n: int = 10,
                        texts: Callable[[np.ndarray], Sequence[object]] | None = None) -> pd.DataFrame:
    """The ``n`` critical tweets (negative AND priority 2) with the most engagement, one per text (``text_key``:
    the most engaging of identical texts stands for them); ties: newest first, then id. ``texts(positions)``
    gives the texts of rows of ``df`` when it has no ``full_text`` column. Only the chosen rows are copied."""
    rows = np.flatnonzero(_critical_mask(df))
    if texts is None and "full_text" in df.columns:
        texts = df["full_text"].to_numpy(dtype=object).take
    if len(rows) and n > 0:
        engagement = df["engagement"].to_numpy(dtype=np.int64)
        # Shortlist the most engaging rows (a few per wanted one, for duplicates) before the full sort; all of
        # them only if that shortlist holds fewer than n distinct texts.
        shortlist = rows
        if len(rows) > 8 * n:
            nth = np.partition(engagement[rows], len(rows) - 8 * n)[len(rows) - 8 * n]
            shortlist = rows[engagement[rows] >= nth]
        chosen = _most_engaging(df, shortlist, engagement, n, texts)
        if len(chosen) < n and len(shortlist) < len(rows):
            chosen = _most_engaging(df, rows, engagement, n, texts)
        rows = chosen
    else:
        rows = rows[:0]
    columns = [c for c in CRITICAL_TWEET_COLUMNS if c in df.columns]
    return df[columns].take(rows).reset_index(drop=True)
