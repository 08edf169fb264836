"""Every benchmark of the performance issue in one command; prints a table and writes bench/results/latest.json.

1. pipeline (bench_pipeline): 100k synthetic rows, built-in analyzer, wall time vs the read_csv + to_csv floor
   and peak RSS (targets ≤ 3× floor, ≤ 1 GB);
2. llm (bench_llm): the same dataset through the fake LLM server at 100 ms per request: requests (target
   ≤ rows/20 after dedupe), wall time, and a concurrency 1/4/16 sweep on a smaller dataset;
3. events (bench_events): publish → subscriber callback latency, p50/p95 (target p95 ≤ 50 ms);
   hub (bench_hub): landing load, login → dashboard cold/warm, memory with N users (targets < 1 s, 5 s, 2 s);
4. ingest (bench_ingest): 200k rows through the upload preview (inspect + stored copy) and the processing, and
   the inspection of an Excel-FR copy, against the read_csv + to_csv floor;
5. with ``--large``: 1M rows through the pipeline: completes, wall time, peak RSS; and a 1 GB file through
   inspection and processing.

Datasets are generated once into a temp dir and shared. Needs RabbitMQ on localhost:5672 for step 3.
Numbers are noisy on a shared 2-core machine; the load average is recorded with the results.

    .venv/bin/python bench/run_all.py [--large] [--rows N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import bench_events
import bench_hub
import bench_ingest
import bench_llm
import bench_pipeline
from _common import RESULTS_DIR, Section, save_json


def _summary(sections: list[Section], elapsed: float) -> str:
    lines = ["== Targets =="]
    for section in sections:
        for t in section.targets:
            lines.append(f"  {'MET ' if t['met'] else 'MISS'}  {section.key:<15} {t['target']:<36} {t['value']}")
    lines.append(f"  (all benchmarks took {elapsed:.0f} s)")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="rows of the pipeline and LLM datasets")
    parser.add_argument("--large", action="store_true", help="also run 1M rows (several minutes)")
    parser.add_argument("--large-rows", type=int, default=1_000_000)
    parser.add_argument("--sweep-rows", type=int, default=20_000, help="dataset of the concurrency sweep")
    parser.add_argument("--llm-concurrency", type=int, default=16, help="concurrency of the main LLM run")
    parser.add_argument("--repeat", type=int, default=2, help="floor/pipeline runs at --rows (best kept)")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip", nargs="*", default=[], choices=["pipeline", "llm", "events", "hub", "ingest"])
    parser.add_argument("--ingest-rows", type=int, default=200_000, help="rows of the ingestion benchmark")
    parser.add_argument("--hub-users", type=int, default=10, help="logged-in users of the hub benchmark")
    parser.add_argument("--out", type=Path, default=RESULTS_DIR / "latest.json")
    args = parser.parse_args(argv)

    started = time.perf_counter()
    sections: list[Section] = []

    def done(section: Section) -> None:
        sections.append(section)
        print(section.render(), flush=True)
        print(flush=True)

    with tempfile.TemporaryDirectory(prefix="dallosh-bench-") as tmp:
        work = Path(tmp)
        if "pipeline" not in args.skip:
            done(bench_pipeline.run(args.rows, seed=args.seed, repeat=args.repeat, workdir=work))
        if "llm" not in args.skip:
            done(bench_llm.run(args.rows, sweep_rows=args.sweep_rows, concurrency=args.llm_concurrency,
                               seed=args.seed, workdir=work))
        if "events" not in args.skip:
            done(bench_events.run(args.events, rate=args.rate))
        if "hub" not in args.skip:
            done(bench_hub.run(args.hub_users))
        if "ingest" not in args.skip:
            done(bench_ingest.run(args.ingest_rows, seed=args.seed, workdir=work))
        if args.large:
            for old in work.glob("*.csv"):
                old.unlink()  # free /tmp space before the 1M-row files
            done(bench_pipeline.run_large(args.large_rows, seed=args.seed, workdir=work))
            if "ingest" not in args.skip:
                for old in work.glob("*.csv"):
                    old.unlink()
                done(bench_ingest.run_file(1.0, seed=args.seed, workdir=work))
    elapsed = time.perf_counter() - started
    print(_summary(sections, elapsed))
    path = save_json(sections, args.out, {"argv": sys.argv[1:], "elapsed_s": round(elapsed, 1)})
    print(f"\nwrote {path}")
    return 0 if all(t["met"] for s in sections for t in s.targets) else 1


if __name__ == "__main__":
    raise SystemExit(main())
