"""Step 3: label every group of same texts once, page by page, with a checkpoint after each page.

Rows whose texts are the same once links, @handles, case and spacing are set aside (:func:`dallosh.textkey.text_key`)
and whose authors have the same role (customer, operator, retweet of the operator) form one group, and every row of
a group gets the group's labels: the operator's identical reply to ten customers is one text with one topic, and
an LLM is asked once for it. A group is represented by its most frequent exact text (ties: the first one in the
file) and keyed by the id of that text's first row (labels are stored under that id; requests carry short keys
mapped back to it). The page plan (page size, number of groups, grouping rule) is fixed when the step first runs and
saved in ``plan.json``; each finished page is written atomically as ``labels-<k>.json`` with who labelled each
group and why rows fell back. A resumed run skips the pages whose file exists, so no page is labelled twice and
none is lost, whichever model labels the remaining pages.

Who labels what is :class:`dallosh.llm.labelling.Labeller`'s business: author rules, hybrid labelling, and
fallback per chunk along the models (every page starts again from the first model; the built-in analyzer,
last, always answers). The step's summary says how many groups each model labelled and why fallbacks happened.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from dallosh.llm.base import AUTHOR_ROLES, Row
from dallosh.llm.labelling import Labeller, PageLabels, author_role, merge_fallbacks
from dallosh.pipeline.base import Run, Timer, step
from dallosh.storage import atomic_path
from dallosh.textkey import text_keys

LABEL_COLUMNS = ("key", "sentiment", "priority", "topic", "labelled_by")
#: Saved in the plan: checkpoints written under another grouping rule (older versions labelled exact texts)
#: are keyed differently, so they are dropped rather than resumed.
GROUPING = "text_key+role"


def distinct_texts(frame: pd.DataFrame, operator_accounts: list[str] | None = None) -> tuple[np.ndarray, pd.DataFrame]:
    """Group the rows to label: (group of each row, one row per group with its key id, representative text, max
    engagement, author role and how many exact texts it holds).

    Each costly step runs once per distinct exact text, never per row; groups come in order of first row.
    """
    codes, uniques = pd.factorize(frame["full_text"], sort=False)
    texts = np.asarray(uniques, dtype=object)
    roles = _row_roles(frame, codes, texts, operator_accounts or [])
    # Each distinct text -> the first distinct text with its key (a dict: ~2x faster than factorizing the keys).
    first_with_key: dict[str, int] = {}
    same = np.fromiter(map(first_with_key.setdefault, text_keys(texts), range(len(texts))), dtype=np.int64,
                       count=len(texts))
    groups, group_ids = pd.factorize(same[codes] * len(AUTHOR_ROLES) + roles, sort=False)
    # (group, exact text) pairs, in order of first row: the representative is the most frequent pair of a group.
    width = max(len(texts), 1)
    pairs, pair_ids = pd.factorize(groups.astype(np.int64) * width + codes, sort=False)
    pair_group, pair_text = pair_ids // width, pair_ids % width
    chosen = _most_frequent(pair_group, np.bincount(pairs), len(group_ids))
    first_row = _first_positions(pairs, len(pair_ids))[chosen]
    if "engagement" in frame.columns:
        engagement = pd.to_numeric(frame["engagement"], errors="coerce").fillna(0).to_numpy(dtype=np.int64)
        top = np.full(len(group_ids), np.iinfo(np.int64).min)
        np.maximum.at(top, groups, engagement)
    else:
        top = np.zeros(len(group_ids), dtype=np.int64)
    roles_of_groups = np.asarray(AUTHOR_ROLES, dtype=object)[group_ids % len(AUTHOR_ROLES)]
    table = pd.DataFrame({"key": frame["id"].to_numpy()[first_row], "text": texts[pair_text[chosen]],
                          "engagement": top, "author": roles_of_groups,
                          "exact_texts": np.bincount(pair_group, minlength=len(group_ids))})
    # Blank ids cannot key a request: fall back to a synthetic, stable key.
    blank = table["key"].astype(str).str.strip() == ""
    if blank.any():  # a dataset cleaned before blank ids got their own keys: never collide with a real id
        from dallosh.cleaning import blank_id_keys

        table.loc[blank, "key"] = blank_id_keys(frame["id"], int(blank.sum()))
    return groups, table


def _first_positions(codes: np.ndarray, count: int) -> np.ndarray:
    """The first position of each code 0..count-1 (reversed assignment: the earliest write wins)."""
    first = np.empty(count, dtype=np.int64)
    first[codes[::-1]] = np.arange(len(codes) - 1, -1, -1)
    return first


def _most_frequent(pair_group: np.ndarray, rows: np.ndarray, groups: int) -> np.ndarray:
    """For each group, the pair with the most rows; ties: the earliest pair (pairs are in order of first row)."""
    chosen = _first_positions(pair_group, groups)
    shared = np.flatnonzero(np.bincount(pair_group, minlength=groups)[pair_group] > 1)  # usually few
    if len(shared):
        order = shared[np.lexsort((shared, -rows[shared], pair_group[shared]))]
        lead = np.r_[True, pair_group[order][1:] != pair_group[order][:-1]]
        chosen[pair_group[order[lead]]] = order[lead]
    return chosen


def _flags(frame: pd.DataFrame, column: str) -> np.ndarray:
    """Cleaning's boolean flag of every row (False when the column is missing; read back from CSV as text)."""
    if column not in frame.columns:
        return np.zeros(len(frame), dtype=bool)
    codes, values = pd.factorize(frame[column], use_na_sentinel=False)  # two or three distinct values
    truth = np.array([v is True or str(v).strip().lower() == "true" for v in values], dtype=bool)
    return truth[codes] if len(values) else np.zeros(len(frame), dtype=bool)


def _row_roles(frame: pd.DataFrame, codes: np.ndarray, texts: np.ndarray, operator_accounts: list[str]) -> np.ndarray:
    """Each row's author role as an index into AUTHOR_ROLES (``author_role`` on cleaning's flags of the row).

    ``author_role`` is asked once per distinct text that a flagged retweet carries; operator rows need no text.
    """
    operator, retweet = _flags(frame, "is_operator"), _flags(frame, "is_retweet")
    roles = np.where(operator, AUTHOR_ROLES.index("operator"), AUTHOR_ROLES.index("customer"))
    retweets = retweet & ~operator
    if retweets.any():
        asked = np.unique(codes[retweets])
        of_operator = np.zeros(len(texts), dtype=bool)
        of_operator[asked] = [author_role(str(texts[c]), False, True, operator_accounts) == "retweet" for c in asked]
        roles[retweets & of_operator[codes]] = AUTHOR_ROLES.index("retweet")
    return roles


def _page_path(run: Run, page: int):
    # JSON columns, not CSV: a page is written in ~1 ms instead of ~10 ms (17+ pages per 100k rows).
    return run.checkpoints / f"labels-{page:05d}.json"


def _plan(run: Run, distinct: int, page_size: int) -> dict[str, Any]:
    """Load the saved plan, or start a new one (dropping checkpoints of a different plan)."""
    path = run.checkpoints / "plan.json"
    if path.exists():
        plan = json.loads(path.read_text())
        if plan.get("distinct") == distinct and plan.get("grouping") == GROUPING:
            return plan
    for old in run.checkpoints.glob("labels-*.json"):
        old.unlink()
    plan = {"distinct": distinct, "page_size": page_size, "pages": max(1, math.ceil(distinct / page_size)),
            "grouping": GROUPING}
    run.checkpoints.mkdir(parents=True, exist_ok=True)
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(plan))
    return plan


def _write_page(run: Run, page: int, rows: list[Row], result: PageLabels) -> None:
    keys = [r.id for r in rows]
    labels = list(map(result.labels.__getitem__, keys))
    out = {"key": keys, "sentiment": [label.sentiment for label in labels],
           "priority": [label.priority for label in labels], "topic": [label.topic for label in labels],
           "labelled_by": list(map(result.labelled_by.__getitem__, keys)),
           "fallbacks": result.fallbacks, "kept": result.kept}
    with atomic_path(_page_path(run, page)) as tmp:
        tmp.write_text(json.dumps(out, ensure_ascii=False), encoding="utf-8")


def _page_models(data: dict[str, Any]) -> Counter[str]:
    by = data["labelled_by"]
    return Counter(by) if isinstance(by, list) else Counter({by: len(data["key"])})


def _report_page(run: Run, page: int, pages: int, labelled: int, rows: int, result: PageLabels) -> None:
    for fallback in result.fallbacks:
        run.report("sending_to_llm", {"page": page, "model": fallback["model"], "fallback_used": True,
                                      "fallback_to": fallback["to"], "rows": fallback["rows"],
                                      "error": fallback["reason"][:300]})
    counts = result.counts()
    run.report("sending_to_llm", {"page": page, "pages": pages, "rows_labelled": labelled, "rows_in_page": rows,
                                  "model": max(counts, key=counts.get), "models": counts, "kept": result.kept,
                                  "fallback_used": bool(result.fallbacks)})


@step("sending_to_llm")
def sending_to_llm(run: Run) -> dict[str, Any]:
    timer = Timer()
    frame = run.frame("cleaned", run.cleaned)
    codes, table = distinct_texts(frame, run.operator_accounts)
    run.frames["distinct"] = (codes, table)  # reused by appending_columns in the same run
    providers = run.providers()
    labeller = Labeller(providers, run.topics, hybrid_threshold=run.hybrid_threshold)
    plan = _plan(run, len(table), providers[0].page_size)
    size, pages = plan["page_size"], plan["pages"]
    keys, texts, engagement, authors = (table["key"].astype(str).to_numpy(), table["text"].to_numpy(),
                                        table["engagement"].to_numpy(), table["author"].to_numpy())
    resumed, labelled = 0, 0
    try:
        for page in range(1, pages + 1):
            if _page_path(run, page).exists():
                resumed += 1
                continue
            run.check()
            lo, hi = (page - 1) * size, min(page * size, len(table))
            rows = list(map(Row, keys[lo:hi].tolist(), texts[lo:hi].tolist(), engagement[lo:hi].tolist(),
                            authors[lo:hi].tolist()))
            result = labeller.label(rows)
            _write_page(run, page, rows, result)
            labelled += len(rows)
            _report_page(run, page, pages, labelled, len(rows), result)
    finally:
        for provider in providers:
            close = getattr(provider, "close", None)
            if close:
                close()
    texts_by_model, kept, fallbacks, stored = Counter(), Counter(), [], []
    for page in range(1, pages + 1):  # resumed pages included: the summary covers the whole dataset
        data = json.loads(_page_path(run, page).read_text(encoding="utf-8"))
        texts_by_model.update(_page_models(data))
        kept.update(data.get("kept") or {})
        fallbacks += data.get("fallbacks") or []
        stored.append(data)
    run.frames["labels"] = _labels_frame(stored)  # appending_columns need not read the pages again
    llm = {p.name: p.stats() for p in providers if callable(getattr(p, "stats", None))}
    return {"rows": len(frame), "distinct_texts": len(table),
            "texts_merged": int(table["exact_texts"].sum()) - len(table), "pages": pages, "page_size": size,
            "pages_resumed": resumed, "models": sorted(texts_by_model), "texts_by_model": dict(texts_by_model),
            "fallback_used": bool(fallbacks), "fallbacks": merge_fallbacks(fallbacks),
            "kept_by_builtin": dict(kept), "hybrid_threshold": run.hybrid_threshold, "llm": llm,
            "duration_s": timer.seconds}


def load_labels(run: Run) -> pd.DataFrame:
    """Every page's labels, one row per key, in page order (the order of ``distinct_texts``' groups)."""
    plan = json.loads((run.checkpoints / "plan.json").read_text())
    return _labels_frame(json.loads(_page_path(run, page).read_text(encoding="utf-8"))
                         for page in range(1, plan["pages"] + 1))


def _labels_frame(pages: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Pages' labels as one frame: the lists are joined first, so one frame is built instead of one per page."""
    columns: dict[str, list[Any]] = {column: [] for column in LABEL_COLUMNS}
    for data in pages:
        by = data["labelled_by"]
        for column in ("key", "sentiment", "priority", "topic"):
            columns[column] += data[column]
        columns["labelled_by"] += by if isinstance(by, list) else [by] * len(data["key"])
    return pd.DataFrame(columns)
