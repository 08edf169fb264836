"""Tweet ids as Excel leaves them: rounded to 15 digits (``1.84E+18``, ``1,84E+18``, ``1840000000000000000``) or
wrapped as ``="…"`` to keep them as text.

A rounded id is not an id any more: 200 tweets collapse into 2 ids and cleaning would drop 198 of them as
"duplicates". When a ``url`` column gives each of those tweets' link (``…/status/<id>``) and the link agrees with
the rounded value, the exact id is taken from it (the rounded value is kept as ``id_input``); otherwise the file is
refused with how to export ids as text.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import numpy as np
import pandas as pd

from dallosh.datasets.decoding import line_list
from dallosh.errors import InvalidDataset

#: Columns holding tweet or account ids.
ID_COLUMNS: tuple[str, ...] = ("id", "user_id", "in_reply_to", "retweeted_status", "quoted_status")
#: Where the rounded value of a recovered id is kept.
ID_INPUT_COLUMN = "id_input"
#: Excel keeps 15 significant digits of a number; tweet ids have 19.
EXCEL_DIGITS = 15
_SCIENTIFIC = r"\s*\d+(?:[.,]\d+)?[eE]\+?\d+\s*"
_ROUNDED = rf"\d{{{EXCEL_DIGITS}}}0+"
_STATUS = r"/status(?:es)?/(\d+)"
_HOW_TO_EXPORT = ("Upload the export as the tool produced it, without opening and saving it in Excel; or, in Excel, "
                  "import the CSV with Data › From Text/CSV and set the id columns to Text before saving.")


def _joined(values: pd.Series) -> tuple[np.ndarray, str]:
    """The values, and the values joined as lines: a substring test on the joined text runs at C speed over the
    whole column, so the per-value regexes only run on the columns that need them (~3 ms per 100k ids)."""
    every = values.to_numpy(dtype=object, na_value="")
    return every, "\n" + "\n".join(every)


def _long_numbers_all_rounded(values: np.ndarray) -> bool:
    """Whether some value is a 16+ digit number and every such value ends in zeros after its 15th digit (stops at
    the first real id, so a normal file costs one look)."""
    found = False
    for v in values:
        if len(v) > EXCEL_DIGITS and v.isdigit():
            if v[EXCEL_DIGITS:].strip("0"):
                return False
            found = True
    return found


def _rounded(values: pd.Series) -> np.ndarray:
    """Values Excel rounded: scientific notation, or 16+ digit numbers whose digits after the 15th are all 0 (when
    every long number of the column ends that way: real ids end in 0000 once in 10,000)."""
    mask = np.zeros(len(values), dtype=bool)
    every, text = _joined(values)
    if "e" in text or "E" in text:
        mask |= values.str.fullmatch(_SCIENTIFIC).to_numpy(dtype=bool, na_value=False)
    if _long_numbers_all_rounded(every):
        rounded = values.str.fullmatch(_ROUNDED).to_numpy(dtype=bool, na_value=False)
        if rounded.sum() >= 2:
            mask |= rounded
    return mask


def _agrees(shown: str, exact: str) -> bool:
    """Whether ``exact`` (from a link) rounds to the value Excel shows (``1.84E+18``, ``1,84E+18``, or 15 digits)."""
    shown = shown.strip().replace(",", ".").lower()
    try:
        value, exact_value = Decimal(shown), Decimal(exact)
    except InvalidOperation:
        return False
    if "e" in shown:
        mantissa, exponent = shown.split("e")
        decimals = len(mantissa.partition(".")[2])
        unit = Decimal(10) ** (int(exponent) - decimals)
    else:
        unit = Decimal(10) ** max(0, len(exact) - EXCEL_DIGITS)
    return abs(exact_value - value) <= unit / 2


def _unwrap_excel_text(frame: pd.DataFrame, notes: list[str]) -> bool:
    """``="1840…"`` is Excel's way of keeping a number as text: the value is what is inside."""
    changed = False
    for column in (c for c in ID_COLUMNS if c in frame.columns):
        values = frame[column]
        if '\n="' not in _joined(values)[1]:
            continue
        wrapped = values.str.fullmatch('="(.*)"').to_numpy(dtype=bool, na_value=False)
        if wrapped.any():
            example = values[wrapped].iloc[0]
            frame.loc[wrapped, column] = values[wrapped].str.slice(2, -1)
            notes.append(f"{int(wrapped.sum()):,} value(s) of {column} were written as Excel text formulas "
                         f"(like {example}); the value inside was kept ({example[2:-1]}).")
            changed = True
    return changed


def _recover_from_urls(frame: pd.DataFrame, mask: np.ndarray) -> pd.Series | None:
    """The exact ids from the tweets' links, when every rounded id has a link that agrees with it."""
    if "url" not in frame.columns:
        return None
    exact = frame["url"][mask].str.extract(_STATUS, expand=False)
    shown = frame["id"][mask]
    if exact.isna().any() or not all(_agrees(s, e) for s, e in zip(shown.tolist(), exact.tolist(), strict=True)):
        return None
    return exact


def _tweet_ids(frame: pd.DataFrame, first_row: int, notes: list[str]) -> bool:
    mask = _rounded(frame["id"])
    if not mask.any():
        return False
    rows = [int(i) + first_row for i in frame.index[mask]]
    example = frame["id"][mask].iloc[0].strip()
    exact = _recover_from_urls(frame, mask)
    if exact is None:
        has_links = "url" in frame.columns and bool((frame["url"][mask].str.strip() != "").any())
        raise InvalidDataset(
            f"Excel has rounded the tweet ids: {len(rows):,} id(s) look like {example} (row "
            f"{line_list(rows, len(rows))}). A tweet id has 19 digits and Excel keeps only 15, so different tweets "
            f"now share an id and cannot be told apart. {_HOW_TO_EXPORT} "
            + ("(The url column does not give the exact id of every one of these tweets, so they cannot be "
               "recovered from it.)" if has_links else
               "(With a url column holding each tweet's link, …/status/<id>, the ids could be recovered.)"))
    frame.insert(frame.columns.get_loc("id") + 1, ID_INPUT_COLUMN, "")
    frame.loc[mask, ID_INPUT_COLUMN] = frame["id"][mask]
    frame.loc[mask, "id"] = exact
    notes.append(f"Excel had rounded {len(rows):,} tweet id(s) (like {example}, row {line_list(rows, len(rows))}); "
                 "the exact ids were taken from the url column (…/status/<id>). The rounded values are kept in "
                 f"the column {ID_INPUT_COLUMN}.")
    return True


def _reference_ids(frame: pd.DataFrame, first_row: int, notes: list[str]) -> None:
    for column in (c for c in ID_COLUMNS[1:] if c in frame.columns):
        mask = _rounded(frame[column])
        if mask.any():
            rows = [int(i) + first_row for i in frame.index[mask]]
            consequence = (" (replies then cannot be matched to the tweets they answer, and the time to first "
                           "reply leaves them out)" if column == "in_reply_to" else "")
            notes.append(f"Excel has rounded {len(rows):,} value(s) of {column} (like "
                         f"{frame[column][mask].iloc[0].strip()}, row {line_list(rows, len(rows))}); they no longer "
                         f"identify what they point to{consequence}. They are kept as they are. {_HOW_TO_EXPORT}")


def check_ids(frame: pd.DataFrame, first_row: int, notes: list[str]) -> bool:
    """Unwrap ``="…"`` ids, recover or refuse rounded tweet ids, note rounded reference ids; True if changed."""
    changed = _unwrap_excel_text(frame, notes)
    changed = _tweet_ids(frame, first_row, notes) or changed
    _reference_ids(frame, first_row, notes)
    return changed
