"""Cross-filtering: a click on a chart segment becomes a filter of every KPI, chart and table row.

Each click adds a ``Drill`` (shown as a removable chip). Drills of the same kind are alternatives (topic A or
topic B); drills of different kinds must all hold (topic A and negative). Clicking a segment that is already
a chip removes it again, as in the usual dashboard tools.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from dallosh import analytics
from dallosh.defaults import PRIORITIES, SENTIMENTS

PRIORITY_NAMES = {0: "low", 1: "medium", 2: "high"}
#: Chips at most (a longer list is refused: it cannot be read, and a crafted link must stay cheap).
MAX_DRILLS = 12
#: Kinds a drill can have (what a shared link may ask for).
KINDS = ("at_hour", "day", "week", "month", "hour", "sentiment", "priority", "topic", "topic_sentiment",
         "critical_topic", "author", "ids", "term")
#: A function giving, for a term, which rows of the loaded frame contain it (boolean, by frame position).
TermRows = Callable[[str], np.ndarray]


@dataclass(frozen=True)
class Drill:
    """A chart click: one segment (a topic, a day, a term…) every number on the page is narrowed to."""

    kind: str
    value: Any
    label: str


def describe(kind: str, value: Any, tz: str) -> str:
    """The chip's words for a drill, the same whether it came from a click or from a shared link."""
    if kind == "at_hour":
        return f"Hour = {pd.Timestamp(value):%Y-%m-%d %H:00} ({tz})"
    if kind == "day":
        return f"Day = {pd.Timestamp(value):%Y-%m-%d}"
    if kind == "week":
        return f"Week of {pd.Timestamp(value):%Y-%m-%d}"
    if kind == "month":
        return f"Month = {pd.Timestamp(value):%Y-%m}"
    if kind == "hour":
        return f"Hour of day = {int(value)} h ({tz})"
    if kind == "sentiment":
        return f"Sentiment = {value}"
    if kind == "priority":
        return f"Priority = {int(value)} · {PRIORITY_NAMES[int(value)]}"
    if kind == "topic":
        return f"Topic = {value}"
    if kind == "topic_sentiment":
        return f"Topic = {value[0]} and sentiment = {value[1]}"
    if kind == "critical_topic":
        return f"Critical tweets (negative, priority 2) about {value}"
    if kind == "author":
        return f"Author = @{value}"
    if kind == "term":
        return f"Says “{value}”"
    if kind == "ids":
        return f"Tweet {value[0]}" if len(value) == 1 else f"{len(value)} chosen tweets"
    raise ValueError(f"unknown drill {kind!r}")


def make_drill(kind: str, value: Any, tz: str) -> Drill:
    return Drill(kind, value, describe(kind, value, tz))


def toggle(drills: Sequence[Drill], drill: Drill) -> tuple[Drill, ...]:
    """The chips after a click on ``drill``: added, or removed when it is already there."""
    same = [d for d in drills if (d.kind, d.value) == (drill.kind, drill.value)]
    if same:
        return tuple(d for d in drills if d not in same)
    return (*drills, drill)[-MAX_DRILLS:]


def _grain_start(local: pd.Series, kind: str) -> pd.Series:
    if kind == "at_hour":
        return local.dt.floor("h")
    if kind == "day":
        return local.dt.floor("D")
    if kind == "week":
        return (local - pd.to_timedelta(local.dt.day_of_week, unit="D")).dt.floor("D")
    return local.dt.to_period("M").dt.start_time


def drill_mask(df: pd.DataFrame, drill: Drill, tz: str, term_rows: TermRows | None = None) -> np.ndarray:
    """Rows of ``df`` inside the clicked segment (same definitions as the chart that was clicked).

    ``df``'s index holds the loaded frame's positions (the view's slim selection): a term is matched through
    ``term_rows``, which answers for the whole loaded frame.
    """

    def equals(column: str, value: Any) -> np.ndarray:
        return (df[column] == value).to_numpy(dtype=bool, na_value=False)

    kind, value = drill.kind, drill.value
    if kind == "sentiment":
        return equals("sentiment", value)
    if kind == "priority":
        return df["priority"].to_numpy() == int(value)
    if kind == "topic":
        return equals("main_topic", value)
    if kind == "topic_sentiment":
        return equals("main_topic", value[0]) & equals("sentiment", value[1])
    if kind == "critical_topic":
        return (equals("main_topic", value) & equals("sentiment", "negative")
                & (df["priority"].to_numpy() == analytics.CRITICAL_PRIORITY))
    if kind in ("at_hour", "day", "week", "month", "hour"):
        local = df["created_at"].dt.tz_convert(tz).dt.tz_localize(None)
        if kind == "hour":
            return (local.dt.hour == int(value)).to_numpy(dtype=bool, na_value=False)
        return (_grain_start(local, kind) == pd.Timestamp(value)).to_numpy(dtype=bool, na_value=False)
    if kind == "author":
        return equals("screen_name", value)
    if kind == "ids":
        return df["id"].isin(set(value)).to_numpy(dtype=bool)
    if kind == "term":
        if term_rows is None:
            raise ValueError("a term filter needs the loaded tweets' terms")
        return term_rows(str(value))[df.index.to_numpy()]
    raise ValueError(f"unknown drill {kind!r}")


def cross_mask(df: pd.DataFrame, drills: Sequence[Drill], tz: str, term_rows: TermRows | None = None
               ) -> np.ndarray | None:
    """Rows of ``df`` matching every kind of chip (any chip of a kind); None when there is no chip."""
    if not drills:
        return None
    by_kind: dict[str, np.ndarray] = {}
    for drill in drills:
        mask = drill_mask(df, drill, tz, term_rows)
        by_kind[drill.kind] = by_kind[drill.kind] | mask if drill.kind in by_kind else mask
    result = None
    for mask in by_kind.values():
        result = mask if result is None else result & mask
    return result


# ------------------------------------------------------------------------------------- values in a shared link


def encode_value(drill: Drill) -> Any:
    """The drill's value as JSON-able data (a shared link carries it)."""
    value = drill.value
    if drill.kind == "at_hour":
        return f"{pd.Timestamp(value):%Y-%m-%dT%H:00}"
    if drill.kind in ("day", "week", "month"):
        return f"{pd.Timestamp(value):%Y-%m-%d}"
    if drill.kind in ("topic_sentiment", "ids"):
        return [str(v) for v in value]
    if drill.kind in ("hour", "priority"):
        return int(value)
    return str(value)


def decode_drill(kind: Any, value: Any, tz: str) -> Drill | None:
    """A drill from a shared link, or None when it is not one this page could have made (a crafted link)."""
    if kind not in KINDS:
        return None
    try:
        if kind in ("at_hour", "day", "week", "month"):
            if not isinstance(value, str) or len(value) != (16 if kind == "at_hour" else 10):
                return None
            stamp = pd.Timestamp(value)
            return make_drill(kind, stamp, tz)
        if kind == "hour":
            if not isinstance(value, int) or not 0 <= value <= 23:
                return None
        elif kind == "priority":
            if value not in PRIORITIES:
                return None
        elif kind == "sentiment":
            if value not in SENTIMENTS:
                return None
        elif kind == "topic_sentiment":
            if (not isinstance(value, list) or len(value) != 2 or not isinstance(value[0], str)
                    or value[1] not in SENTIMENTS or len(value[0]) > 200):
                return None
            value = (value[0], value[1])
        elif kind == "ids":
            if (not isinstance(value, list) or not 0 < len(value) <= 50
                    or not all(isinstance(v, str) and 0 < len(v) <= 40 for v in value)):
                return None
            value = tuple(value)
        elif not isinstance(value, str) or not 0 < len(value) <= 200:
            return None
        return make_drill(kind, value, tz)
    except (TypeError, ValueError):
        return None
