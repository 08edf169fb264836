"""Why a period is a spike: the terms, hashtags and topics that rose most against the trailing baseline, the share
of the rise each explains, and a few tweets that show it.

A spike is what :func:`~dallosh.analytics.timeline` flags: a period (hour, day, week or month) whose volume is
above the mean + 2σ of the :data:`~dallosh.analytics.SPIKE_WINDOWS` periods before it. :func:`spikes` lists them
for a *scope* (every tweet, the negative ones, one topic); :func:`explain_spike` compares the period's tweets
with the baseline window's.

The statistic (Monroe, Colaresi & Quinn 2008, "Fightin' Words", §3.5, weighted log-odds ratio with an
informative Dirichlet prior), per item ``w`` (a term, a hashtag or a topic): ``y_w`` is the number of tweets of
the period that contain it (for a topic: whose topic it is) and ``n`` the number of tweets of the period (for
topics: those with a topic); ``y'_w`` and ``n'`` the same in the baseline window. A tweet holds the item or not,
so this is the two-category case of the paper's Dirichlet (a Beta per item): the odds compared are those of a
tweet containing ``w``, which a short text repeating a word does not inflate. The informative prior is the two
windows pooled, ``α_w = s · (y_w + y'_w)`` and ``α0 = s · (n + n')`` with ``s`` = :data:`PRIOR_SCALE`: an item
seen in a handful of tweets is pulled toward its pooled share and needs a real difference to stand out. Then::

    δ_w  = log((y_w + α_w) / (n + α0 − y_w − α_w)) − log((y'_w + α_w) / (n' + α0 − y'_w − α_w))
    σ²_w ≈ 1 / (y_w + α_w) + 1 / (y'_w + α_w)          (the paper's approximation)
    z_w  = δ_w / σ_w

An item *rose* when ``z_w ≥`` :data:`MIN_Z` and it has an excess (below); items are ranked by ``z_w``.

Share of the rise: with ``P`` baseline periods, the period's expected volume is ``E = (baseline tweets) / P`` (the
timeline's trailing mean) and its excess ``X = max(0, volume − E)``. An item's expected count is ``y'_w / P``,
its excess ``x_w = max(0, y_w − y'_w / P)`` and its share ``min(1, x_w / X)``: the fraction of the extra tweets
that contain it (shares of different terms overlap: one tweet holds several terms). When ``X = 0`` there is
nothing to explain and the explanation is empty.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, tzinfo
from typing import Any

import numpy as np
import pandas as pd

from dallosh.analytics.charts import _most_engaging, text_key
from dallosh.analytics.load import _codes
from dallosh.analytics.series import GRAINS, SPIKE_WINDOWS, timeline
from dallosh.analytics.terms import TermIndex, _counts, build_term_index
from dallosh.defaults import SENTIMENTS

#: Weight of the prior (the two windows pooled) against the data. A tenth shrinks rare items (a term new in 2 of an
#: hour's 30 tweets, against 300 without it: z ≈ 1.8, not listed; in 3 of 30: z ≈ 2.2) without hiding a clear rise
#: (10 of 25 tweets against 7 of 70: z ≈ 3.2; with s = 1 it was 1.9, not listed).
PRIOR_SCALE = 0.1
#: z-score from which an item counts as having risen (two-sided 95 %).
MIN_Z = 1.96
#: Representative tweets shown per spike.
REPRESENTATIVE_TWEETS = 3
#: Columns kept for a representative tweet (those present in the frame).
TWEET_COLUMNS: tuple[str, ...] = ("id", "created_at", "screen_name", "full_text", "main_topic", "sentiment",
                                  "engagement", "url")

Scope = str | tuple[str, str]


@dataclass(frozen=True)
class Rise:
    """One item that rose: ``key`` (folded term, hashtag or topic), ``label`` (as shown), tweets in the period
    and in the baseline window, the expected count, its excess, ``share`` of the period's excess (0–1), the
    log-odds ratio ``delta`` and its ``z``."""

    kind: str
    key: str
    label: str
    count: int
    baseline: int
    expected: float
    excess: float
    share: float
    delta: float
    z: float


@dataclass(frozen=True)
class Spike:
    """A flagged period of a scope: naive local ``start``/``end`` (exclusive), volume, trailing mean, threshold."""

    scope: Scope
    grain: str
    start: pd.Timestamp
    end: pd.Timestamp
    volume: int
    expected: float
    threshold: float


@dataclass(frozen=True)
class SpikeExplanation:
    """What rose in one period against its baseline (see the module docstring for every number)."""

    scope: Scope
    grain: str
    start: pd.Timestamp
    end: pd.Timestamp
    baseline_periods: int
    volume: int
    expected: float
    excess: float
    terms: tuple[Rise, ...] = ()
    hashtags: tuple[Rise, ...] = ()
    topics: tuple[Rise, ...] = ()
    tweets: tuple[dict[str, Any], ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.terms or self.hashtags or self.topics)


def scope_label(scope: Scope) -> str:
    """The scope in words: "all tweets", "negative tweets", "topic Réseau"."""
    if scope == "all":
        return "all tweets"
    if scope == "negative":
        return "negative tweets"
    return f"topic {scope[1]}"


def scope_mask(df: pd.DataFrame, scope: Scope) -> np.ndarray:
    """The rows of ``df`` a scope counts. Raises ValueError on an unknown scope."""
    if scope == "all":
        return np.ones(len(df), dtype=bool)
    if scope == "negative":
        return df["sentiment"].cat.codes.to_numpy() == SENTIMENTS.index("negative")
    if isinstance(scope, tuple) and len(scope) == 2 and scope[0] == "topic":
        return (df["main_topic"].astype("str") == scope[1]).to_numpy(dtype=bool, na_value=False)
    raise ValueError(f"unknown spike scope {scope!r}; 'all', 'negative' or ('topic', name)")


def shift(grain: str, k: int) -> pd.DateOffset | pd.Timedelta:
    """``k`` periods of ``grain`` (months are calendar months), to add to a naive local period start."""
    if grain == "month":
        return pd.DateOffset(months=k)
    return pd.Timedelta(**{"hours" if grain == "hour" else "days": k * (7 if grain == "week" else 1)})


def period_floor(when: date | datetime | pd.Timestamp | str, grain: str) -> pd.Timestamp:
    """The naive local start of the ``grain`` period holding ``when`` (weeks start on Monday)."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; one of {', '.join(GRAINS)}")
    stamp = pd.Timestamp(when)
    stamp = stamp.tz_localize(None) if stamp.tzinfo is not None else stamp
    if grain == "hour":
        return stamp.floor("h")
    day = stamp.normalize()
    if grain == "week":
        return day - pd.Timedelta(days=day.dayofweek)
    return day.replace(day=1) if grain == "month" else day


def _utc(local: pd.Timestamp, tz: str | tzinfo) -> pd.Timestamp:
    return local.tz_localize(tz, ambiguous=False, nonexistent="shift_forward").tz_convert("UTC")


def spikes(df: pd.DataFrame, tz: str | tzinfo = "UTC", *, scope: Scope = "all", grain: str | None = None
           ) -> list[Spike]:
    """The periods :func:`timeline` flags as spikes among the ``scope``'s rows of ``df``, oldest first."""
    line = timeline(df[scope_mask(df, scope)], tz, grain)
    chosen = line.attrs["grain"]
    flagged = line[line["spike"]]
    return [Spike(scope, chosen, start, start + shift(chosen, 1), int(volume), float(mean), float(threshold))
            for start, volume, mean, threshold in zip(flagged["day"], flagged["volume"], flagged["trailing_mean"],
                                                       flagged["threshold"], strict=True)]


def log_odds(count: np.ndarray, total: float, baseline: np.ndarray, baseline_total: float,
             prior: np.ndarray, prior_total: float) -> tuple[np.ndarray, np.ndarray]:
    """(δ, z) of the weighted log-odds ratio with an informative prior (module docstring), per item: ``count`` of
    ``total`` tweets in the period, ``baseline`` of ``baseline_total`` in the baseline, ``prior`` = α_w and
    ``prior_total`` = α0."""
    a = np.asarray(count, dtype=np.float64) + prior
    b = np.asarray(baseline, dtype=np.float64) + prior
    delta = np.log(a / (total + prior_total - a)) - np.log(b / (baseline_total + prior_total - b))
    return delta, delta / np.sqrt(1.0 / a + 1.0 / b)


def _rises(kind: str, keys: np.ndarray, labels: np.ndarray, count: np.ndarray, baseline: np.ndarray,
           sizes: tuple[int, int], periods: int, excess: float, n: int, prior_scale: float) -> tuple[Rise, ...]:
    """The ``n`` items that rose most (z first, then key) of one kind, from their counts in both windows and
    the windows' ``sizes`` (tweets in the period, in the baseline)."""
    total, baseline_total = float(sizes[0]), float(sizes[1])
    present = (count + baseline) > 0  # an item of neither window has no prior mass: nothing to say about it
    keys, labels, count, baseline = keys[present], labels[present], count[present], baseline[present]
    if not len(keys) or total == 0 or excess <= 0:
        return ()
    prior = prior_scale * (count + baseline).astype(np.float64)
    delta, z = log_odds(count, total, baseline, baseline_total, prior, prior_scale * (total + baseline_total))
    expected = baseline / periods
    extra = np.maximum(0.0, count - expected)
    rose = np.flatnonzero((z >= MIN_Z) & (extra > 0))
    order = rose[np.lexsort((keys[rose], -z[rose]))][:n]
    return tuple(Rise(kind, str(keys[i]), str(labels[i]), int(count[i]), int(baseline[i]), float(expected[i]),
                      float(extra[i]), float(min(1.0, extra[i] / excess)), float(delta[i]), float(z[i]))
                 for i in order)


def _term_counts(index: TermIndex, rows: np.ndarray) -> np.ndarray:
    """Tweets of ``rows`` containing each term of the index (dense, one entry per term)."""
    _, term, tweets = _counts(index, rows, None, 1, None)
    out = np.zeros(len(index.terms), dtype=np.int64)
    out[term] = tweets
    return out


def _topic_counts(df: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, pd.Index]:
    codes, topics = _codes(df["main_topic"])
    picked = codes[rows]
    return np.bincount(picked[picked >= 0].astype(np.int64), minlength=len(topics)), topics.astype("str")


def _representative(df: pd.DataFrame, rows: np.ndarray, index: TermIndex, rises: Sequence[Rise],
                    n: int) -> tuple[dict[str, Any], ...]:
    """Up to ``n`` tweets of ``rows``: the most engaging distinct texts (``text_key``) containing the top rising
    term, then the next ones, then any of the period's."""
    texts = df["full_text"].to_numpy(dtype=object) if "full_text" in df.columns else None
    engagement = df["engagement"].to_numpy(dtype=np.int64)
    term_ids = {t: i for i, t in enumerate(index.terms)} if rises else {}
    pools = []
    for rise in rises:
        wanted = term_ids.get(rise.key)
        if wanted is not None:
            has = np.zeros(index.texts, dtype=bool)
            has[np.searchsorted(index.indptr, np.flatnonzero(index.indices == wanted), side="right") - 1] = True
            pools.append(rows[has[index.codes[rows]]])
    pools.append(rows)
    chosen: list[int] = []
    seen: set[str] = set()
    for pool in pools:
        picked = _most_engaging(df, pool, engagement, n + len(chosen), None if texts is None else texts.take)
        for row in picked:
            key = text_key(texts[row]) if texts is not None else str(row)
            if key not in seen:
                seen.add(key)
                chosen.append(int(row))
            if len(chosen) == n:
                break
        if len(chosen) == n:
            break
    columns = [c for c in TWEET_COLUMNS if c in df.columns]
    return tuple(df[columns].take(chosen).to_dict("records"))


def explain_spike(df: pd.DataFrame, tz: str | tzinfo, period_start: date | datetime | pd.Timestamp | str,
                  grain: str, *, scope: Scope = "all", baseline_periods: int | None = None,
                  index: TermIndex | None = None, n: int = 8,
                  prior_scale: float = PRIOR_SCALE) -> SpikeExplanation:
    """What rose in the ``grain`` period starting at ``period_start`` (naive local time in ``tz``) among the
    ``scope``'s rows of ``df``, against the ``baseline_periods`` before it (default: the timeline's
    :data:`SPIKE_WINDOWS`; fewer when the data starts later). ``index`` is a :class:`TermIndex` of
    ``df["full_text"]`` (built here if None). Up to ``n`` terms, hashtags and topics each."""
    start = period_floor(period_start, grain)
    end = start + shift(grain, 1)
    wanted = SPIKE_WINDOWS[grain] if baseline_periods is None else int(baseline_periods)
    scoped = scope_mask(df, scope) & df["created_at"].notna().to_numpy()
    when = df["created_at"]
    first = when[scoped].min() if scoped.any() else pd.NaT
    periods = 0
    if not pd.isna(first):
        first_period = period_floor(pd.Timestamp(first).tz_convert(tz), grain)
        while periods < wanted and start - shift(grain, periods + 1) >= first_period:
            periods += 1
    base_start = start - shift(grain, periods)
    in_period = scoped & (when >= _utc(start, tz)).to_numpy(dtype=bool, na_value=False) & (
        when < _utc(end, tz)).to_numpy(dtype=bool, na_value=False)
    in_base = scoped & (when >= _utc(base_start, tz)).to_numpy(dtype=bool, na_value=False) & (
        when < _utc(start, tz)).to_numpy(dtype=bool, na_value=False)
    rows, base = np.flatnonzero(in_period), np.flatnonzero(in_base)
    expected = len(base) / periods if periods else float("nan")
    excess = max(0.0, len(rows) - expected) if periods else 0.0
    empty = SpikeExplanation(scope, grain, start, end, periods, len(rows), expected, excess)
    if excess <= 0 or not len(rows):
        return empty
    if index is None:
        index = build_term_index(df["full_text"] if "full_text" in df.columns else pd.Series([""] * len(df)))
    elif index.rows != len(df):
        raise ValueError(f"the term index has {index.rows} rows, the frame {len(df)}")
    count, before = _term_counts(index, rows), _term_counts(index, base)
    labels = index.terms if index.labels is None else index.labels
    words, tags = ~index.is_hashtag, index.is_hashtag
    sizes = (len(rows), len(base))
    terms = _rises("term", index.terms[words], labels[words], count[words], before[words], sizes, periods, excess,
                   n, prior_scale)
    hashtags = _rises("hashtag", index.terms[tags], labels[tags], count[tags], before[tags], sizes, periods,
                      excess, n, prior_scale)
    topics: tuple[Rise, ...] = ()
    if scope == "all" or scope == "negative":
        topic_now, names = _topic_counts(df, rows)
        topic_before, _ = _topic_counts(df, base)
        keys = names.to_numpy(dtype=object)
        topics = _rises("topic", keys, keys, topic_now, topic_before,
                        (int(topic_now.sum()), int(topic_before.sum())), periods, excess, n, prior_scale)
    tweets = _representative(df, rows, index, [*terms, *hashtags], REPRESENTATIVE_TWEETS)
    return SpikeExplanation(scope, grain, start, end, periods, len(rows), expected, excess, terms, hashtags, topics,
                            tweets)
