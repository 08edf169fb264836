"""Date presets and period comparison: "last 30 days" as a date range, the period before it, and how each KPI
moved between the two (up or down, and whether that is good news).

The previous period's KPIs are computed by the caller exactly like the current ones: :func:`apply_filters` on
the same frame with the dates replaced (:func:`with_dates`), then :func:`kpis`; :func:`kpi_changes` compares
the two dicts. Every range here is inclusive and made of whole local days (the filters' meaning of a date).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from datetime import date, timedelta, tzinfo
from typing import Any

import numpy as np
import pandas as pd

from dallosh.analytics.filters import Filters

#: Date presets of the filter bar: key → label.
PRESETS: dict[str, str] = {
    "last_7": "Last 7 days", "last_30": "Last 30 days", "last_90": "Last 90 days", "this_month": "This month",
}
#: Length in days of the "last N days" presets (today included).
_PRESET_DAYS: dict[str, int] = {"last_7": 7, "last_30": 30, "last_90": 90}
#: Whether a rise of each KPI of :func:`kpis` is good news (True), bad news (False) or neither (None): the one
#: place that says it. Volume and viral outliers are neither: more tweets is not better or worse in itself.
HIGHER_IS_BETTER: dict[str, bool | None] = {
    "volume": None,
    "negative_share": False,
    "net_sentiment": True,
    "high_priority_count": False,
    "median_first_reply_time": False,
    "engagement_median": True,
    "engagement_rate": True,
    "engagement_outliers": None,
}
#: A change smaller than this (absolute) is "flat": float noise, not a movement.
FLAT_TOLERANCE = 1e-9


def preset_range(name: str, today: date) -> tuple[date, date]:
    """The inclusive whole-day range of preset ``name`` ending ``today``: ``last_7`` is today-6 … today,
    ``this_month`` the 1st … today. Raises ValueError on an unknown name."""
    if name == "this_month":
        return today.replace(day=1), today
    if name not in _PRESET_DAYS:
        raise ValueError(f"unknown date preset {name!r}; one of {', '.join(PRESETS)}")
    return today - timedelta(days=_PRESET_DAYS[name] - 1), today


def previous_range(start: date, end: date) -> tuple[date, date]:
    """The period of the same number of days that ends the day before ``start`` (what "vs previous period"
    compares with). Raises ValueError when ``end`` is before ``start``."""
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    days = (end - start).days + 1
    previous_end = start - timedelta(days=1)
    return previous_end - timedelta(days=days - 1), previous_end


def data_range(df: pd.DataFrame, tz: str | tzinfo) -> tuple[date, date] | None:
    """First and last local day (in ``tz``) of ``created_at``, to bound presets and date pickers to the data;
    rows without a date are ignored; None when no row has one."""
    if "created_at" not in df.columns or not len(df):
        return None
    when = df["created_at"]
    first, last = when.min(), when.max()  # NaT skipped; converting two instants is cheaper than 1M
    if pd.isna(first) or pd.isna(last):
        return None
    return pd.Timestamp(first).tz_convert(tz).date(), pd.Timestamp(last).tz_convert(tz).date()


def with_dates(filters: Filters, start: date | None, end: date | None) -> Filters:
    """``filters`` with its date range replaced (None: no bound), every other choice kept, so the previous
    period is selected exactly like the current one."""
    return dataclasses.replace(filters, date_from=start, date_to=end)


@dataclass(frozen=True)
class Change:
    """How one KPI moved: ``delta`` = current − previous (durations in seconds); ``direction`` is ``up``,
    ``down``, ``flat`` or ``none`` (a value is missing); ``good`` says whether the move is good news (None when
    neither, flat or unknown)."""

    current: float | None
    previous: float | None
    delta: float | None
    direction: str
    good: bool | None


def _number(value: Any) -> float | None:
    """A KPI value as a float: durations in seconds; None, NaN and NaT as None."""
    if value is None or pd.isna(value):
        return None
    if isinstance(value, timedelta | np.timedelta64):
        return pd.Timedelta(value).total_seconds()
    number = float(value)
    return None if math.isnan(number) else number


def compare(current: float | None, previous: float | None, *, higher_is_better: bool | None,
            tolerance: float = FLAT_TOLERANCE) -> Change:
    """The :class:`Change` from ``previous`` to ``current``; ``flat`` when they differ by at most
    ``tolerance``. Durations (Timedelta) are compared in seconds."""
    now, before = _number(current), _number(previous)
    if now is None or before is None:
        return Change(now, before, None, "none", None)
    delta = now - before
    if abs(delta) <= tolerance:
        return Change(now, before, delta, "flat", None)
    direction = "up" if delta > 0 else "down"
    good = None if higher_is_better is None else (delta > 0) == higher_is_better
    return Change(now, before, delta, direction, good)


def kpi_changes(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Change]:
    """Per key of ``current`` (a :func:`kpis` dict): its :class:`Change` from ``previous`` (a key missing there
    compares with None), judged by :data:`HIGHER_IS_BETTER` (a key it lacks is neither good nor bad)."""
    return {key: compare(value, previous.get(key), higher_is_better=HIGHER_IS_BETTER.get(key))
            for key, value in current.items()}
