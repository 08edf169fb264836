"""Time series of a frame for the charts: volume and sentiment per local hour, day, week or month (with spike
flags), and activity per hour of the day."""

from __future__ import annotations

from datetime import tzinfo

import numpy as np
import pandas as pd

from dallosh.defaults import SENTIMENTS

#: Trailing window (days, excluding the day itself) and the number of standard deviations for a spike.
SPIKE_WINDOW_DAYS = 7
SPIKE_SIGMAS = 2.0
#: Periods of :func:`timeline`, finest first.
GRAINS: tuple[str, ...] = ("hour", "day", "week", "month")
#: The longest span (local calendar days, first and last included) drawn at each grain when none is asked for.
GRAIN_MAX_DAYS: dict[str, int] = {"hour": 3, "day": 120, "week": 730}
#: Trailing window of a spike, in periods of each grain (a day's 24 hours; 7 otherwise, as for days).
SPIKE_WINDOWS: dict[str, int] = {"hour": 24, "day": SPIKE_WINDOW_DAYS, "week": 7, "month": 7}


def _local_times(df: pd.DataFrame, tz: str | tzinfo) -> tuple[pd.Series, np.ndarray]:
    """``created_at`` as naive wall-clock time in ``tz`` without the NaT rows, and those rows' sentiment
    codes (-1 unlabelled, then the order of SENTIMENTS)."""
    dated = df["created_at"].notna().to_numpy()
    local = df["created_at"][dated].dt.tz_convert(tz).dt.tz_localize(None)
    return local, df["sentiment"].cat.codes.to_numpy()[dated]


def daily_volume_and_sentiment(df: pd.DataFrame, tz: str | tzinfo = "UTC") -> pd.DataFrame:
    """One row per local day from the first to the last day (days without tweets included, volume 0).

    Columns: ``day`` (naive midnight in ``tz``), ``volume``, ``negative``, ``neutral``, ``positive``,
    ``negative_share`` (% of labelled, NaN if none), ``trailing_mean``/``trailing_std`` (mean and sample
    standard deviation of the volume over the 7 days *before* the day, NaN for the first 7 days),
    ``threshold`` = mean + 2σ and ``spike`` = volume > threshold (False while there are not 7 days of history).
    """
    local, codes = _local_times(df, tz)
    if local.empty:
        return _empty_series()
    position, starts = _buckets(local, "day")
    return _volume_series(starts, position, codes, SPIKE_WINDOW_DAYS)


def choose_grain(days: int) -> str:
    """The grain that keeps a timeline of ``days`` local calendar days readable (about 120 bars at most, except
    for ``month`` on a decade): ``hour`` up to 3 days, ``day`` up to 120, ``week`` up to 2 years, else ``month``."""
    for grain, most in GRAIN_MAX_DAYS.items():
        if days <= most:
            return grain
    return "month"


def timeline(df: pd.DataFrame, tz: str | tzinfo = "UTC", grain: str | None = None) -> pd.DataFrame:
    """Volume and sentiment per local hour, day, week or month, so that a multi-year export is not squeezed into
    one spike and a one-day export is not a single bar.

    ``grain`` is one of :data:`GRAINS`; None chooses it from the span of the dates (:func:`choose_grain`).
    The columns are those of :func:`daily_volume_and_sentiment` (one row per period from the first to the last,
    empty periods at 0), with ``day`` the naive local start of each period (weeks are ISO weeks, starting on
    Monday; the first and last periods may be partial), plus ``grain``; ``attrs["grain"]`` says it too. Spikes
    compare a period with the :data:`SPIKE_WINDOWS` periods before it (24 for hours, so that the quiet night
    does not make every morning a spike). Hours are wall-clock hours: a DST change merges or skips one.
    """
    if grain is not None and grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}; one of {', '.join(GRAINS)}")
    local, codes = _local_times(df, tz)
    if local.empty:
        out = _empty_series()
        chosen = grain or "day"
    else:
        chosen = grain or choose_grain(int((local.max().normalize() - local.min().normalize()).days) + 1)
        position, starts = _buckets(local, chosen)
        out = _volume_series(starts, position, codes, SPIKE_WINDOWS[chosen])
    out["grain"] = pd.Series([chosen] * len(out), dtype="str")
    out.attrs["grain"] = chosen
    return out


def _empty_series() -> pd.DataFrame:
    types = {"day": "datetime64[us]", "volume": np.int64, **dict.fromkeys(SENTIMENTS, np.int64),
             **dict.fromkeys(("negative_share", "trailing_mean", "trailing_std", "threshold"), np.float64),
             "spike": bool}
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in types.items()})


def _buckets(local: pd.Series, grain: str) -> tuple[np.ndarray, np.ndarray]:
    """(period position of each time, first instant of every period from the first to the last) for naive
    local times; positions are 0-based and consecutive periods are consecutive positions."""
    if grain == "hour":
        units = local.to_numpy().astype("datetime64[h]")
    elif grain == "month":
        units = local.to_numpy().astype("datetime64[M]")
    else:
        units = local.to_numpy().astype("datetime64[D]")
    if grain == "week":  # numpy's day 0 (1970-01-01) is a Thursday: +3 makes Monday 0
        days = units.astype(np.int64)
        units = units - ((days + 3) % 7).astype("timedelta64[D]")
        first = units.min()
        position = (units - first).astype(np.int64) // 7
        starts = first + 7 * np.arange(int(position.max()) + 1)
    else:
        first = units.min()
        position = (units - first).astype(np.int64)
        starts = first + np.arange(int(position.max()) + 1)
    return position, starts


def _volume_series(starts: np.ndarray, position: np.ndarray, codes: np.ndarray, window: int) -> pd.DataFrame:
    """The timeline's table from each dated row's period ``position`` and sentiment code; spikes over
    ``window`` periods."""
    n_days = len(starts)
    out = pd.DataFrame({"day": pd.to_datetime(starts.astype("datetime64[us]")).as_unit("us")})
    out["volume"] = np.bincount(position, minlength=n_days).astype(np.int64)
    for k, name in enumerate(SENTIMENTS):
        out[name] = np.bincount(position[codes == k], minlength=n_days).astype(np.int64)
    labelled = out[list(SENTIMENTS)].sum(axis=1).to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["negative_share"] = np.where(labelled > 0, out["negative"] * 100.0 / labelled, np.nan)
    trailing = out["volume"].astype(np.float64).shift(1).rolling(window, min_periods=window)
    out["trailing_mean"] = trailing.mean()
    out["trailing_std"] = trailing.std(ddof=1)
    out["threshold"] = out["trailing_mean"] + SPIKE_SIGMAS * out["trailing_std"]
    out["spike"] = (out["volume"] > out["threshold"]).to_numpy(dtype=bool, na_value=False)
    return out


def hour_of_day_activity(df: pd.DataFrame, tz: str | tzinfo = "UTC") -> pd.DataFrame:
    """24 rows (local hour 0–23 in ``tz``): ``tweets``, ``negative`` and ``negative_share`` (% of labelled
    tweets of that hour, NaN if none); rows without a date are left out."""
    local, codes = _local_times(df, tz)
    hours = local.dt.hour.to_numpy(dtype=np.int64)
    tweets = np.bincount(hours, minlength=24)
    negative = np.bincount(hours[codes == 0], minlength=24)
    labelled = np.bincount(hours[codes >= 0], minlength=24).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(labelled > 0, negative * 100.0 / labelled, np.nan)
    return pd.DataFrame(
        {"hour": np.arange(24), "tweets": tweets.astype(np.int64), "negative": negative.astype(np.int64),
         "negative_share": share}
    )
