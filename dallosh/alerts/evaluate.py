"""Pure evaluation of an alert rule: the metric per period, its threshold, and the episodes that fire.

No database, no services: frames in, numbers out, so every rule of the issue is unit-tested on constructed data.

* :func:`metric_series` — the metric per local day or hour of already-filtered rows, through
  :func:`dallosh.analytics.timeline` (the Analysis page's own series: the same periods, the same counts).
* :func:`thresholds` — the threshold of every period: ``mean ± k·σ`` of the ``window`` periods *before* it (the
  period under test left out; a period without a full window of history is not checked), or a fixed number.
* :func:`run_episodes` — the hysteresis: a period past the threshold fires only when no episode is going on; the
  episode lasts while the following periods stay past it, and the rule re-arms at the first period that does not.
  Periods already checked (before the stored ``through``) are not checked again, so a re-run or a second task on
  the same data does not fire twice for one episode.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import tzinfo

import numpy as np
import pandas as pd

from dallosh.analytics.kpi import CRITICAL_PRIORITY as HIGH_PRIORITY  # analytics.high_priority_count's priority
from dallosh.analytics.series import timeline

#: A period's net sentiment is only checked when it has at least this many positive + negative tweets: with 3
#: tweets one opinion moves it by 0.67, which is noise, not news.
MIN_POLAR_TWEETS = 10
#: The first check of a rule (or of a new dataset under "all new data") looks at this many of the latest
#: periods: older periods are history, shown by Analysis, not news to send (a 60-day export with 5 old spikes
#: must not send 5 alerts at once).
FIRST_CHECK_PERIODS = {"day": 7, "hour": 24}


def period_key(start: pd.Timestamp, grain: str) -> str:
    """A period's naive local start as stored text: ``2025-10-20`` (day) or ``2025-10-20T14:00`` (hour).

    The texts of one grain sort in time order."""
    return f"{start:%Y-%m-%dT%H:00}" if grain == "hour" else f"{start:%Y-%m-%d}"


def metric_series(rows: pd.DataFrame, metric: str, tz: str | tzinfo, grain: str, topic: str = "") -> pd.DataFrame:
    """One row per local period from the first to the last dated row of ``rows``: ``period`` (naive local
    start), ``key`` (:func:`period_key`) and ``value`` (float; NaN where the metric has no value).

    ``rows`` are already selected (the dashboards' default filters, corrections applied). Counts are those of
    :func:`~dallosh.analytics.timeline` (empty periods count 0); the net sentiment of a period is
    (positive − negative) / (positive + negative), NaN under :data:`MIN_POLAR_TWEETS` polar tweets.
    """
    if metric not in ("negative_volume", "topic_volume", "high_priority", "net_sentiment"):
        raise ValueError(f"unknown metric {metric!r}")
    line = timeline(rows, tz, grain)
    periods = line["day"]
    if metric == "negative_volume":
        values = line["negative"].to_numpy(dtype=np.float64)
    elif metric == "net_sentiment":
        pos, neg = line["positive"].to_numpy(dtype=np.float64), line["negative"].to_numpy(dtype=np.float64)
        polar = pos + neg
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(polar >= MIN_POLAR_TWEETS, (pos - neg) / polar, np.nan)
    else:
        if metric == "topic_volume":
            mask = (rows["main_topic"].astype("str") == topic).to_numpy(dtype=bool, na_value=False)
        else:
            mask = rows["priority"].to_numpy() == HIGH_PRIORITY
        sub = timeline(rows[mask], tz, grain)
        counts = pd.Series(sub["volume"].to_numpy(dtype=np.float64), index=sub["day"].to_numpy())
        values = counts.reindex(periods.to_numpy(), fill_value=0.0).to_numpy(dtype=np.float64)
    return pd.DataFrame({"period": periods, "key": [period_key(p, grain) for p in periods], "value": values})


@dataclass(frozen=True)
class Thresholds:
    """Per period: the threshold, the trailing mean and σ (NaN where not computed) and whether it is past it."""

    threshold: np.ndarray
    mean: np.ndarray
    std: np.ndarray
    checked: np.ndarray
    breach: np.ndarray


def trailing(values: np.ndarray, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean and sample σ of the ``window`` values before each one, over the periods that have a value (NaN
    periods are skipped, not counted as 0); NaN until a full window of history exists."""
    values = np.asarray(values, dtype=np.float64)
    valid = ~np.isnan(values)
    mean, std = np.full(len(values), np.nan), np.full(len(values), np.nan)
    if valid.any():
        history = pd.Series(values[valid]).shift(1).rolling(window, min_periods=window)
        mean[valid], std[valid] = history.mean().to_numpy(), history.std(ddof=1).to_numpy()
    return mean, std


def thresholds(values: np.ndarray, *, kind: str, direction: str, k: float = 2.0, window: int = 7,
               value: float = 0.0, counts: bool = False) -> Thresholds:
    """The threshold of every period and whether it is crossed (strictly: above means ``>``, below ``<``).

    ``kind`` "sigma": ``mean + k·σ`` (above) or ``mean − k·σ`` (below) of the ``window`` previous periods with a
    value; a period without that much history is not checked. ``kind`` "fixed": ``value`` for every period.
    Periods whose own value is NaN are never checked. ``counts``: the values are numbers of tweets, whose σ is
    taken as at least √mean (and at least 1), the noise of a count (Poisson): a flat history (σ = 0) would
    otherwise make one more tweet, or an hour's 0 → 1, an alert.
    """
    if direction not in ("above", "below"):
        raise ValueError(f"unknown direction {direction!r}")
    values = np.asarray(values, dtype=np.float64)
    mean, std = trailing(values, window)
    if counts:
        std = np.where(np.isnan(std), std, np.fmax(std, np.sqrt(np.fmax(mean, 1.0))))
    if kind == "sigma":
        threshold = mean + k * std if direction == "above" else mean - k * std
    elif kind == "fixed":
        threshold = np.full(len(values), float(value))
    else:
        raise ValueError(f"unknown threshold kind {kind!r}")
    checked = ~np.isnan(values) & ~np.isnan(threshold)
    with np.errstate(invalid="ignore"):
        past = values > threshold if direction == "above" else values < threshold
    return Thresholds(threshold, mean, std, checked, past & checked)


@dataclass
class Outcome:
    """What one check found: the periods (indices) that fired, and the state to store."""

    fired: list[int] = field(default_factory=list)
    through: str = ""
    in_episode: bool = False
    episode_start: str = ""
    #: How many periods were checked this time (0: nothing new since the last check).
    checked: int = 0


def run_episodes(keys: list[str], checked: np.ndarray, breach: np.ndarray, *, through: str = "",
                 in_episode: bool = False, episode_start: str = "", first_check: int = 7) -> Outcome:
    """Walk the periods not checked yet and say which fire (see the module docstring).

    ``keys`` are the periods' :func:`period_key` texts in time order; ``through``/``in_episode``/``episode_start``
    the stored state ("" = never checked: only the last ``first_check`` periods are walked). The last period
    already checked is walked again (it may have been partial: a later export completes it) without firing again
    if it was already part of the episode. Periods that are not checked (too little history, no value) neither
    fire nor end an episode.
    """
    outcome = Outcome(through=through, in_episode=in_episode, episode_start=episode_start)
    if not keys:
        return outcome
    if through:
        start = int(np.searchsorted(np.asarray(keys, dtype=object), through, side="left"))
    else:
        start = max(0, len(keys) - first_check)
    for i in range(start, len(keys)):
        outcome.checked += 1
        if not checked[i]:
            continue
        if breach[i]:
            if not outcome.in_episode:
                outcome.fired.append(i)
                outcome.in_episode, outcome.episode_start = True, keys[i]
        else:
            outcome.in_episode, outcome.episode_start = False, ""
    if start < len(keys):
        outcome.through = max(through, keys[-1])
    return outcome
