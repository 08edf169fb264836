"""The dashboard's filter bar as a value (:class:`Filters`) and its vectorised application, with the accent- and
case-insensitive text search it uses."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from functools import cache

import numpy as np
import pandas as pd

DateLike = date | datetime | pd.Timestamp | str | None


@dataclass(frozen=True)
class Filters:
    """What the dashboard's filter bar selects; the defaults select every customer tweet.

    ``None`` means "no filter"; an empty collection selects nothing (an explicit empty choice). Date bounds are
    inclusive; a bound given as a date (or ``"YYYY-MM-DD"``) covers the whole day; naive bounds are read in
    ``tz``. Rows with an unknown date are excluded as soon as a date bound is set. ``search`` is a case- and
    accent-insensitive substring of ``full_text`` ("reseau" finds "Réseau"). ``ids`` keeps only these tweet ids
    (drill-down from a chart click).
    """

    date_from: DateLike = None
    date_to: DateLike = None
    topics: Sequence[str] | None = None
    sentiments: Sequence[str] | None = None
    priorities: Sequence[int] | None = None
    include_retweets: bool = True
    include_operator: bool = False
    search: str = ""
    ids: Iterable[str] | None = None
    tz: str | tzinfo = "UTC"


def _is_whole_day(value: DateLike) -> bool:
    if isinstance(value, datetime | pd.Timestamp):
        return False
    if isinstance(value, date):
        return True
    return isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", value) is not None


def _bound(value: DateLike, tz: str | tzinfo, *, end: bool) -> pd.Timestamp | None:
    """A UTC timestamp; the end of a whole-day bound is the next local midnight (exclusive)."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    whole_day = _is_whole_day(value)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime.combine(value, time())
    stamp = pd.Timestamp(value)
    if whole_day:
        stamp = stamp.normalize() + pd.Timedelta(days=1) if end else stamp.normalize()
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize(tz, ambiguous=False, nonexistent="shift_forward")
    return stamp.tz_convert("UTC")


def _bool_column(df: pd.DataFrame, column: str) -> np.ndarray:
    if column not in df.columns:
        return np.zeros(len(df), dtype=bool)
    # Callers combine the result in place, so it must be a copy; pandas 3.1 ignores ``copy=True`` when
    # ``na_value`` is given on a numpy bool column and returns the column's own buffer (kpis() then cleared
    # the frame's ``is_operator`` flags).
    return np.array(df[column].to_numpy(dtype=bool, na_value=False), dtype=bool, copy=True)


def fold_text(text: str) -> str:
    """Lower-case, accent-free form used by search: "Réseau ÉTÉ" → "reseau ete"."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()


@cache
def _letter_variants() -> dict[str, str]:
    """For each ASCII letter/digit, every Latin character that folds to it ("e" → "eEéÉèÈêÊëË…")."""
    variants: dict[str, set[str]] = {}
    for cp in (*range(0x30, 0x250), *range(0x1E00, 0x1F00)):
        ch = chr(cp)
        base = fold_text(ch)
        if len(base) == 1 and base.isascii() and base.isalnum():
            variants.setdefault(base, set()).add(ch)
    return {k: "".join(sorted(v)) for k, v in variants.items()}


def search_pattern(query: str) -> re.Pattern[str]:
    """A regex matching ``query`` regardless of case and accents, in NFC or decomposed (NFD) texts.

    Each letter becomes a class of its accented/cased forms (faster than ``re.IGNORECASE`` on 1M texts) and
    each run of blanks matches any whitespace run, so "plus de" also finds "plus\\nde".
    """
    variants = _letter_variants()
    parts = []
    for token in re.split(r"(\s+)", fold_text(query.strip())):
        if not token:
            continue
        if token.isspace():
            parts.append(r"\s+")
            continue
        for ch in token:
            if ch in variants:
                parts.append("[" + re.escape(variants[ch]) + "]" + r"[\u0300-\u036f]*")
            elif ch.upper() != ch:
                parts.append("[" + re.escape("".join(sorted({ch, ch.upper()}))) + "]")
            else:
                parts.append(re.escape(ch))
    return re.compile("".join(parts))


def search_mask(texts: pd.Series, query: str) -> np.ndarray:
    """True where ``texts`` contain ``query`` (case- and accent-insensitive); all True for a blank query."""
    if not query or not query.strip():
        return np.ones(len(texts), dtype=bool)
    found = texts.str.contains(search_pattern(query), regex=True, na=False)
    return found.to_numpy(dtype=bool, na_value=False)


def apply_filters(df: pd.DataFrame, filters: Filters) -> pd.DataFrame:
    """Rows of ``df`` selected by ``filters`` (original index kept); vectorised, text search done last.

    The cheap masks run first and the regex search only on the rows still selected, so a full-text search on
    1M rows stays well under a second.
    """
    mask = np.ones(len(df), dtype=bool)
    if not filters.include_retweets:
        mask &= ~_bool_column(df, "is_retweet")
    if not filters.include_operator:
        mask &= ~_bool_column(df, "is_operator")
    start = _bound(filters.date_from, filters.tz, end=False)
    stop = _bound(filters.date_to, filters.tz, end=True)
    if start is not None or stop is not None:
        when = df["created_at"]
        if start is not None:
            mask &= (when >= start).to_numpy(dtype=bool, na_value=False)
        if stop is not None:
            exclusive = _is_whole_day(filters.date_to)
            before = when < stop if exclusive else when <= stop
            mask &= before.to_numpy(dtype=bool, na_value=False)
    if filters.topics is not None:
        mask &= df["main_topic"].isin(list(filters.topics)).to_numpy(dtype=bool)
    if filters.sentiments is not None:
        wanted = [str(s).strip().casefold() for s in filters.sentiments]
        mask &= df["sentiment"].isin(wanted).to_numpy(dtype=bool)
    if filters.priorities is not None:
        mask &= np.isin(df["priority"].to_numpy(), np.array([int(p) for p in filters.priorities], dtype=np.int64))
    if filters.ids is not None:
        wanted_ids = {str(i) for i in filters.ids}
        rows = np.flatnonzero(mask)
        mask[rows] = df["id"].take(rows).isin(wanted_ids).to_numpy(dtype=bool)
    if filters.search and filters.search.strip():
        rows = np.flatnonzero(mask)
        mask[rows] = search_mask(df["full_text"].take(rows), filters.search)
    return df.take(np.flatnonzero(mask)) if not mask.all() else df.copy(deep=False)
