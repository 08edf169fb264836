"""Typed loading of analysed CSVs (see the package docstring for the types), and the per-distinct-value helpers
the other modules share: one pass over the distinct values of a column is far cheaper than per-row work."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Sequence
from os import PathLike
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd
from pandas.api.types import union_categoricals

from dallosh.cleaning import ENGAGEMENT_COLUMNS
from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.storage import TYPED_COPY_SUFFIX

log = logging.getLogger(__name__)

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
#: Rows read and typed at a time by :func:`load_analysed`.
LOAD_CHUNK_ROWS = 200_000

#: Bumped whenever the typing rules above change: typed copies written before are then ignored and rewritten.
TYPED_COPY_VERSION = "1"
#: The typed copy's Arrow metadata key: the CSV's size, mtime (ns) and the rules' version it was typed from.
_COPY_STAMP = b"dallosh.typed_from"

_MAX_COUNT = 10**12
_TRUE = frozenset({"true", "1", "yes", "y", "t"})

Source = str | PathLike[str] | IO[Any] | pd.DataFrame


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
    return _completed(out, n, dataset)


def _completed(out: dict[str, Any], n: int, dataset: str | None) -> pd.DataFrame:
    """Typed columns plus the ones every analysis needs, with neutral defaults when an older or partial file
    (or a column choice) lacks them; ``dataset`` names the rows."""
    if "id" not in out:
        out["id"] = pd.Series([""] * n, dtype="str")
    if "created_at" not in out:
        out["created_at"] = pd.Series(pd.NaT, index=pd.RangeIndex(n), dtype="datetime64[us, UTC]")
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


def typed_copy_path(csv: str | PathLike[str]) -> Path:
    """Where an analysed CSV's typed copy lives: beside it, ``<name>.csv.arrow``."""
    csv = Path(csv)
    return csv.with_name(csv.name + TYPED_COPY_SUFFIX)


def _stamp(csv: Path) -> bytes:
    stat = csv.stat()
    return f"{stat.st_size}:{stat.st_mtime_ns}:{TYPED_COPY_VERSION}".encode()


def write_typed_copy(csv: str | PathLike[str], frame: pd.DataFrame | None = None) -> Path | None:
    """Store the typed frame of an analysed CSV beside it (Arrow IPC, uncompressed, stamped with the CSV's size,
    mtime and :data:`TYPED_COPY_VERSION`), so the next load maps it instead of parsing and typing the CSV (on
    100k rows 0.1 s instead of 0.5 s). ``frame``: ``load_analysed(csv)`` when already read. Best effort: None
    when it cannot be written (read-only folder, full disk); loads then read the CSV as before."""
    import pyarrow as pa
    import pyarrow.feather as feather

    csv, target = Path(csv), typed_copy_path(csv)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        stamp = _stamp(csv)  # before reading: a CSV replaced meanwhile leaves a copy that never matches
        if frame is None:
            frame = load_analysed(csv)
        table = pa.Table.from_pandas(frame.drop(columns=["dataset"], errors="ignore"), preserve_index=False)
        table = table.replace_schema_metadata({**(table.schema.metadata or {}), _COPY_STAMP: stamp})
        feather.write_feather(table, tmp, compression="uncompressed")
        os.replace(tmp, target)
        return target
    except (OSError, ValueError, pa.ArrowException) as exc:
        log.info("no typed copy of %s: %s", csv.name, exc)
        tmp.unlink(missing_ok=True)
        return None


def _read_typed_copy(csv: Path, usecols: Callable[[str], bool] | None, name: str) -> pd.DataFrame | None:
    """The typed copy of ``csv`` when it was typed from this very file by these rules, else None."""
    import pyarrow as pa
    import pyarrow.feather as feather

    path = typed_copy_path(csv)
    try:
        with pa.memory_map(str(path)) as source:
            reader = pa.ipc.open_file(source)
            if (reader.schema.metadata or {}).get(_COPY_STAMP) != _stamp(csv):
                return None
            wanted = [c for c in reader.schema.names if usecols is None or usecols(c)]
        frame = feather.read_table(path, columns=wanted, memory_map=False).to_pandas()
    except (OSError, ValueError, pa.ArrowException):
        return None
    return _completed({c: frame[c] for c in frame.columns}, len(frame), name)


def load_analysed(
    paths_or_frames: Source | Sequence[Source],
    *,
    dataset_names: Sequence[str] | None = None,
    columns: Sequence[str] | None = None,
    keep_typed_copy: bool = False,
) -> pd.DataFrame:
    """Read analysed CSV(s) or frames into ONE typed frame (see the module docstring for the types).

    ``dataset`` (categorical) tells the rows apart: ``dataset_names[i]`` when given, else the file's stem,
    else ``dataset_<i+1>`` for frames (a frame's own ``dataset`` column is kept if no name is given). Files are
    read with ``dtype=str, keep_default_na=False`` and the C engine, so ids are never turned into floats.
    ``columns`` limits what is read from files (the id, date, flag, count and label columns are always read),
    which roughly halves the memory when the long texts and urls are not needed. A file's typed copy
    (:func:`write_typed_copy`) is read instead of the CSV when it was typed from that very file;
    ``keep_typed_copy`` writes one after reading a whole CSV (the app's stored datasets, not users' own files).
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
            copy = _read_typed_copy(Path(source), usecols, name) if isinstance(source, str | PathLike) else None
            if copy is not None:
                parts.append(copy)
                continue
            # Typed chunk by chunk: only one chunk of raw strings is alive at a time (peak RSS -20% on 1M rows).
            with pd.read_csv(source, dtype=str, keep_default_na=False, engine="c", usecols=usecols,
                             chunksize=LOAD_CHUNK_ROWS) as reader:
                chunks = [_type_frame(chunk, name) for chunk in reader]
            parts.extend(chunks)
            if keep_typed_copy and usecols is None and isinstance(source, str | PathLike):
                write_typed_copy(source, _concat(chunks) if chunks else None)
    if not parts:
        return _type_frame(pd.DataFrame({"id": pd.Series([], dtype="str")}), None)
    return _concat(parts)
