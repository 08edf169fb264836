"""Analytics on analysed datasets: typed loading, filters, KPIs, chart data, corrections and safe export.

Pure functions on pandas frames, shared by the dashboards and by power users in notebooks: no database, no
widgets, no plotting, and no I/O except :func:`load_analysed` (and the ``to_*_bytes`` helpers, which return
bytes instead of writing files).

An analysed CSV holds the 22 export columns as strings, the cleaning flags (``is_retweet``, ``is_operator``,
``is_engagement_outlier``, ``engagement``) and the labels (``sentiment``, ``priority``, ``main_topic``,
``labelled_by``). :func:`load_analysed` turns one or several of them into ONE typed frame:

* ``created_at``: ``datetime64[us, UTC]``; naive timestamps (the export's ``YYYY-MM-DD HH:MM:SS``) are UTC;
  ISO 8601, Twitter API (``Wed Oct 10 20:19:24 +0000 2018``) and French ``DD/MM/YYYY[ HH:MM[:SS]]`` are
  accepted as fallbacks; anything else is ``NaT`` (those rows are left out of every per-day/per-hour chart
  and of date filters, but still count in volumes).
* counts (``*_count``, ``engagement``): ``int64``; blank, non-numeric or negative → 0.
* flags (``is_*``, ``favorited``, ``retweeted``, ``bookmarked``): ``bool``.
* ``priority``: ``int8`` in {0, 1, 2}; an invalid value → 0 (so bad labels never inflate alerts).
* ``sentiment``: categorical on ``negative/neutral/positive``; ``main_topic``: categorical; unknown → NaN.
* ids (``id``, ``user_id``, ``in_reply_to``, ``retweeted_status``, ``quoted_status``): exact strings.
* repetitive strings (``screen_name``, ``name``, avatars, media, ``labelled_by``) and ``dataset``: categorical.

Definitions used by every KPI (they are also in each function's docstring):

* a *critical* tweet is ``sentiment == "negative"`` and ``priority == 2``;
* ``engagement`` = likes + retweets + replies + quotes of one tweet (cleaning's definition; views and
  bookmarks are not public interactions and are missing from many exports);
* shares are percentages (0–100) of the rows that have a sentiment label.
"""

from __future__ import annotations

import io
import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, tzinfo
from functools import cache
from os import PathLike
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

import dallosh.tables  # noqa: F401 (text columns as Python strings, before any frame is built)
from dallosh.cleaning import ENGAGEMENT_COLUMNS
from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.spreadsheet import is_formula

#: The export's timestamp format, tried first on every row (the only format seen in practice).
CREATED_AT_FORMAT = "%Y-%m-%d %H:%M:%S"
#: Tried in order, only on the rows the export format could not parse.
FALLBACK_FORMATS: tuple[str, ...] = (
    "ISO8601",
    "%a %b %d %H:%M:%S %z %Y",  # Twitter API v1.1
    "%d/%m/%Y %H:%M:%S",  # a CSV re-saved by a French spreadsheet
    "%d/%m/%Y %H:%M",
    "%d/%m/%Y",
)
COUNT_COLUMNS: tuple[str, ...] = (
    "favorite_count", "retweet_count", "bookmark_count", "quote_count", "reply_count", "views_count", "engagement",
)
FLAG_COLUMNS: tuple[str, ...] = (
    "is_retweet", "is_operator", "is_engagement_outlier", "favorited", "retweeted", "bookmarked",
)
ID_COLUMNS: tuple[str, ...] = ("id", "user_id", "in_reply_to", "retweeted_status", "quoted_status")
#: Id columns that mostly repeat (or are blank): categorical of the exact id strings, to save memory.
REFERENCE_ID_COLUMNS: tuple[str, ...] = ("user_id", "in_reply_to", "retweeted_status", "quoted_status")
#: String columns with few distinct values: categorical saves most of their memory.
CATEGORY_COLUMNS: tuple[str, ...] = (
    "screen_name", "name", "profile_image_url", "media", "media_tags", "labelled_by", "dataset",
)
#: Priority of a critical tweet (together with a negative sentiment).
CRITICAL_PRIORITY = max(PRIORITIES)
#: Trailing window (days, excluding the day itself) and the number of standard deviations for a spike.
SPIKE_WINDOW_DAYS = 7
SPIKE_SIGMAS = 2.0
#: Fields :func:`apply_corrections` may override.
CORRECTABLE_FIELDS: tuple[str, ...] = ("sentiment", "priority", "main_topic")
#: Rows read and typed at a time by :func:`load_analysed`.
LOAD_CHUNK_ROWS = 200_000
#: Excel's sheet row limit, header included.
XLSX_MAX_ROWS = 1_048_576
XLSX_DATE_FORMAT = "yyyy-mm-dd hh:mm:ss"

_MAX_COUNT = 10**12
_TRUE = frozenset({"true", "1", "yes", "y", "t"})

Source = str | PathLike[str] | IO[Any] | pd.DataFrame
DateLike = date | datetime | pd.Timestamp | str | None


# --------------------------------------------------------------------------------------------------- loading


def _per_distinct(values: pd.Series, fn: Callable[[np.ndarray], np.ndarray], missing: Any) -> np.ndarray:
    """``fn`` on the distinct non-null values (object array), spread back to every row (``missing`` for NaN).

    Columns of an export repeat a lot (counts, flags, labels), so this is far cheaper than per-row work.
    """
    codes, uniques = _codes(values)
    per_value = np.asarray(fn(np.asarray(uniques, dtype=object)))
    return np.append(per_value, np.array([missing], dtype=per_value.dtype))[codes]


def _counts(values: pd.Series) -> np.ndarray:
    """int64 counts: blank, non-numeric, negative or NaN → 0; absurd values capped at 10**12."""
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        numbers = values.to_numpy(dtype=np.float64, na_value=np.nan)
        return np.clip(np.nan_to_num(numbers, nan=0.0, posinf=_MAX_COUNT, neginf=0.0), 0, _MAX_COUNT).astype(
            np.int64
        )

    def parse(uniques: np.ndarray) -> np.ndarray:
        texts = pd.Series(uniques, dtype=object).astype(str).str.strip()
        numbers = pd.to_numeric(texts, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
        numbers = np.nan_to_num(numbers, nan=0.0, posinf=_MAX_COUNT, neginf=0.0)
        return np.clip(numbers, 0, _MAX_COUNT).astype(np.int64)

    return _per_distinct(values, parse, 0)


def _flags(values: pd.Series) -> np.ndarray:
    """bool: "True"/"true"/"1"/"yes" (or a real True) → True, anything else → False."""
    if pd.api.types.is_bool_dtype(values.dtype):
        return values.to_numpy(dtype=bool, na_value=False)
    return _per_distinct(values, lambda u: np.array([str(v).strip().casefold() in _TRUE for v in u], dtype=bool), False)


def _priorities(values: pd.Series) -> np.ndarray:
    """int8 in PRIORITIES; anything else (blank, "high", 7) → 0."""
    valid = set(PRIORITIES)

    def parse(uniques: np.ndarray) -> np.ndarray:
        numbers = pd.to_numeric(pd.Series(uniques, dtype=object).astype(str).str.strip(), errors="coerce")
        return np.array([int(n) if n == n and n in valid else 0 for n in numbers.tolist()], dtype=np.int8)

    return _per_distinct(values, parse, np.int8(0))


def _categorical(values: pd.Series, categories: Sequence[str] | None = None, *, fold: bool = False) -> pd.Categorical:
    """Categorical of the stripped values (case-folded if ``fold``); blank or outside ``categories`` → NaN.

    Built from codes, so the cost is one factorize plus work on the distinct values only.
    """
    codes, uniques = pd.factorize(values)
    cleaned = [str(v).strip() for v in np.asarray(uniques, dtype=object)]
    if fold:
        cleaned = [v.casefold() for v in cleaned]
    if categories is None:
        categories = sorted({v for v in cleaned if v})
    position = {c: i for i, c in enumerate(categories)}
    per_value = np.array([position.get(v, -1) for v in cleaned] + [-1], dtype=np.int32)
    return pd.Categorical.from_codes(per_value[codes], categories=list(categories))


def _fast_category(values: pd.Series) -> pd.Categorical:
    """Categorical in order of first appearance, built from one factorize (``astype("category")`` sorts the
    distinct values, several times slower on 1M rows)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.array  # type: ignore[return-value]
    codes, uniques = pd.factorize(values)
    return pd.Categorical.from_codes(codes, categories=pd.Index(uniques, dtype=values.dtype))


def _codes(values: pd.Series) -> tuple[np.ndarray, pd.Index]:
    """(codes, categories) of any column: free for a categorical, one factorize otherwise; NaN → -1."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.cat.codes.to_numpy(), values.cat.categories
    codes, uniques = pd.factorize(values)
    return codes, pd.Index(uniques)


def _ids(values: pd.Series) -> pd.Series:
    """Exact id strings: str columns are kept as read; integers are written in full (never via float)."""
    if values.dtype == "str":
        return values
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype("str").fillna("")
    if pd.api.types.is_integer_dtype(values.dtype):
        return values.astype("str")
    as_object = values.astype(object).where(values.notna(), "")
    return pd.Series([str(v) for v in as_object.tolist()], index=values.index, dtype="str")


def parse_created_at(values: pd.Series) -> pd.Series:
    """UTC ``datetime64[us, UTC]``: the export format on every row, fallbacks only on the rows that fail.

    Naive values are taken as UTC (exports are). Never raises: what no format understands becomes ``NaT``.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert("UTC").dt.as_unit("us")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        return values.dt.tz_localize("UTC").dt.as_unit("us")
    texts = values.astype("str") if values.dtype != "str" else values
    parsed = pd.to_datetime(texts, format=CREATED_AT_FORMAT, errors="coerce", utc=True).dt.as_unit("us")
    failed = parsed.isna().to_numpy() & texts.notna().to_numpy()
    if failed.any():
        failed &= (texts.str.strip() != "").to_numpy()
    if failed.any():
        codes, uniques = pd.factorize(texts[failed].str.strip())
        todo = pd.Series(np.asarray(uniques, dtype=object), dtype="str")
        found = pd.Series(pd.NaT, index=todo.index, dtype="datetime64[us, UTC]")
        for fmt in FALLBACK_FORMATS:
            missing = found.isna()
            if not missing.any():
                break
            attempt = pd.to_datetime(todo[missing], format=fmt, errors="coerce", utc=True)
            found[missing] = attempt.dt.as_unit("us")
        result = parsed.to_numpy(copy=True)
        result[failed] = found.to_numpy()[codes]
        parsed = pd.Series(result, index=values.index, dtype="datetime64[us, UTC]")
    return parsed


def _type_frame(raw: pd.DataFrame, dataset: str | None) -> pd.DataFrame:
    """One source frame typed as described in the module docstring; the input is not modified."""
    out: dict[str, Any] = {}
    n = len(raw)
    raw = raw.reset_index(drop=True)
    for column in raw.columns:
        values = raw[column]
        if column == "created_at":
            out[column] = parse_created_at(values)
        elif column in COUNT_COLUMNS:
            out[column] = _counts(values)
        elif column in FLAG_COLUMNS:
            out[column] = _flags(values)
        elif column == "priority":
            out[column] = _priorities(values)
        elif column == "sentiment":
            out[column] = _categorical(values, SENTIMENTS, fold=True)
        elif column == "main_topic":
            out[column] = _categorical(values)
        elif column in REFERENCE_ID_COLUMNS:
            out[column] = values.array if isinstance(values.dtype, pd.CategoricalDtype) else _fast_category(
                _ids(values))
        elif column == "id":
            out[column] = _ids(values)
        elif column in CATEGORY_COLUMNS:
            out[column] = _fast_category(values)
        elif column == "corrected":
            out[column] = _flags(values)
        else:
            out[column] = values
    # Columns every analysis needs, with neutral defaults when an older or partial file lacks them.
    if "id" not in out:
        out["id"] = pd.Series([""] * n, dtype="str")
    if "created_at" not in out:
        out["created_at"] = pd.Series(pd.NaT, index=raw.index, dtype="datetime64[us, UTC]")
    out.setdefault("full_text", pd.Series([""] * n, dtype="str"))
    for column in ("screen_name", "in_reply_to"):
        out.setdefault(column, pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[""]))
    if "engagement" not in out:
        total = np.zeros(n, dtype=np.int64)
        for column in ENGAGEMENT_COLUMNS:
            if column in out:
                total += out[column]
        out["engagement"] = total
    for column in ("is_retweet", "is_operator", "is_engagement_outlier"):
        out.setdefault(column, np.zeros(n, dtype=bool))
    out.setdefault("priority", np.zeros(n, dtype=np.int8))
    out.setdefault("sentiment", pd.Categorical.from_codes(np.full(n, -1), categories=list(SENTIMENTS)))
    out.setdefault("main_topic", pd.Categorical.from_codes(np.full(n, -1), categories=[]))
    if dataset is not None or "dataset" not in out:
        out.pop("dataset", None)
        out["dataset"] = pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[dataset or "dataset"])
    return pd.DataFrame(out, index=pd.RangeIndex(n), copy=False)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    """Concatenate typed frames; categorical columns stay categorical (union of the categories, in order of
    appearance; topics sorted). A column missing from some parts is NaN there."""
    if len(parts) == 1:
        return parts[0]
    columns = list(dict.fromkeys(c for p in parts for c in p.columns))
    data: dict[str, Any] = {}
    for column in columns:
        pieces = [p[column] if column in p.columns else pd.Series(np.nan, index=p.index) for p in parts]
        if all(isinstance(x.dtype, pd.CategoricalDtype) for x in pieces):
            data[column] = union_categoricals([x.array for x in pieces], sort_categories=column == "main_topic")
        else:
            data[column] = pd.concat(pieces, ignore_index=True)
    return pd.DataFrame(data, index=pd.RangeIndex(sum(len(p) for p in parts)), copy=False)


def _name_of(source: Source, index: int) -> str:
    if isinstance(source, pd.DataFrame):
        return f"dataset_{index + 1}"
    if isinstance(source, str | PathLike):
        return Path(source).stem
    name = getattr(source, "name", None)
    if isinstance(name, str) and name:
        return Path(name).stem
    return f"dataset_{index + 1}"


def load_analysed(
    paths_or_frames: Source | Sequence[Source],
    *,
    dataset_names: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Read analysed CSV(s) or frames into ONE typed frame (see the module docstring for the types).

    ``dataset`` (categorical) tells the rows apart: ``dataset_names[i]`` when given, else the file's stem,
    else ``dataset_<i+1>`` for frames (a frame's own ``dataset`` column is kept if no name is given). Files are
    read with ``dtype=str, keep_default_na=False`` and the C engine, so ids are never turned into floats.
    ``columns`` limits what is read from files (the id, date, flag, count and label columns are always read),
    which roughly halves the memory when the long texts and urls are not needed.
    """
    if isinstance(paths_or_frames, str | PathLike | pd.DataFrame) or hasattr(paths_or_frames, "read"):
        sources: list[Source] = [paths_or_frames]  # type: ignore[list-item]
    else:
        sources = list(paths_or_frames)  # type: ignore[arg-type]
    if dataset_names is not None and len(dataset_names) != len(sources):
        raise ValueError(f"dataset_names has {len(dataset_names)} name(s) for {len(sources)} source(s)")
    usecols: Callable[[str], bool] | None = None
    if columns is not None:
        wanted = {*columns, "id", "created_at", "screen_name", "in_reply_to", "sentiment", "priority",
                  "main_topic", "is_retweet", "is_operator", "is_engagement_outlier", "engagement", "dataset"}
        usecols = wanted.__contains__
    parts = []
    for i, source in enumerate(sources):
        if isinstance(source, pd.DataFrame):
            raw = source if columns is None else source[[c for c in source.columns if usecols(c)]]  # type: ignore[misc]
            name = dataset_names[i] if dataset_names is not None else None
            if name is None and "dataset" not in raw.columns:
                name = _name_of(source, i)
            parts.append(_type_frame(raw, name))
        else:
            name = dataset_names[i] if dataset_names is not None else _name_of(source, i)
            # Typed chunk by chunk: only one chunk of raw strings is alive at a time (peak RSS -20% on 1M rows).
            with pd.read_csv(source, dtype=str, keep_default_na=False, engine="c", usecols=usecols,
                             chunksize=LOAD_CHUNK_ROWS) as reader:
                parts.extend(_type_frame(chunk, name) for chunk in reader)
    if not parts:
        return _type_frame(pd.DataFrame({"id": pd.Series([], dtype="str")}), None)
    return _concat(parts)


# --------------------------------------------------------------------------------------------------- filters


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


# ------------------------------------------------------------------------------------------------------ KPIs


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


# ------------------------------------------------------------------------------------------------ chart data


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


#: What makes two tweets "the same text" for a top list: links and @handles aside, case and spacing aside
#: (the operator's identical replies to ten customers are one entry, not ten).
_LINK_OR_HANDLE = re.compile(r"https?://\S+|@\w+", re.IGNORECASE)


def text_key(text: object) -> str:
    """The text two tweets share when only their links, @handles, case or spacing differ."""
    return " ".join(_LINK_OR_HANDLE.sub(" ", str(text)).casefold().split())


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


# ----------------------------------------------------------------------------------------------- corrections


def apply_corrections(df: pd.DataFrame, corrections: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``df`` with analysts' label corrections applied and a boolean ``corrected`` column.

    ``corrections`` has columns ``id``, ``field`` (sentiment, priority or main_topic) and ``new_value``; for the
    same (id, field) the last row wins. Ids absent from ``df`` are ignored; every row of an id is corrected
    (the same tweet may be in two datasets). A new topic name is added to the categories. Raises ValueError
    on an unknown field or an invalid sentiment/priority, before changing anything. ``corrected`` is True for
    rows touched by at least one correction (or already True in ``df``).
    """
    missing = {"id", "field", "new_value"} - set(corrections.columns)
    if missing:
        raise ValueError(f"corrections lack column(s): {', '.join(sorted(missing))}")
    table = pd.DataFrame(
        {
            "id": _ids(corrections["id"]).to_numpy(),
            "field": corrections["field"].astype("str").str.strip().to_numpy(),
            "new_value": corrections["new_value"].astype(object).to_numpy(),
        }
    )
    unknown = sorted(set(table["field"]) - set(CORRECTABLE_FIELDS))
    if unknown:
        raise ValueError(f"cannot correct field(s) {unknown}; allowed: {', '.join(CORRECTABLE_FIELDS)}")
    values: dict[str, pd.Series] = {}
    for field in CORRECTABLE_FIELDS:
        rows = table[table["field"] == field].drop_duplicates("id", keep="last")
        if rows.empty:
            continue
        raw = pd.Series(rows["new_value"].to_numpy(), index=rows["id"].to_numpy())
        if field == "sentiment":
            parsed = raw.astype("str").str.strip().str.casefold()
            bad = parsed[~parsed.isin(SENTIMENTS)]
        elif field == "priority":
            parsed = pd.to_numeric(raw.astype("str").str.strip(), errors="coerce")
            bad = raw[~parsed.isin(PRIORITIES)]
            parsed = parsed.fillna(0).astype(np.int8)
        else:
            parsed = raw.astype("str").str.strip()
            bad = raw[(parsed == "") | parsed.isna()]
        if len(bad):
            raise ValueError(f"invalid {field} correction(s): {dict(bad.head(5).astype('str'))}")
        values[field] = parsed
    out = df.copy(deep=False)
    corrected = _bool_column(df, "corrected")
    ids = out["id"].astype("str")
    for field, parsed in values.items():
        rows = np.flatnonzero(ids.isin(set(parsed.index)).to_numpy(dtype=bool))
        if not len(rows):
            continue
        new = parsed.reindex(ids.take(rows).to_numpy()).to_numpy()
        column = out[field]
        if isinstance(column.dtype, pd.CategoricalDtype):
            extra = [v for v in pd.unique(new) if v not in column.cat.categories]
            if extra:
                column = column.cat.add_categories(extra)
            codes = column.cat.codes.to_numpy(copy=True)
            codes[rows] = column.cat.categories.get_indexer(new)
            out[field] = pd.Categorical.from_codes(codes, dtype=column.dtype)
        else:
            updated = column.to_numpy(copy=True)
            updated[rows] = new
            out[field] = updated
        corrected[rows] = True
    out["corrected"] = corrected
    return out


# ---------------------------------------------------------------------------------------------------- export


def _texts(values: pd.Series) -> pd.Series:
    return values.astype("str").fillna("") if values.dtype != "str" else values.fillna("")


def _neutralise(values: pd.Series) -> pd.Series:
    """Prefix an apostrophe to the strings a spreadsheet would run as a formula (``spreadsheet.is_formula``:
    ``=…``, ``+cmd|…``, ``@SUM(…)``; not the ``@mention`` most tweets start with, nor ``-12``)."""
    texts = _texts(values)
    codes, uniques = pd.factorize(texts)
    risky_values = np.fromiter(map(is_formula, uniques), dtype=bool, count=len(uniques))
    if not risky_values.any():
        return texts
    risky = risky_values[codes]
    result = texts.to_numpy(dtype=object, copy=True)
    result[risky] = "'" + texts[risky].to_numpy(dtype=object)
    return pd.Series(result, index=values.index, dtype="str", name=values.name)


def _local_datetimes(values: pd.Series, tz: str | tzinfo) -> pd.Series:
    """Naive wall-clock times in ``tz`` (what the app shows): a workbook's date cells have no time zone."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return values.dt.tz_convert(tz).dt.tz_localize(None)
    return values.dt.tz_localize("UTC").dt.tz_convert(tz).dt.tz_localize(None)


def _dates_with_offset(values: pd.Series, tz: str | tzinfo) -> pd.Series:
    """``YYYY-MM-DD HH:MM:SS+02:00``: the time the app shows in ``tz``, with its offset, so nothing is lost and
    :func:`load_analysed` reads it back to the same instant (blank for missing)."""
    local = _local_datetimes(values, tz)
    utc = values.dt.tz_convert("UTC").dt.tz_localize(None) if isinstance(values.dtype, pd.DatetimeTZDtype) \
        else values
    wall = local.to_numpy().astype("datetime64[s]")
    text = np.char.replace(np.datetime_as_string(wall, unit="s").astype(str), "T", " ")
    minutes = ((wall - utc.to_numpy().astype("datetime64[s]")).astype("timedelta64[m]").astype(np.int64))
    offsets, codes = np.unique(np.where(values.notna().to_numpy(), minutes, 0), return_inverse=True)
    suffix = np.array([f"{'+' if m >= 0 else '-'}{abs(m) // 60:02d}:{abs(m) % 60:02d}" for m in offsets],
                      dtype=object)[codes]
    exported = pd.Series(text.astype(object) + suffix, index=values.index, dtype="str")
    return exported.where(values.notna().to_numpy(), "")


def export_frame(df: pd.DataFrame, *, tz: str | tzinfo = "UTC", neutralise: bool = True,
                 workbook: bool = False) -> pd.DataFrame:
    """A copy of ``df`` for people's spreadsheets; the data itself is kept.

    - text cells (and headers) a spreadsheet would run as a formula get a leading apostrophe in a CSV
      (``neutralise``; ``spreadsheet.is_formula`` says which, the rest is left as it is); a workbook
      (``workbook=True``) stores text as text cells, which never run, so nothing is prefixed there;
    - dates are in ``tz`` (the app's time zone, as the pages show them): ``YYYY-MM-DD HH:MM:SS+02:00`` in a
      CSV (loads back with :func:`load_analysed`), naive wall-clock datetimes for a workbook's date cells;
    - numbers and booleans stay typed, ids exact strings; Timedeltas as text; categoricals as their text.
    """
    out: dict[str, pd.Series] = {}
    guard = _neutralise if neutralise and not workbook else _texts
    for column in df.columns:
        values = df[column]
        if isinstance(values.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(values.dtype):
            out[column] = _local_datetimes(values, tz) if workbook else _dates_with_offset(values, tz)
        elif pd.api.types.is_timedelta64_dtype(values.dtype):
            out[column] = values.astype("str").where(values.notna(), "")
        elif isinstance(values.dtype, pd.CategoricalDtype):
            categories = guard(pd.Series(values.cat.categories.astype("str"), dtype="str"))
            codes = values.cat.codes.to_numpy()
            text = np.append(categories.to_numpy(dtype=object), "")[codes]
            out[column] = pd.Series(text, index=values.index, dtype="str")
        elif column in ID_COLUMNS:
            out[column] = guard(_ids(values))
        elif pd.api.types.is_numeric_dtype(values.dtype) or pd.api.types.is_bool_dtype(values.dtype):
            out[column] = values
        else:
            out[column] = guard(values)
    header = guard(pd.Series([str(c) for c in df.columns], dtype="str")).tolist()
    frame = pd.DataFrame(out, index=df.index, copy=False)
    frame.columns = header
    return frame


def to_csv_bytes(df: pd.DataFrame, *, tz: str | tzinfo = "UTC") -> bytes:
    """UTF-8 CSV (with a BOM so Excel shows accents; pandas skips it on read) of :func:`export_frame`."""
    return export_frame(df, tz=tz).to_csv(index=False, lineterminator="\n").encode("utf-8-sig")


def to_xlsx_bytes(df: pd.DataFrame, *, sheet_name: str = "tweets", tz: str | tzinfo = "UTC") -> bytes:
    """An .xlsx workbook of :func:`export_frame`: text cells (ids too, so Excel keeps all 19 digits), date cells
    in ``tz``, number cells; nothing prefixed.

    Written with openpyxl's write-only mode (about twice as fast as ``DataFrame.to_excel``, ~4k rows/s with
    the 31 columns). Control characters XML cannot hold are removed; raises ValueError beyond Excel's
    1,048,575 data rows (export CSV instead).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if len(df) >= XLSX_MAX_ROWS:
        raise ValueError(f"{len(df)} rows do not fit in one Excel sheet (max {XLSX_MAX_ROWS - 1}); export CSV")
    # No apostrophe in a workbook: a text cell is text, it cannot run. openpyxl would store a string starting with
    # "=" as a formula, so those few cells are written as explicit text cells.
    frame = export_frame(df, tz=tz, workbook=True)
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(sheet_name)

    def as_text(value: str) -> Any:
        if not value.startswith("="):
            return value
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell

    def as_date(value: datetime) -> WriteOnlyCell:
        cell = WriteOnlyCell(sheet, value=value)
        cell.number_format = XLSX_DATE_FORMAT  # the pages' format (openpyxl's default drops the hour's zero)
        return cell

    columns: list[list[Any]] = []
    for column in frame.columns:
        values = frame[column]
        if values.dtype == "str":
            if values.str.contains(ILLEGAL_CHARACTERS_RE, regex=True, na=False).any():
                values = values.str.replace(ILLEGAL_CHARACTERS_RE, "", regex=True)
            texts = values.fillna("")
            risky = texts.str.startswith("=").to_numpy(dtype=bool, na_value=False)
            column_values = texts.tolist()
            for index in np.flatnonzero(risky):
                column_values[index] = as_text(column_values[index])
            columns.append(column_values)
        elif pd.api.types.is_float_dtype(values.dtype):
            columns.append([None if v != v else v for v in values.tolist()])  # NaN → empty cell
        elif pd.api.types.is_datetime64_dtype(values.dtype):
            stamps = values.dt.as_unit("us").astype(object).tolist()  # datetime.datetime; NaT → empty cell
            columns.append([None if v is pd.NaT or v != v else as_date(v) for v in stamps])
        else:
            columns.append(values.tolist())  # int/bool → Python numbers, written as numbers
    sheet.append([as_text(ILLEGAL_CHARACTERS_RE.sub("", str(c))) for c in frame.columns])
    for row in zip(*columns, strict=True):
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


__all__ = [
    "CORRECTABLE_FIELDS", "CREATED_AT_FORMAT", "Filters", "apply_corrections", "apply_filters",
    "critical_topics", "daily_volume_and_sentiment", "engagement_by_sentiment", "engagement_median",
    "engagement_outlier_count", "engagement_rate", "export_frame", "first_reply_delays", "fold_text",
    "high_priority_count", "hour_of_day_activity", "kpis", "load_analysed",
    "median_first_reply_time", "negative_share", "net_sentiment", "parse_created_at", "priority_counts",
    "search_mask", "search_pattern", "sentiment_counts", "to_csv_bytes", "to_xlsx_bytes", "top_authors",
    "top_critical_tweets", "topic_counts", "topic_sentiment_matrix", "volume",
]
