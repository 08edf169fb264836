"""Cleaning step: make a raw tweet export safe to label without destroying what the KPIs need (DESIGN.md §6).

Only three kinds of rows are removed, each counted: exact duplicate rows, repeated ids (first kept) and
texts that are empty once normalised. Retweets, the operator's own tweets and engagement outliers are
*flagged*, never dropped: the dashboards need the operator's replies for time-to-first-reply and the viral
tweets for priority.

Pure functions on a frame read with ``dtype=str, keep_default_na=False``: no I/O, no database. Everything is
vectorised and the expensive string work only touches the texts that need it, so 1M rows stay cheap.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from dallosh.errors import ValidationError

#: Columns this step adds (replaced if the input already has them, e.g. when a cleaned file is cleaned again).
FLAG_COLUMNS: tuple[str, ...] = ("is_retweet", "is_operator", "is_engagement_outlier", "engagement")
#: Counts summed into ``engagement``; bookmarks and views are left out (not public interactions).
ENGAGEMENT_COLUMNS: tuple[str, ...] = ("favorite_count", "retweet_count", "reply_count", "quote_count")
#: Outlier fence ``Q3 + k·IQR``; k=3 ("extreme" outliers) because engagement is heavy-tailed by nature.
OUTLIER_IQR_FACTOR = 3.0
#: Below this many rows quartiles mean nothing, so no row is flagged as an outlier.
MIN_ROWS_FOR_OUTLIERS = 20
#: Upper bound for one count: absurd values (overflowing int64) are treated as this.
_MAX_COUNT = 10**12
#: Values of ``retweeted_status`` that some exporters write for "not a retweet".
_NOT_A_RETWEET = ("", "none", "null", "nan", "false", "0", "[]", "{}")

#: Runs of two or more horizontal blanks (spaces, tabs, no-break spaces): collapsed to one space. A single
#: no-break space is kept: French typography puts one before ? ! : ;
_BLANK_RUN = re.compile(r"[^\S\n]{2,}")
#: Blanks touching a newline carry no meaning; more than one empty line is layout noise.
_BLANKS_AROUND_NEWLINE = re.compile(r"[^\S\n]*\n[^\S\n]*")
_MANY_NEWLINES = re.compile(r"\n{3,}")
# ``normalise_text`` runs the three regexes above only on texts containing "\n", two spaces, "\t", "\xa0" or
# "\u202f" (a regex search on every text costs ~10x more than these ``in`` tests). Rarer blanks (e.g.
# ideographic space) are only collapsed when the text also contains one of these.


@dataclass
class CleaningResult:
    """The cleaned frame and a JSON-serialisable report of what was removed, flagged and rewritten."""

    frame: pd.DataFrame
    report: dict[str, Any] = field(default_factory=dict)


def normalise_text(text: str) -> str:
    """One text: decode literal escapes and HTML entities, tidy whitespace; accents, apostrophes, emoji stay.

    Each pass runs only when the text contains its trigger character, so a clean text costs a few ``in`` tests.
    """
    if "\\" in text:
        for escaped, real in (("\\r\\n", "\n"), ("\\n", "\n"), ("\\r", "\n"), ("\\t", "\t")):
            text = text.replace(escaped, real)
    if "&" in text:
        text = html.unescape(text)
    if "\r" in text:  # Windows line ends, real or from &#13;
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "\n" in text or "  " in text or "\t" in text or "\xa0" in text or "\u202f" in text:
        text = _BLANK_RUN.sub(" ", text)
        text = _BLANKS_AROUND_NEWLINE.sub("\n", text)
        text = _MANY_NEWLINES.sub("\n\n", text)
    return text.strip()


def normalise_texts(texts: pd.Series) -> pd.Series:
    """``normalise_text`` on every text (missing → empty).

    Scrapers write newlines as the two characters ``\\n`` and Twitter escapes ``& < >`` as entities; both
    would otherwise reach the LLM and the dashboards verbatim. A plain loop over the values is several times
    faster here than pandas' string methods, each of which would scan every text again.
    """
    if texts.hasnans or texts.dtype != "str":
        texts = texts.fillna("").astype("str")
    values = texts.to_numpy(dtype=object)
    return pd.Series([normalise_text(t) for t in values], index=texts.index, dtype="str")


def _per_distinct(values: pd.Series, fn: Callable[[pd.Series], np.ndarray], missing: Any) -> np.ndarray:
    """``fn`` applied once per distinct value, spread back to every row (``missing`` for NaN).

    Counts, screen names and retweet markers repeat a lot, so this is several times faster than a string
    operation over every row.
    """
    codes, uniques = pd.factorize(values)
    per_value = np.asarray(fn(pd.Series(np.asarray(uniques, dtype=object), dtype="str")))
    return np.append(per_value, np.array([missing], dtype=per_value.dtype))[codes]


def _parse_counts(values: pd.Series) -> np.ndarray:
    numbers = pd.to_numeric(values.str.strip(), errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    numbers = np.nan_to_num(numbers, nan=0.0, posinf=_MAX_COUNT, neginf=0.0)
    return np.clip(numbers, 0, _MAX_COUNT).astype(np.int64)


def _counts(df: pd.DataFrame, column: str) -> np.ndarray:
    """One engagement count as int64: missing column, blank or non-numeric → 0, negatives → 0."""
    if column not in df.columns:
        return np.zeros(len(df), dtype=np.int64)
    return _per_distinct(df[column].astype("str"), _parse_counts, 0)


def engagement_outliers(engagement: np.ndarray, min_rows: int = MIN_ROWS_FOR_OUTLIERS) -> np.ndarray:
    """Rows above ``Q3 + 3·IQR`` of total engagement (viral tweets); all False when there are too few rows.

    ``clean_tweets`` applies it to the customers' tweets only (not the operator's own accounts)."""
    if len(engagement) < max(min_rows, 1):
        return np.zeros(len(engagement), dtype=bool)
    q1, q3 = np.percentile(engagement, [25, 75])
    return engagement > q3 + OUTLIER_IQR_FACTOR * (q3 - q1)


def _operator_mask(screen_names: pd.Series, operator_accounts: Sequence[str]) -> np.ndarray:
    accounts = {a.strip().lstrip("@").casefold() for a in operator_accounts if a and a.strip().lstrip("@")}
    if not accounts:
        return np.zeros(len(screen_names), dtype=bool)

    def is_operator(names: pd.Series) -> np.ndarray:
        return names.str.strip().str.lstrip("@").str.casefold().isin(accounts).to_numpy(dtype=bool)

    return _per_distinct(screen_names.astype("str"), is_operator, False)


def _retweet_mask(df: pd.DataFrame, texts: pd.Series) -> np.ndarray:
    mask = np.array([t.startswith("RT @") for t in texts.to_numpy(dtype=object)], dtype=bool)
    if "retweeted_status" in df.columns:

        def is_retweet_id(status: pd.Series) -> np.ndarray:
            return ~status.str.strip().str.lower().isin(_NOT_A_RETWEET).to_numpy(dtype=bool)

        mask = mask | _per_distinct(df["retweeted_status"].astype("str"), is_retweet_id, False)
    return mask


def author_roles(df: pd.DataFrame, operator_accounts: Sequence[str]) -> np.ndarray:
    """Each row's ``Row.author``: "operator" (one of ``operator_accounts``), "retweet" or "customer".

    Uses the ``is_operator``/``is_retweet`` flags when the frame has them (a cleaned or analysed file), else
    derives them as ``clean_tweets`` does (screen name, ``retweeted_status``, "RT @" prefix).
    """
    empty = pd.Series([""] * len(df), index=df.index, dtype="str")

    def flag(column: str, derive: Callable[[], np.ndarray]) -> np.ndarray:
        if column in df.columns:
            return df[column].astype("str").str.strip().str.lower().isin(("true", "1")).to_numpy(dtype=bool)
        return derive()

    texts = df["full_text"].fillna("").astype("str") if "full_text" in df.columns else empty
    names = df["screen_name"].fillna("").astype("str") if "screen_name" in df.columns else empty
    operator = flag("is_operator", lambda: _operator_mask(names, operator_accounts))
    retweet = flag("is_retweet", lambda: _retweet_mask(df, texts))
    return np.where(operator, "operator", np.where(retweet, "retweet", "customer"))


def _duplicate_rows(df: pd.DataFrame) -> np.ndarray:
    """Exact duplicate rows, first kept.

    Two equal rows have equal ids, so only rows whose id repeats are compared column by column: exact, and
    far cheaper than ``DataFrame.duplicated`` (or row hashing) over every column of the whole frame.
    """
    candidates = df["id"].duplicated(keep=False).to_numpy()
    result = np.zeros(len(df), dtype=bool)
    if candidates.any():
        result[candidates] = df[candidates].duplicated(keep="first").to_numpy()
    return result


def clean_tweets(
    df: pd.DataFrame,
    operator_accounts: Sequence[str],
    *,
    min_rows_for_outliers: int = MIN_ROWS_FOR_OUTLIERS,
) -> CleaningResult:
    """Drop duplicate rows, duplicate ids and empty texts, normalise texts, add flags; ``df`` is not modified.

    Order of removals (each counted once): exact duplicate rows, then rows whose id was already seen (blank
    ids are not duplicates of each other), then rows whose text is empty after normalisation. Original columns
    and values are kept (ids untouched, as strings) except ``full_text``, which is normalised; row order is
    preserved and the index is reset. Only ``id`` and ``full_text`` are required.
    """
    missing = [c for c in ("id", "full_text") if c not in df.columns]
    if missing:
        raise ValidationError("columns", f"missing required column(s): {', '.join(missing)}")

    rows_in = len(df)
    source = df.drop(columns=[c for c in FLAG_COLUMNS if c in df.columns])

    dup_rows = _duplicate_rows(source)
    ids = source["id"]
    dup_ids = ids.duplicated(keep="first").to_numpy() & ~dup_rows
    dup_ids = dup_ids & (ids.fillna("").astype("str") != "").to_numpy()
    kept = ~(dup_rows | dup_ids)

    original = source["full_text"][kept]
    texts = normalise_texts(original)
    non_empty = (texts != "").to_numpy()
    texts = texts[non_empty]
    changed = int((texts != original[non_empty].fillna("")).sum())

    positions = np.flatnonzero(kept)[non_empty]
    frame = source.take(positions).reset_index(drop=True)
    texts = texts.reset_index(drop=True)
    frame["full_text"] = texts

    engagement = np.zeros(len(frame), dtype=np.int64)
    for column in ENGAGEMENT_COLUMNS:
        engagement += _counts(frame, column)
    is_retweet = _retweet_mask(frame, texts)
    is_operator = (
        _operator_mask(frame["screen_name"], operator_accounts)
        if "screen_name" in frame.columns
        else np.zeros(len(frame), dtype=bool)
    )
    # Viral *customer* tweets: the operator's replies (often widely seen) are neither counted in the fence nor
    # flagged, or they would pass as outliers and hide the customers' own.
    customers = ~is_operator
    is_outlier = np.zeros(len(frame), dtype=bool)
    is_outlier[customers] = engagement_outliers(engagement[customers], min_rows_for_outliers)
    frame["is_retweet"] = is_retweet
    frame["is_operator"] = is_operator
    frame["is_engagement_outlier"] = is_outlier
    frame["engagement"] = engagement

    report = {
        "rows_in": rows_in,
        "rows_out": len(frame),
        "removed": {
            "duplicate_rows": int(dup_rows.sum()),
            "duplicate_ids": int(dup_ids.sum()),
            "empty_text": int((~non_empty).sum()),
        },
        "flagged": {
            "retweets": int(is_retweet.sum()),
            "operator_accounts": int(is_operator.sum()),
            "engagement_outliers": int(is_outlier.sum()),
        },
        "texts_normalised": changed,
    }
    return CleaningResult(frame=frame, report=report)
