"""Evaluate the built-in analyzer against a labelled CSV: accuracy, macro-F1, confusion matrices, speed.

Usage: ``python bench/eval_builtin.py [path]`` (default: the shared synthetic file next to the repo).
The synthetic file is templated, so these numbers check format and taxonomy, not real-world quality.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dallosh.defaults import DEFAULT_TOPICS  # noqa: E402
from dallosh.llm.base import Row  # noqa: E402
from dallosh.llm.builtin import BuiltinAnalyzer  # noqa: E402

DEFAULT_PATH = REPO / ".." / "shared" / "data" / "labeled_tweets_synthetic.csv"
ENGAGEMENT_COLUMNS = ("favorite_count", "retweet_count", "reply_count", "quote_count")
#: (field, gold column) pairs compared.
FIELDS = (("sentiment", "sentiment"), ("priority", "priority"), ("topic", "main_topic"))


def engagement(frame: pd.DataFrame) -> list[int]:
    """Sum of the interaction counts; missing or non-numeric cells count as 0."""
    total = pd.Series(0, index=frame.index, dtype="int64")
    for col in ENGAGEMENT_COLUMNS:
        if col in frame.columns:
            total += pd.to_numeric(frame[col], errors="coerce").fillna(0).astype("int64")
    return total.tolist()


def macro_f1(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> float:
    """Unweighted mean of per-class F1 over the classes present in gold or predictions."""
    scores = []
    for c in classes:
        tp = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p == c)
        fp = sum(1 for g, p in zip(gold, pred, strict=True) if g != c and p == c)
        fn = sum(1 for g, p in zip(gold, pred, strict=True) if g == c and p != c)
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        scores.append(2 * precision * recall / (precision + recall) if precision + recall else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def confusion(gold: Sequence[str], pred: Sequence[str], classes: Sequence[str]) -> str:
    """Text confusion matrix: rows are gold labels, columns predictions."""
    width = max(8, *(len(c) for c in classes)) + 1
    lines = ["gold \\ pred".ljust(width) + "".join(c.rjust(width) for c in classes)]
    for g in classes:
        counts = [sum(1 for a, b in zip(gold, pred, strict=True) if a == g and b == p) for p in classes]
        lines.append(g.ljust(width) + "".join(str(n).rjust(width) for n in counts))
    return "\n".join(lines)


def main(argv: Sequence[str]) -> int:
    path = Path(argv[0]) if argv else DEFAULT_PATH
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    rows = [
        Row(id=f"{i}:{rid}", text=text, engagement=eng)
        for i, (rid, text, eng) in enumerate(zip(frame["id"], frame["full_text"], engagement(frame), strict=True))
    ]
    gold_topics = sorted(set(frame["main_topic"]) - {""})
    topics = list(DEFAULT_TOPICS) + [t for t in gold_topics if t not in DEFAULT_TOPICS]

    analyzer = BuiltinAnalyzer()
    start = time.perf_counter()
    labels = analyzer.label(rows, topics)
    elapsed = time.perf_counter() - start
    # Uncached speed: every text distinct, so the per-call cache cannot help.
    unique_rows = [Row(id=str(i), text=f"{r.text} #{i}", engagement=r.engagement) for i, r in enumerate(rows)]
    start = time.perf_counter()
    analyzer.label(unique_rows, topics)
    elapsed_unique = time.perf_counter() - start

    print(f"file: {path.resolve()}  rows: {len(rows)}  distinct texts: {frame['full_text'].nunique()}")
    for field, column in FIELDS:
        gold = [str(v) for v in frame[column]]
        pred = [str(getattr(labels[r.id], field)) for r in rows]
        classes = sorted(set(gold) | set(pred))
        accuracy = sum(1 for g, p in zip(gold, pred, strict=True) if g == p) / len(gold) if gold else 0.0
        print(f"\n== {field}: accuracy {accuracy:.3f}  macro-F1 {macro_f1(gold, pred, classes):.3f}")
        print(confusion(gold, pred, classes))
    print(f"\nspeed: {len(rows) / elapsed:,.0f} rows/s (as given, identical texts cached), "
          f"{len(unique_rows) / elapsed_unique:,.0f} rows/s (all texts distinct)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
