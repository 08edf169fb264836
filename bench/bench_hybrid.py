"""Hybrid labelling on the real test split: the share of rows sent to the LLM, and the built-in's accuracy on the
rows it keeps, per threshold (the AI setting ``hybrid_threshold``).

Reads the gold labels of ``evaluation/real_gold.csv`` (split ``test``) and their texts from
``../shared/data/real_tweets_unlabeled.csv``, labels them with the built-in analyzer, and applies the same rules as
the pipeline (dallosh/llm/labelling.py): the operator's own tweets go to the author rule, rows whose built-in
confidence reaches the threshold keep the built-in labels, the rest would go to the LLM. A built-in analyzer that
gives no confidence sends every customer row.

    .venv/bin/python bench/bench_hybrid.py [--thresholds 0.5 0.6 0.7 0.8 0.9 0.95]
"""

from __future__ import annotations

import argparse
import sys

import pandas as pd
from _common import PROJECT_ROOT, Section, print_sections

sys.path.insert(0, str(PROJECT_ROOT))

from dallosh.defaults import DEFAULT_OPERATOR_ACCOUNTS, DEFAULT_TOPICS, HYBRID_THRESHOLD_DEFAULT  # noqa: E402
from dallosh.llm.base import Row  # noqa: E402
from dallosh.llm.builtin import BuiltinAnalyzer  # noqa: E402
from dallosh.llm.labelling import (  # noqa: E402
    RULE_AUTHORS,
    RULE_PRIORITY,
    RULE_SENTIMENT,
    author_role,
    keeps_builtin,
)

GOLD = PROJECT_ROOT / "evaluation" / "real_gold.csv"
TEXTS = PROJECT_ROOT.parent / "shared" / "data" / "real_tweets_unlabeled.csv"
FIELDS = (("sentiment", "sentiment"), ("priority", "priority"), ("topic", "main_topic"))


def test_rows() -> pd.DataFrame:
    gold = pd.read_csv(GOLD, dtype=str, keep_default_na=False)
    texts = pd.read_csv(TEXTS, dtype=str, keep_default_na=False)[["id", "full_text", "screen_name"]]
    return gold[gold["split"] == "test"].merge(texts, on="id", how="inner")


def run(thresholds: list[float]) -> Section:
    section = Section("hybrid", "Hybrid labelling on the real test split (built-in analyzer)")
    frame = test_rows()
    operators = {a.casefold() for a in DEFAULT_OPERATOR_ACCOUNTS}
    rows = [Row(r.id, r.full_text, author=author_role(r.full_text, r.screen_name.casefold() in operators, False,
                                                      DEFAULT_OPERATOR_ACCOUNTS))
            for r in frame.itertuples()]
    labels = BuiltinAnalyzer().label(rows, list(DEFAULT_TOPICS))
    gold = {r.id: (r.sentiment, int(r.priority), r.main_topic) for r in frame.itertuples()}
    customers = [r for r in rows if r.author not in RULE_AUTHORS]
    scored = sum(labels[r.id].confidence is not None for r in customers)
    section.add("rows", "test rows", len(rows))
    ruled = [r for r in rows if r.author in RULE_AUTHORS]
    section.add("author_rule", "operator's own tweets (author rule, never sent)", len(ruled))
    if ruled:
        rule = {"sentiment": RULE_SENTIMENT, "priority": RULE_PRIORITY}
        hits = {name: sum(rule[name] == gold[r.id][i] for r in ruled) / len(ruled)
                for i, name in enumerate(("sentiment", "priority"))}
        hits["topic"] = sum(labels[r.id].topic == gold[r.id][2] for r in ruled) / len(ruled)
        section.metrics["author_rule_accuracy"] = hits
        section.line("  author rule accuracy", ", ".join(f"{k} {v:.2f}" for k, v in hits.items()))
    section.add("scored", "customer rows with a built-in confidence", scored)
    for threshold in sorted(set(thresholds) | {HYBRID_THRESHOLD_DEFAULT}):
        kept = [r for r in customers if keeps_builtin(labels[r.id], threshold)]
        share = (len(customers) - len(kept)) / len(rows) if rows else 0.0
        accuracy = {name: sum(getattr(labels[r.id], name) == gold[r.id][i] for r in kept) / len(kept) if kept
                    else None for i, (name, _) in enumerate(FIELDS)}
        section.metrics[f"threshold_{threshold}"] = {"sent_share": round(share, 3), "kept": len(kept),
                                                     "kept_accuracy": accuracy}
        shown = ", ".join(f"{k} {v:.2f}" for k, v in accuracy.items() if v is not None) or "no row kept"
        default = " (default)" if threshold == HYBRID_THRESHOLD_DEFAULT else ""
        section.line(f"threshold {threshold:g}{default}", f"{share:.0%} of rows sent to the LLM; built-in on the "
                     f"{len(kept)} rows it keeps: {shown}")
    if not scored:
        section.notes.append("the built-in analyzer gives no confidence: every customer row goes to the LLM")
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--thresholds", type=float, nargs="+", default=[0.5, 0.6, 0.7, 0.8, 0.9, 0.95])
    args = parser.parse_args(argv)
    print_sections([run(args.thresholds)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
