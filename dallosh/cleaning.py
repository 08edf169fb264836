"""Cleaning step: make a raw tweet export safe to label without destroying what the KPIs need (DESIGN.md §6).

Only three kinds of rows are removed, each counted: exact duplicate rows, repeated ids (first kept) and
texts that are empty once normalised. Retweets, the operator's own tweets, engagement outliers, rows without an
id and counts that are not numbers are *flagged*, never dropped: the dashboards need the operator's replies for
time-to-first-reply and the viral tweets for priority. No value of the file is overwritten: columns named like
those the pipeline adds are kept renamed ``<name>_input``.

The upload preview (``dallosh.datasets``) calls ``planned_report`` on the same frame, which runs these same
functions, so it announces exactly the counts this step will report.

Pure functions on a frame read with ``dtype=str, keep_default_na=False``: no I/O, no database. Everything is
vectorised and the expensive string work only touches the texts that need it, so 1M rows stay cheap.
"""

from __future__ import annotations

import html
import itertools
import operator
import re
import string
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

import dallosh.tables  # noqa: F401 (text columns as Python strings, before any frame is built)
from dallosh.defaults import COUNT_MAX, LABEL_COLUMNS
from dallosh.errors import ValidationError

#: Columns this step adds. An input column of the same name (or of a label column) is kept as ``<name>_input``.
FLAG_COLUMNS: tuple[str, ...] = ("is_retweet", "is_operator", "is_engagement_outlier", "engagement", "invalid_counts")
#: Every column the pipeline adds after the file's own.
ADDED_COLUMNS: tuple[str, ...] = (*FLAG_COLUMNS, *LABEL_COLUMNS)
#: Engagement counts of the export format: read as numbers (``12k``, ``1 234``), flagged when they are not.
COUNT_COLUMNS: tuple[str, ...] = (
    "favorite_count", "retweet_count", "bookmark_count", "quote_count", "reply_count", "views_count")
#: Counts summed into ``engagement``; bookmarks and views are left out (not public interactions).
ENGAGEMENT_COLUMNS: tuple[str, ...] = ("favorite_count", "retweet_count", "reply_count", "quote_count")
#: Outlier fence ``Q3 + k·IQR``; k=3 ("extreme" outliers) because engagement is heavy-tailed by nature.
OUTLIER_IQR_FACTOR = 3.0
#: Below this many rows quartiles mean nothing, so no row is flagged as an outlier.
MIN_ROWS_FOR_OUTLIERS = 20
#: Ids given to rows without one: ``blank-1``, ``blank-2``… (a longer prefix if a real id starts like that), so a
#: generated id never equals a real one and every row can be labelled and corrected on its own.
BLANK_ID_PREFIX = "blank-"
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
    # Not once per distinct text: hashing every text to find the repeats costs more than the repeats (measured).
    return pd.Series([normalise_text(t) for t in values], index=texts.index, dtype="str")


def _per_distinct(values: pd.Series, fn: Callable[[pd.Series], np.ndarray], missing: Any) -> np.ndarray:
    """``fn`` applied once per distinct value, spread back to every row (``missing`` for NaN).

    Counts, screen names and retweet markers repeat a lot, so this is several times faster than a string
    operation over every row.
    """
    codes, uniques = pd.factorize(values)
    per_value = np.asarray(fn(pd.Series(np.asarray(uniques, dtype=object), dtype="str")))
    return np.append(per_value, np.array([missing], dtype=per_value.dtype))[codes]


#: Counts as people and scrapers write them. Thousands grouped by a space (also no-break and thin spaces), an
#: apostrophe, a comma or a dot (a count has no decimals, so ``1,234`` and ``1.234`` are 1234); ``12.0``;
#: abbreviated with k / M / B (``12k``, ``1,2K``, ``1.5M``; French ``Md``/``Mrd`` for milliard).
_GROUPED = re.compile(r"\d{1,3}(?:([ \u00a0\u202f\u2009',.])\d{3})(?:\1\d{3})*")
_ZERO_DECIMALS = re.compile(r"(\d+)[.,]0+")
_ABBREVIATED = re.compile(r"(\d+(?:[.,]\d+)?)\s*(k|m|md|mds|mrd|b|bn|g)", re.IGNORECASE)
_MULTIPLIERS = {"k": 10**3, "m": 10**6, "md": 10**9, "mds": 10**9, "mrd": 10**9, "b": 10**9, "bn": 10**9, "g": 10**9}
#: How each distinct count value was read.
_PLAIN, _READ, _BLANK, _INVALID = 0, 1, 2, 3


def parse_count(text: str) -> int | None:
    """One count as written (``1234``, ``1 234``, ``1,234``, ``12k``, ``1,2K``, ``12.0``); None when it is not a
    count (``N/A``, ``∞``, ``-4``, ``1.5``) or not believable (above ``COUNT_MAX``)."""
    text = text.strip()
    value: int | None = None
    if text.isascii() and text.isdigit():
        value = int(text)
    elif _GROUPED.fullmatch(text):
        value = int(re.sub(r"\D", "", text))
    elif match := _ZERO_DECIMALS.fullmatch(text):
        value = int(match.group(1))
    elif match := _ABBREVIATED.fullmatch(text):
        number = Decimal(match.group(1).replace(",", "."))
        value = int((number * _MULTIPLIERS[match.group(2).lower()]).to_integral_value())
    return value if value is not None and value <= COUNT_MAX else None


@dataclass
class CountColumn:
    """One count column read: numbers per row and how each value was read."""

    numbers: np.ndarray  # int64; blank or invalid → 0
    status: np.ndarray  # per row: _PLAIN, _READ (rewritten as digits), _BLANK or _INVALID
    text: pd.Series  # the column as the cleaned file holds it: read forms as digits, invalid values emptied


def read_counts(values: pd.Series) -> CountColumn:
    """Parse a count column once per distinct value (counts repeat a lot)."""
    codes, uniques = pd.factorize(values)
    distinct = np.asarray(uniques, dtype=object)
    numbers = np.zeros(len(distinct) + 1, dtype=np.int64)  # the extra slot is for missing values (code -1)
    status = np.full(len(distinct) + 1, _BLANK, dtype=np.int8)
    text = np.append(distinct, "")
    for k, raw in enumerate(distinct):
        raw = str(raw)
        if raw.isascii() and raw.isdigit():
            value = int(raw)
            if value <= COUNT_MAX:
                numbers[k], status[k] = value, _PLAIN
                continue
        if not raw.strip():
            continue
        value = parse_count(raw)
        if value is None:
            status[k], text[k] = _INVALID, ""
        else:
            numbers[k] = value
            status[k] = _PLAIN if raw.strip().isdigit() and raw.strip().isascii() else _READ
            if status[k] == _READ:
                text[k] = str(value)
    row_status = status[codes]
    changed = (row_status == _READ) | (row_status == _INVALID)
    column = values if not changed.any() else pd.Series(text[codes], index=values.index, dtype="str")
    return CountColumn(numbers=numbers[codes], status=row_status, text=column)


def count_problems(df: pd.DataFrame, counts: dict[str, CountColumn]) -> np.ndarray:
    """Per row: "" or the counts that are not counts, as ``views_count=N/A; favorite_count=-4`` (the value
    emptied in its column is kept here)."""
    result = np.full(len(df), "", dtype=object)
    for column, read in counts.items():
        bad = np.flatnonzero(read.status == _INVALID)
        if len(bad):
            originals = df[column].to_numpy(dtype=object)
            for i in bad:
                entry = f"{column}={originals[i]}"
                result[i] = f"{result[i]}; {entry}" if result[i] else entry
    return result


def _read_all_counts(df: pd.DataFrame) -> dict[str, CountColumn]:
    return {c: read_counts(df[c].astype("str")) for c in COUNT_COLUMNS if c in df.columns}


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


def input_renames(columns: Sequence[str]) -> dict[str, str]:
    """Input columns named like a column the pipeline adds → ``<name>_input`` (``_input_2``… if taken)."""
    taken = set(columns)
    renames = {}
    for name in ADDED_COLUMNS:
        if name in taken:
            candidates = itertools.chain([f"{name}_input"], (f"{name}_input_{k}" for k in itertools.count(2)))
            new = next(c for c in candidates if c not in taken)
            renames[name] = new
            taken.add(new)
    return renames


def blank_ids(ids: pd.Series) -> np.ndarray:
    """Rows without an id (empty or spaces only)."""
    values = ids.to_numpy(dtype=object, na_value="")
    # ``map`` of a str method runs at C speed: a few ms for 100k ids.
    return (values == "") | np.fromiter(map(str.isspace, values), dtype=bool, count=len(values))


def blank_id_keys(ids: pd.Series, count: int) -> list[str]:
    """``count`` new ids ``blank-1``… under a prefix no real id starts with (``blank2-``… otherwise)."""
    real = ids.fillna("").astype("str")
    for n in itertools.count(1):
        prefix = BLANK_ID_PREFIX if n == 1 else f"{BLANK_ID_PREFIX[:-1]}{n}-"
        if not real.str.startswith(prefix).any():
            return [f"{prefix}{k}" for k in range(1, count + 1)]
    raise AssertionError("unreachable")


#: A text can normalise to nothing only if it consists of blanks, literal escapes (``\\n``) and HTML entities:
#: every whitespace character (the last is U+3000), ASCII letters and digits, and ``\\ & # ;``.
_MAYBE_EMPTY_CHARS = ("".join(chr(c) for c in range(0x3001) if chr(c).isspace()) + string.ascii_letters
                      + string.digits + "\\&#;")
def empty_texts(texts: pd.Series) -> np.ndarray:
    """Texts that ``normalise_text`` turns into "" (blank, literal ``\\n``, tabs, ``&nbsp;``…).

    Exact, and cheap: one C-speed pass keeps the few texts made only of blanks, escapes and entity characters
    (``str.strip`` with those characters leaves nothing of them), and only those are normalised.
    """
    values = texts.to_numpy(dtype=object, na_value="")
    maybe = np.fromiter(map(operator.not_, map(str.strip, values, itertools.repeat(_MAYBE_EMPTY_CHARS))),
                        dtype=bool, count=len(values))
    for i in np.flatnonzero(maybe):
        maybe[i] = not normalise_text(values[i])
    return maybe


@dataclass
class Removals:
    """Rows cleaning removes, each counted under one reason, in rule order."""

    duplicate_rows: np.ndarray
    duplicate_ids: np.ndarray
    empty_text: np.ndarray

    @property
    def kept(self) -> np.ndarray:
        return ~(self.duplicate_rows | self.duplicate_ids | self.empty_text)

    def counts(self) -> dict[str, int]:
        return {"duplicate_rows": int(self.duplicate_rows.sum()), "duplicate_ids": int(self.duplicate_ids.sum()),
                "empty_text": int(self.empty_text.sum())}


def removals(df: pd.DataFrame) -> Removals:
    """Exact duplicate rows, then repeated ids (blank ids are never repeats), then empty texts of what is left."""
    dup_rows = _duplicate_rows(df)
    dup_ids = df["id"].duplicated(keep="first").to_numpy() & ~dup_rows & ~blank_ids(df["id"])
    empty = np.zeros(len(df), dtype=bool)
    remaining = ~(dup_rows | dup_ids)
    empty[remaining] = empty_texts(df["full_text"][remaining])
    return Removals(dup_rows, dup_ids, empty)


def _require_columns(df: pd.DataFrame) -> None:
    missing = [c for c in ("id", "full_text") if c not in df.columns]
    if missing:
        raise ValidationError("columns", f"missing required column(s): {', '.join(missing)}")


def planned_report(df: pd.DataFrame) -> tuple[dict[str, Any], np.ndarray, Removals]:
    """What ``clean_tweets`` will report for ``df`` (removals, blank ids, counts) without the label-independent
    flags that need settings (retweets, operator accounts, outliers), the per-row count problems of the
    rows it keeps (for examples in the preview), and the removals (``clean_tweets`` of the same frame reuses
    them)."""
    _require_columns(df)
    renames = input_renames(list(df.columns))
    source = df.rename(columns=renames) if renames else df
    removed = removals(source)
    kept = removed.kept
    # Only the id and count columns of the kept rows are needed (copying every column would cost more).
    counted = source.loc[kept, [c for c in COUNT_COLUMNS if c in source.columns]]
    counts = _read_all_counts(counted)
    problems = count_problems(counted, counts)
    report = {
        "rows_in": len(df),
        "rows_out": int(kept.sum()),
        "removed": removed.counts(),
        "flagged": {"blank_ids": int(blank_ids(source["id"][kept]).sum()),
                    "invalid_counts": int((problems != "").sum())},
        "counts_read": {c: int((r.status == _READ).sum()) for c, r in counts.items()},
        "columns_renamed": renames,
    }
    return report, _problem_rows(np.flatnonzero(kept), problems), removed


def _problem_rows(positions: np.ndarray, problems: np.ndarray) -> np.ndarray:
    """Positions (in the input frame) and texts of the rows with count problems, as a (k, 2) object array."""
    bad = problems != ""
    return np.column_stack([positions[bad].astype(object), problems[bad]]) if bad.any() else np.empty((0, 2), object)


def clean_tweets(
    df: pd.DataFrame,
    operator_accounts: Sequence[str],
    *,
    min_rows_for_outliers: int = MIN_ROWS_FOR_OUTLIERS,
    removed: Removals | None = None,
) -> CleaningResult:
    """Drop duplicate rows, duplicate ids and empty texts, normalise texts, add flags; ``df`` is not modified.

    Order of removals (each counted once): exact duplicate rows, then rows whose id was already seen (blank
    ids are not duplicates of each other), then rows whose text is empty after normalisation. Original values
    are kept except ``full_text`` (normalised), blank ids (given ``blank-<k>``) and counts (``12k`` written as
    ``12000``; a value that is not a count is emptied and kept in ``invalid_counts``). Input columns named like
    an added column are kept as ``<name>_input``. Row order is preserved and the index is reset. Only ``id``
    and ``full_text`` are required. ``removed``: ``removals(df)`` when the caller already has it (the upload's
    ``planned_report`` of this very frame).
    """
    _require_columns(df)
    rows_in = len(df)
    renames = input_renames(list(df.columns))
    source = df.rename(columns=renames) if renames else df

    if removed is None or len(removed.kept) != rows_in:
        removed = removals(source)
    positions = np.flatnonzero(removed.kept)
    frame = source.take(positions).reset_index(drop=True)
    original = frame["full_text"]
    texts = normalise_texts(original)
    changed = int((texts != original.fillna("")).sum())
    frame["full_text"] = texts

    blank = blank_ids(frame["id"])
    if blank.any():
        frame["id"] = frame["id"].astype("str")
        frame.loc[blank, "id"] = blank_id_keys(frame["id"], int(blank.sum()))

    counts = _read_all_counts(frame)
    problems = count_problems(frame, counts)
    for column, read in counts.items():
        frame[column] = read.text
    engagement = np.zeros(len(frame), dtype=np.int64)
    for column in ENGAGEMENT_COLUMNS:
        if column in counts:
            engagement += counts[column].numbers
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
    frame["invalid_counts"] = pd.Series(problems, dtype="str")

    report = {
        "rows_in": rows_in,
        "rows_out": len(frame),
        "removed": removed.counts(),
        "flagged": {
            "retweets": int(is_retweet.sum()),
            "operator_accounts": int(is_operator.sum()),
            "engagement_outliers": int(is_outlier.sum()),
            "blank_ids": int(blank.sum()),
            "invalid_counts": int((problems != "").sum()),
        },
        "counts_read": {c: int((r.status == _READ).sum()) for c, r in counts.items()},
        "columns_renamed": renames,
        "texts_normalised": changed,
    }
    return CleaningResult(frame=frame, report=report)
