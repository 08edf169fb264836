"""One measured piece of work in a fresh process; prints a single JSON line (used by the benchmarks).

A fresh process means the reported peak RSS (``VmHWM``: the high-water mark of this process image) is this work's
alone, not the dataset generator's or the driver's.

    python bench/_child.py floor SRC OUT
    python bench/_child.py pipeline SRC OUT [--model builtin|openai:URL|ollama:URL] [--concurrency N]
                                            [--page-size N]
    python bench/_child.py steps SRC OUT [same options]
    python bench/_child.py inspect SRC OUT

``floor``: pandas ``read_csv`` (every cell as text, as the app reads) + ``to_csv`` of the same file: the least
any CSV-in/CSV-out pipeline must pay. ``pipeline``: exactly what ``dallosh process`` does (dallosh/cli.py
``cmd_process``): inspect + normalise the upload, then ``run_steps`` without queue or database. ``steps``: only
``run_steps`` on SRC (what the worker does with an already stored upload). ``inspect``: the upload preview and
the stored copy (``inspect_csv`` + ``write_normalised``), what adding a dataset costs.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any


def peak_rss_mb() -> float:
    """Peak resident memory of this process in MiB (VmHWM; ru_maxrss as a fallback)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def floor(src: Path, out: Path) -> dict[str, Any]:
    import pandas as pd

    start = time.perf_counter()
    frame = pd.read_csv(src, dtype=str, keep_default_na=False, engine="c")
    read = time.perf_counter()
    frame.to_csv(out, index=False)
    end = time.perf_counter()
    return {"rows": len(frame), "read_s": round(read - start, 3), "write_s": round(end - read, 3),
            "total_s": round(end - start, 3), "peak_rss_mb": peak_rss_mb()}


def inspect(src: Path, out: Path) -> dict[str, Any]:
    from dallosh.datasets import inspect_csv, write_normalised

    start = time.perf_counter()
    inspection = inspect_csv(src, src.name, max_bytes=4096 * 1024 * 1024)
    inspected = time.perf_counter()
    write_normalised(inspection, src, out)
    end = time.perf_counter()
    return {"rows": inspection.rows, "inspect_s": round(inspected - start, 3), "store_s": round(end - inspected, 3),
            "total_s": round(end - start, 3), "stored_as_is": inspection.stored_as_is,
            "encoding": inspection.encoding, "notes": len(inspection.warnings), "peak_rss_mb": peak_rss_mb()}


def _providers(model: str, concurrency: int, page_size: int, made: list):
    from dallosh.llm.builtin import BuiltinAnalyzer
    from dallosh.llm.models import ModelConfig
    from dallosh.llm.registry import build_provider

    def providers():
        if model == "builtin":
            made[:] = [BuiltinAnalyzer()]
        else:
            kind, _, url = model.partition(":")
            cfg = ModelConfig(uid="bench", model="fake-model", base_url=url, provider=kind,
                              kind="local" if kind == "ollama" else "external", concurrency=concurrency,
                              paginate_rows_limit=page_size)
            made[:] = [build_provider(cfg), BuiltinAnalyzer()]
        return list(made)

    return providers


def pipeline(src: Path, out: Path, model: str, concurrency: int, page_size: int,
             ingest: bool = True) -> dict[str, Any]:
    from dallosh.datasets import inspect_csv, write_normalised
    from dallosh.defaults import DEFAULT_OPERATOR_ACCOUNTS, DEFAULT_TOPICS
    from dallosh.pipeline import Run, run_steps

    made: list = []
    fallbacks: list[dict] = []

    def report(event: str, details: dict) -> None:
        if details.get("fallback_to"):
            fallbacks.append(details)

    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dallosh-bench-") as tmp:
        work = Path(tmp)
        frames, removals = {}, None
        if ingest:
            # As in cmd_process: the parsed upload is handed to the pipeline as its source frame.
            inspection = inspect_csv(src, src.name, max_bytes=4096 * 1024 * 1024)
            normalised = work / "source.csv"
            write_normalised(inspection, src, normalised)
            frames["source"], removals = inspection.frame, inspection.removals
            del inspection
        else:
            normalised = src  # the worker path: the stored upload is already UTF-8 with commas
        ingested = time.perf_counter()
        run = Run(source=normalised, cleaned=work / "cleaned.csv", analysed=out, checkpoints=work / "checkpoints",
                  topics=list(DEFAULT_TOPICS), operator_accounts=list(DEFAULT_OPERATOR_ACCOUNTS),
                  providers=_providers(model, concurrency, page_size, made), report=report, frames=frames,
                  source_removals=removals)
        steps = run_steps(run)
        end = time.perf_counter()
    llm = made[0] if made and model != "builtin" else None
    return {
        "rows": steps["reading_dataset"]["rows_read"],
        "ingest_s": round(ingested - start, 3),
        "steps_s": round(end - ingested, 3),
        "total_s": round(end - start, 3),
        "step_durations": {name: stats.get("duration_s") for name, stats in steps.items()},
        "rows_cleaned": steps["process_cleaning"]["rows_out"],
        "distinct_texts": steps["sending_to_llm"]["distinct_texts"],
        "pages": steps["sending_to_llm"]["pages"],
        "page_size": steps["sending_to_llm"]["page_size"],
        "labelled_by": steps["appending_columns"]["labelled_by"],
        "requests": getattr(llm, "requests_made", 0),
        "retries": getattr(llm, "retries", 0),
        "fallbacks": len(fallbacks),
        "output_mb": round(out.stat().st_size / 1e6, 1),
        "peak_rss_mb": peak_rss_mb(),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("mode", choices=["floor", "pipeline", "steps", "inspect"])
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    parser.add_argument("--model", default="builtin")
    parser.add_argument("--concurrency", type=int, default=1)
    parser.add_argument("--page-size", type=int, default=500)
    args = parser.parse_args(argv)
    if args.mode == "floor":
        result = floor(args.src, args.out)
    elif args.mode == "inspect":
        result = inspect(args.src, args.out)
    else:
        result = pipeline(args.src, args.out, args.model, args.concurrency, args.page_size,
                          ingest=args.mode == "pipeline")
    sys.stdout.write(json.dumps(result) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
