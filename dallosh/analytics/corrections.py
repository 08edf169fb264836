"""Analysts' label corrections applied on top of the model's labels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dallosh.analytics.filters import _bool_column
from dallosh.analytics.load import _ids
from dallosh.defaults import PRIORITIES, SENTIMENTS

#: Fields :func:`apply_corrections` may override.
CORRECTABLE_FIELDS: tuple[str, ...] = ("sentiment", "priority", "main_topic")


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
