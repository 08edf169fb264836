"""Benchmark of the cleaning step on a synthetic export: read_dataset → clean_tweets → write_dataset.

The worker does exactly these three things per dataset (pandas' own ``to_csv`` is timed beside the writer), so
their times (and the peak memory) are what an analyst waits for before labelling starts. DESIGN.md §8 budgets
~2.5 s of cleaning for 200k tweets on 2 cores. ``inspect_csv`` (the upload preview, which also counts what
cleaning will find) and ``planned_report`` alone are timed first; bench_ingest.py measures them in fresh processes.

    .venv/bin/python bench/bench_cleaning.py [--rows 200000] [--seed 0] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from dallosh.cleaning import clean_tweets, planned_report
from dallosh.datasets import inspect_csv, read_dataset, write_dataset
from dallosh.defaults import DEFAULT_OPERATOR_ACCOUNTS

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # tools/ lives in the checkout only
from tools.synthetic import generate_tweets, write_csv  # noqa: E402

T = TypeVar("T")


def timed(label: str, fn: Callable[[], T], repeat: int = 1) -> T:
    """Run ``fn`` ``repeat`` times, print the best and worst wall time, return the last result."""
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - start)
    spread = f" (worst {max(times):.2f} s of {repeat})" if repeat > 1 else ""
    print(f"{label:<16} {min(times):6.2f} s{spread}")
    return result  # type: ignore[return-value]


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--repeat", type=int, default=3, help="runs of read/clean/write; the best is shown")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory() as tmp:
        raw_path, clean_path = Path(tmp) / "raw.csv", Path(tmp) / "cleaned.csv"
        generated = timed("generate", lambda: generate_tweets(args.rows, args.seed))
        timed("write raw csv", lambda: write_csv(generated, raw_path))
        generated = None  # free it: the numbers below should reflect the worker, which never holds it
        size_mb = raw_path.stat().st_size / 1e6
        print(f"{'raw csv':<16} {size_mb:6.1f} MB, {args.rows} rows")

        timed("inspect_csv", lambda: inspect_csv(raw_path, "raw.csv", max_bytes=2**32), args.repeat)
        raw = timed("read_dataset", lambda: read_dataset(raw_path), args.repeat)
        timed("planned_report", lambda: planned_report(raw), args.repeat)
        result = timed("clean_tweets", lambda: clean_tweets(raw, DEFAULT_OPERATOR_ACCOUNTS), args.repeat)
        timed("write_dataset", lambda: write_dataset(result.frame, clean_path), args.repeat)
        timed("(pandas to_csv)", lambda: result.frame.to_csv(clean_path, index=False), args.repeat)
        print(f"{'peak RSS':<16} {peak_rss_mb():6.0f} MB")
        print(json.dumps(result.report, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
