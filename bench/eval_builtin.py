"""The built-in analyzer's speed (distinct texts per second, against a floor measured in the same run), and
optionally its quality on a labelled CSV.

Usage::

    .venv/bin/python bench/eval_builtin.py [--texts N] [--repeat 3]
    .venv/bin/python bench/eval_builtin.py --gold evaluation/real_gold.csv --split test   # + quality

Speed: N distinct texts built from the real tweets (each gets its own "#i" word, so no two are equal and the
per-call dedup cannot help), labelled in one call, best of ``--repeat`` runs, with a cold word cache on the first.
Floor: lower-casing and ``re.findall(r"\\w+")`` on the same texts, the least any word-based model does; the ratio
shows how much of the time is the model when the machine is busy (the bench box has 2 shared cores).
Target (issue 13): ≥ 20,000 distinct texts/s. Quality is ``dallosh eval``'s (same code).
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from dallosh.defaults import DEFAULT_TOPICS  # noqa: E402
from dallosh.evaluation import evaluate_model, format_report, load_gold  # noqa: E402
from dallosh.llm.base import Row  # noqa: E402
from dallosh.llm.builtin import BuiltinAnalyzer, _model  # noqa: E402

TEXTS = REPO.parent / "shared" / "data" / "real_tweets_unlabeled.csv"
TARGET_TEXTS_PER_S = 20_000
_WORD = re.compile(r"\w+")


def speed(count: int, repeat: int) -> dict[str, float]:
    """Best texts/s of the analyzer (first run with a cold word cache) and of the floor, on ``count`` texts."""
    base = pd.read_csv(TEXTS, dtype=str, keep_default_na=False)["full_text"].tolist()
    texts = [f"{base[i % len(base)]} #{i}" for i in range(count)]
    rows = [Row(id=str(i), text=t) for i, t in enumerate(texts)]
    analyzer = BuiltinAnalyzer()
    analyzer.label(rows[:10], DEFAULT_TOPICS)  # load the artifact outside the timing
    _model()._reset()  # cold caches: every piece and word is new
    model_s, floor_s, cold_s = [], [], 0.0
    for _ in range(repeat):
        start = time.perf_counter()
        [len(_WORD.findall(t.lower())) for t in texts]
        floor_s.append(time.perf_counter() - start)
        start = time.perf_counter()
        labels = analyzer.label(rows, DEFAULT_TOPICS)
        model_s.append(time.perf_counter() - start)
        cold_s = cold_s or model_s[-1]
        assert len(labels) == count
    return {"texts": count, "model_per_s": count / min(model_s), "cold_per_s": count / cold_s,
            "floor_per_s": count / min(floor_s), "ratio": min(model_s) / min(floor_s)}


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--texts", type=int, default=100_000, help="distinct texts for the speed test")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--gold", help="labelled CSV to score as well (dallosh eval's format)")
    parser.add_argument("--split", help="with --gold: keep this split")
    parser.add_argument("--gold-texts", default=str(TEXTS), help="with --gold: texts joined by id")
    args = parser.parse_args(argv)
    if args.gold:
        gold = load_gold(args.gold, split=args.split, texts=args.gold_texts if args.gold_texts else None)
        report = evaluate_model(gold, [BuiltinAnalyzer()], list(DEFAULT_TOPICS))
        report.source = f"{args.gold} ({args.split or 'all rows'})"
        print(format_report(report) + "\n")
    result = speed(args.texts, args.repeat)
    verdict = "OK" if result["model_per_s"] >= TARGET_TEXTS_PER_S else "BELOW TARGET"
    print(f"speed: {result['model_per_s']:,.0f} distinct texts/s (best of {args.repeat}; "
          f"{result['cold_per_s']:,.0f}/s with a cold word cache) on {result['texts']:,} texts — "
          f"target {TARGET_TEXTS_PER_S:,}: {verdict}")
    print(f"floor: {result['floor_per_s']:,.0f} texts/s (lower + findall words) — model/floor time "
          f"{result['ratio']:.1f}×")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
