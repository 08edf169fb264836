"""Benchmark of dallosh.analytics on a 1M-row analysed dataset: load, filters, KPIs, chart data, memory.

The dashboards recompute filters, KPIs and every chart on each click, so those must stay interactive (target:
apply_filters ≤ 1 s on 1M rows); loading happens once per dataset selection.

The analysed file is built like the pipeline does (synthetic export → clean_tweets → labels → CSV) except that
labels are drawn at random (skewed like real ones) instead of running the analyzer, which would dominate.

    .venv/bin/python bench/bench_analytics.py [--rows 1000000] [--seed 0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import numpy as np
import pandas as pd

from dallosh import analytics as an
from dallosh.cleaning import clean_tweets
from dallosh.defaults import DEFAULT_OPERATOR_ACCOUNTS, DEFAULT_TOPICS, SENTIMENTS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tools/ lives in the checkout only
from tools.synthetic import generate_tweets  # noqa: E402

T = TypeVar("T")
TZ = "Europe/Paris"


def timed(label: str, fn: Callable[[], T], repeat: int = 1) -> tuple[T, float]:
    """Run ``fn`` ``repeat`` times; print the best wall and CPU times, return the last result and best wall.

    CPU time is shown too because other jobs on a shared machine inflate wall times.
    """
    walls, cpus = [], []
    result = None
    for _ in range(repeat):
        start, cpu = time.perf_counter(), time.process_time()
        result = fn()
        walls.append(time.perf_counter() - start)
        cpus.append(time.process_time() - cpu)
    spread = f"  (worst {max(walls):.3f} s of {repeat})" if repeat > 1 else ""
    print(f"  {label:<42} {min(walls):7.3f} s  cpu {min(cpus):7.3f} s{spread}")
    return result, min(walls)  # type: ignore[return-value]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def analysed_csv(rows: int, seed: int, path: Path) -> None:
    """Write an analysed CSV: generate, clean (real step), then random labels skewed like real ones."""
    analysed_frame(rows, seed).to_csv(path, index=False)


def analysed_frame(rows: int, seed: int) -> pd.DataFrame:
    """The analysed rows as strings and numbers (before typing): generated, cleaned, labelled at random."""
    raw = generate_tweets(rows, seed)
    frame = clean_tweets(raw, DEFAULT_OPERATOR_ACCOUNTS).frame
    del raw
    rng = np.random.default_rng(seed)
    n = len(frame)
    frame["sentiment"] = np.array(SENTIMENTS, dtype=object)[rng.choice(3, n, p=[0.6, 0.27, 0.13])]
    frame["priority"] = rng.choice(3, n, p=[0.3, 0.4, 0.3])
    frame["main_topic"] = np.array(DEFAULT_TOPICS, dtype=object)[
        rng.choice(len(DEFAULT_TOPICS), n, p=[0.4, 0.15, 0.18, 0.14, 0.08, 0.05])
    ]
    frame["labelled_by"] = "builtin"
    return frame


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs per measurement; the best is shown")
    parser.add_argument("--make", type=Path, help=argparse.SUPPRESS)  # child mode: only write the CSV
    args = parser.parse_args(argv)
    if args.make:
        analysed_csv(args.rows, args.seed, args.make)
        return 0
    results: dict[str, Any] = {}

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "analysed.csv"
        print("setup (child process, so its memory is not counted below)")
        command = [sys.executable, __file__, "--rows", str(args.rows), "--seed", str(args.seed), "--make", str(path)]
        timed("generate + clean + label + write csv", lambda: subprocess.run(command, check=True))
        print(f"  {'analysed csv':<42} {path.stat().st_size / 1e6:7.1f} MB")
        print("load")
        light, _ = timed("load_analysed(csv, columns=['full_text'])",
                         lambda: an.load_analysed(path, columns=["full_text"]), 1)
        print(f"  {'  memory_usage(deep=True)':<42} {light.memory_usage(deep=True).sum() / 1e6:7.1f} MB")
        del light
        df, results["load_s"] = timed("load_analysed(csv), all columns", lambda: an.load_analysed(path), args.repeat)

    memory_mb = df.memory_usage(deep=True).sum() / 1e6
    print(f"  {'rows':<42} {len(df):>9}")
    print(f"  {'memory_usage(deep=True)':<42} {memory_mb:7.1f} MB")
    print(f"  {'peak RSS of this process (loads incl.)':<42} {peak_rss_mb():7.1f} MB")
    heavy = df.memory_usage(deep=True).sort_values(ascending=False).head(5) / 1e6
    print("  biggest columns (MB): " + ", ".join(f"{k} {v:.0f}" for k, v in heavy.items()))
    print(f"  {'unparsed created_at (NaT)':<42} {int(df['created_at'].isna().sum()):>9}")

    days = df["created_at"].dropna().dt.tz_convert(TZ).dt.date
    first, last = days.min(), days.max()
    some_ids = df["id"].sample(50, random_state=0).tolist()
    filters = {
        "defaults (customers, retweets kept)": an.Filters(),
        "date range (2 weeks)": an.Filters(date_from=first + pd.Timedelta(days=10),
                                           date_to=first + pd.Timedelta(days=23), tz=TZ),
        "topics (2)": an.Filters(topics=["Réseau", "Facturation"]),
        "sentiment negative + priority 2": an.Filters(sentiments=["negative"], priorities=[2]),
        "no retweets, operator included": an.Filters(include_retweets=False, include_operator=True),
        "ids (50, chart click)": an.Filters(ids=some_ids),
        "search 'reseau' (accent-insensitive)": an.Filters(search="reseau"),
        "search 'remboursé' alone": an.Filters(search="remboursé", include_operator=True),
        "combined (dates+topic+neg+search)": an.Filters(
            date_from=first, date_to=last, topics=["Réseau"], sentiments=["negative"], priorities=[1, 2],
            include_retweets=False, search="panne"),
    }
    print("apply_filters (1M rows)")
    filtered = df
    worst = 0.0
    for label, f in filters.items():
        out, seconds = timed(label, lambda f=f: an.apply_filters(df, f), args.repeat)
        print(f"  {'':<42}   → {len(out)} rows")
        worst = max(worst, seconds)
        if label.startswith("defaults"):
            filtered = out
    results["filters_worst_s"] = worst

    print(f"kpis (on the default view, {len(filtered)} rows; replies looked up in the full frame)")
    k, results["kpis_s"] = timed(
        "kpis()", lambda: an.kpis(filtered, DEFAULT_OPERATOR_ACCOUNTS, replies_from=df), args.repeat)
    print("  " + ", ".join(f"{key}={value}" for key, value in k.items()))
    timed("kpis() on the full frame", lambda: an.kpis(df, DEFAULT_OPERATOR_ACCOUNTS), args.repeat)

    print("chart data (on the default view)")
    charts: dict[str, Callable[[], Any]] = {
        "sentiment_counts": lambda: an.sentiment_counts(filtered),
        "priority_counts": lambda: an.priority_counts(filtered),
        "topic_counts": lambda: an.topic_counts(filtered),
        "daily_volume_and_sentiment": lambda: an.daily_volume_and_sentiment(filtered, TZ),
        "topic_sentiment_matrix": lambda: an.topic_sentiment_matrix(filtered),
        "critical_topics": lambda: an.critical_topics(filtered),
        "engagement_by_sentiment": lambda: an.engagement_by_sentiment(filtered),
        "top_authors(10)": lambda: an.top_authors(filtered, 10),
        "top_critical_tweets(10)": lambda: an.top_critical_tweets(filtered, 10),
        "hour_of_day_activity": lambda: an.hour_of_day_activity(filtered, TZ),
    }
    total = 0.0
    for label, fn in charts.items():
        _, seconds = timed(label, fn, args.repeat)
        total += seconds
    print(f"  {'all charts together':<42} {total:7.3f} s")
    results["charts_total_s"] = total
    spikes = an.daily_volume_and_sentiment(filtered, TZ)
    print(f"  spike days: {', '.join(str(d.date()) for d in spikes.loc[spikes['spike'], 'day'])}")

    corrections = pd.DataFrame({"id": some_ids[:20], "field": "sentiment", "new_value": "positive"})
    print("other")
    timed("apply_corrections (20 ids)", lambda: an.apply_corrections(df, corrections), args.repeat)
    sample = filtered.head(10_000)
    timed("to_csv_bytes (10k rows)", lambda: an.to_csv_bytes(sample), 1)
    timed("to_xlsx_bytes (10k rows)", lambda: an.to_xlsx_bytes(sample), 1)

    print("summary: " + ", ".join(f"{k}={v:.3f}" for k, v in results.items()) + f", memory_mb={memory_mb:.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
