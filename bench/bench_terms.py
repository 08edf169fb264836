"""Benchmark of dallosh.analytics.terms ("what customers actually say") on 1M analysed rows.

The Analysis page recomputes the top terms on every filter click, so ``top_terms`` + ``terms_by`` (topics and
sentiments) on a 30 % selection must stay interactive (target ≤ 0.2 s on 1M rows); ``build_term_index`` runs
once per load (target ≤ 5 s, the order of loading the file itself). Two datasets:

- **synthetic**: built like ``bench_analytics.py`` (synthetic export → real cleaning → random labels; copies of
  random rows replace the duplicates cleaning drops): most texts are distinct (names, amounts, places vary),
  the hard case for the index;
- **real**: the 3,193 real Free/Freebox tweets of ``../shared/data/real_tweets_unlabeled.csv`` resampled to the
  same number of rows (texts repeat a lot, as in real exports with retweets and the operator's templates).

Baselines measured in the same run, on the same rows: ``pd.factorize`` of the texts (the least any
per-distinct-text index pays) for the build, and the naive per-click count (lower-case + ``findall`` + explode +
``value_counts`` on the selected texts, no folding or stopwords) for the selection.

    .venv/bin/python bench/bench_terms.py [--rows 1000000] [--seed 0] [--repeat 5] [--selection 0.3]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import numpy as np
import pandas as pd
from _common import PROJECT_ROOT, Section, report

sys.path.insert(0, str(PROJECT_ROOT))

from dallosh import analytics as an  # noqa: E402
from dallosh.analytics import terms  # noqa: E402

T = TypeVar("T")
CLICK_TARGET_S = 0.2
BUILD_TARGET_S = 5.0
REAL_TWEETS = PROJECT_ROOT.parent / "shared" / "data" / "real_tweets_unlabeled.csv"


def best(fn: Callable[[], T], repeat: int) -> tuple[T, float, float]:
    """The last result, the best wall time and the best CPU time of ``repeat`` runs (other jobs on a shared
    machine inflate wall times, CPU time much less)."""
    walls, cpus, result = [], [], None
    for _ in range(repeat):
        started, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - cpu)
    return result, min(walls), min(cpus)  # type: ignore[return-value]


def synthetic_frame(rows: int, seed: int) -> pd.DataFrame:
    """``bench_analytics``' analysed rows, typed by ``load_analysed`` as the page holds them."""
    from bench_analytics import analysed_frame

    raw = analysed_frame(rows, seed)
    if len(raw) < rows:  # cleaning dropped the generator's duplicates: copies of random rows make up the count
        raw = pd.concat([raw, raw.sample(rows - len(raw), replace=True, random_state=seed)], ignore_index=True)
    return an.load_analysed(raw, dataset_names=["synthetic"])


def real_frame(rows: int, seed: int, path: Path) -> pd.DataFrame:
    """The real tweets resampled to ``rows`` rows, with random labels skewed like ``bench_analytics``'."""
    from dallosh.defaults import DEFAULT_TOPICS, SENTIMENTS

    texts = pd.read_csv(path, dtype=str, keep_default_na=False)["full_text"].to_numpy(dtype=object)
    rng = np.random.default_rng(seed)
    return an.load_analysed(pd.DataFrame({
        "id": np.arange(rows).astype(str),
        "full_text": texts[rng.integers(0, len(texts), rows)],
        "sentiment": np.array(SENTIMENTS, dtype=object)[rng.choice(3, rows, p=[0.6, 0.27, 0.13])],
        "main_topic": np.array(DEFAULT_TOPICS, dtype=object)[
            rng.choice(len(DEFAULT_TOPICS), rows, p=[0.4, 0.15, 0.18, 0.14, 0.08, 0.05])],
    }), dataset_names=["real"])


def naive_top(texts: pd.Series, n: int = 15) -> pd.Series:
    """What a click would cost without an index: tokenise the selected texts and count."""
    return texts.str.lower().str.findall(r"#?\w+").explode().value_counts().head(n)


def measure(section: Section, prefix: str, df: pd.DataFrame, *, selection: float, repeat: int, seed: int) -> None:
    texts = df["full_text"]
    section.add(f"{prefix}rows", f"{prefix}: rows", len(df), "{:,}")
    section.add(f"{prefix}distinct_texts", f"{prefix}: distinct texts", int(texts.nunique()), "{:,}")
    _, floor, floor_cpu = best(lambda: pd.factorize(texts), 1)
    section.add(f"{prefix}factorize_s", f"{prefix}: floor: pd.factorize(full_text)", round(floor, 3),
                f"{{:.3f}} s (cpu {floor_cpu:.3f} s)")
    index, build, build_cpu = best(lambda: terms.build_term_index(texts), 1)
    section.add(f"{prefix}build_s", f"{prefix}: build_term_index", round(build, 3),
                f"{{:.3f}} s (cpu {build_cpu:.3f} s, {build / floor:.1f}× the floor)")
    section.metrics[f"{prefix}build_cpu_s"] = round(build_cpu, 3)
    size = sum(a.nbytes for a in (index.codes, index.indptr, index.indices)) / 1e6
    section.line("", f"({index.texts - 1:,} texts once stripped, {len(index.terms):,} terms, "
                     f"{len(index.indices):,} text-term pairs, {size:.0f} MB of arrays)")
    section.metrics[f"{prefix}index"] = {"texts": index.texts - 1, "terms": len(index.terms),
                                         "pairs": len(index.indices), "mb": round(size, 1)}

    rows = np.flatnonzero(np.random.default_rng(seed).random(len(df)) < selection)
    section.add(f"{prefix}selected", f"{prefix}: selected rows ({selection:.0%})", len(rows), "{:,}")
    top, t_top, _ = best(lambda: terms.top_terms(index, rows), repeat)
    _, t_tags, _ = best(lambda: terms.top_terms(index, rows, hashtags=True), repeat)
    by_topic, t_topic, _ = best(lambda: terms.terms_by(index, df["main_topic"], rows), repeat)
    _, t_sentiment, _ = best(lambda: terms.terms_by(index, df["sentiment"], rows), repeat)
    section.add(f"{prefix}top_terms_s", f"{prefix}: top_terms (15)", round(t_top, 4), "{:.4f} s")
    section.add(f"{prefix}top_hashtags_s", f"{prefix}: top_terms (15, hashtags only)", round(t_tags, 4), "{:.4f} s")
    section.add(f"{prefix}terms_by_topic_s", f"{prefix}: terms_by(main_topic)", round(t_topic, 4), "{:.4f} s")
    section.add(f"{prefix}terms_by_sentiment_s", f"{prefix}: terms_by(sentiment)", round(t_sentiment, 4),
                "{:.4f} s")
    click = t_top + t_topic + t_sentiment
    section.add(f"{prefix}click_s", f"{prefix}: one click (top_terms + both terms_by)", round(click, 4), "{:.4f} s")
    _, naive, _ = best(lambda: naive_top(texts.take(rows)), 1)
    section.add(f"{prefix}naive_s", f"{prefix}: baseline: naive count of the selection", round(naive, 3),
                f"{{:.3f}} s ({naive / click:.0f}× one click)")
    mask, t_mask, _ = best(lambda: terms.term_mask(texts, top["term"].iloc[0], index=index), repeat)
    section.add(f"{prefix}term_mask_s", f"{prefix}: term_mask (with the index)", round(t_mask, 4), "{:.4f} s")
    assert int(mask[rows].sum()) == int(top["tweets"].iloc[0]), "term_mask disagrees with top_terms"
    section.line("", f"top terms: {', '.join(top['term'].head(10))}")
    section.line("", f"biggest topic {next(iter(by_topic))!r}: {', '.join(next(iter(by_topic.values()))['term'])}")
    section.target(f"{prefix}: one click ≤ {CLICK_TARGET_S} s", f"{click:.3f} s", click <= CLICK_TARGET_S)
    section.target(f"{prefix}: build ≤ {BUILD_TARGET_S:g} s", f"{build:.2f} s (cpu {build_cpu:.2f} s)",
                   build <= BUILD_TARGET_S)


def run(rows: int = 1_000_000, *, seed: int = 0, repeat: int = 5, selection: float = 0.3,
        real: Path | None = REAL_TWEETS) -> Section:
    section = Section("terms", f"Top terms ({rows:,} rows, {selection:.0%} selected)")
    started = time.perf_counter()
    frame = synthetic_frame(rows, seed)
    section.add("synthetic_setup_s", "synthetic: generate + clean + label + type", round(
        time.perf_counter() - started, 1), "{} s")
    terms.stopwords(), terms.kept_terms(), terms._combining()  # once per process, not part of a build
    measure(section, "synthetic", frame, selection=selection, repeat=repeat, seed=seed)
    del frame
    if real is not None and real.exists():
        measure(section, "real", real_frame(rows, seed, real), selection=selection, repeat=repeat, seed=seed)
    else:
        section.notes.append(f"real tweets not found at {real}: only the synthetic dataset was measured")
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=5, help="runs per selection measurement; the best is kept")
    parser.add_argument("--selection", type=float, default=0.3, help="share of the rows selected")
    parser.add_argument("--real", type=Path, default=REAL_TWEETS, help="real tweets CSV to resample")
    args = parser.parse_args(argv)
    section = run(args.rows, seed=args.seed, repeat=args.repeat, selection=args.selection, real=args.real)
    report([section], "terms.json")
    return 0 if all(t["met"] for t in section.targets) else 1


if __name__ == "__main__":
    raise SystemExit(main())
