"""Time series of a frame for the charts: volume and sentiment per local day (with spike flags) and per hour of
the day."""

from __future__ import annotations

from datetime import tzinfo

import numpy as np
import pandas as pd

from dallosh.defaults import SENTIMENTS

#: Trailing window (days, excluding the day itself) and the number of standard deviations for a spike.
SPIKE_WINDOW_DAYS = 7
SPIKE_SIGMAS = 2.0


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
        types = {"day": "datetime64[us]", "volume": np.int64, **dict.fromkeys(SENTIMENTS, np.int64),
                 **dict.fromkeys(("negative_share", "trailing_mean", "trailing_std", "threshold"), np.float64),
                 "spike": bool}
        return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in types.items()})
    days = local.to_numpy().astype("datetime64[D]")
    first = days.min()
    position = (days - first).astype(np.int64)
    n_days = int(position.max()) + 1
    out = pd.DataFrame({"day": pd.to_datetime(first + np.arange(n_days)).as_unit("us")})
    out["volume"] = np.bincount(position, minlength=n_days).astype(np.int64)
    for k, name in enumerate(SENTIMENTS):
        out[name] = np.bincount(position[codes == k], minlength=n_days).astype(np.int64)
    labelled = out[list(SENTIMENTS)].sum(axis=1).to_numpy(dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        out["negative_share"] = np.where(labelled > 0, out["negative"] * 100.0 / labelled, np.nan)
    trailing = out["volume"].astype(np.float64).shift(1).rolling(SPIKE_WINDOW_DAYS, min_periods=SPIKE_WINDOW_DAYS)
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
