"""Ingestion benchmark: the upload preview (inspect + stored copy) and the whole processing, against the floor.

For 200k rows (default) and for a 1 GB file generated at bench time, each measured in a fresh child process
(``bench/_child.py``), so each peak RSS is that work's alone:

- floor: pandas ``read_csv`` (every cell as text) + ``to_csv`` of the same file, the least a CSV→CSV job costs;
- inspect: ``inspect_csv`` + ``write_normalised``, what adding a dataset costs (the preview's checks, the counts
  cleaning will report, the stored copy); also on an Excel-FR copy of the 200k file (Windows-1252, semicolons,
  CRLF), which takes the decoding and rewriting path;
- pipeline: what ``dallosh process`` does (inspect, then every step with the built-in analyzer).

    .venv/bin/python bench/bench_ingest.py [--rows 200000] [--gb 1.0] [--no-gb]
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

from _common import Section, generate_dataset, load_average, print_sections, run_child

#: Bytes per row of the synthetic export (33.4 MB for 100k rows), to size the 1 GB file.
BYTES_PER_ROW = 334
#: Rows generated per process for the large file (the generator holds its frame in memory).
_CHUNK_ROWS = 400_000


def _excel_fr_copy(dataset: Path, work: Path) -> Path:
    """The same export as Excel FR saves it: Windows-1252, semicolons, CRLF (emoji become '?')."""
    import pandas as pd

    target = work / f"{dataset.stem}-excel-fr.csv"
    frame = pd.read_csv(dataset, dtype=str, keep_default_na=False)
    frame.to_csv(target, sep=";", index=False, encoding="cp1252", errors="replace", lineterminator="\r\n")
    return target


def _measure(section: Section, dataset: Path, work: Path, *, floor: dict | None = None, prefix: str = "") -> dict:
    """Floor (unless given: the Excel-FR copy is compared with its original's), inspection, and processing when
    the floor is measured here. Returns the floor."""
    size_mib = dataset.stat().st_size / 2**20
    pipeline = floor is None
    inspect = run_child("inspect", str(dataset), str(work / "stored.csv"))
    section.add(f"{prefix}input_mib", f"{prefix}input CSV", round(size_mib, 1), "{} MB")
    section.add(f"{prefix}rows", f"{prefix}rows", inspect["rows"], "{:,}")
    if floor is None:
        floor = run_child("floor", str(dataset), str(work / "floor.csv"))
        section.add(f"{prefix}floor_s", f"{prefix}floor: read_csv + to_csv", floor["total_s"], "{:.2f} s")
        section.line("", f"(read {floor['read_s']:.2f} s, write {floor['write_s']:.2f} s, peak RSS "
                         f"{floor['peak_rss_mb']:.0f} MiB)")
        section.metrics[f"{prefix}floor_peak_rss_mb"] = floor["peak_rss_mb"]
    section.add(f"{prefix}inspect_s", f"{prefix}inspect + stored copy", inspect["total_s"], "{:.2f} s")
    section.line("", f"(inspect {inspect['inspect_s']:.2f} s, stored copy {inspect['store_s']:.2f} s, "
                     f"{'the upload itself' if inspect['stored_as_is'] else 'rewritten'}, {inspect['encoding']})")
    section.add(f"{prefix}inspect_peak_rss_mb", f"{prefix}inspect peak RSS", inspect["peak_rss_mb"], "{:.0f} MiB")
    section.add(f"{prefix}inspect_ratio", f"{prefix}inspect / floor", round(inspect["total_s"] / floor["total_s"], 2),
                "{:.2f}×")
    if not pipeline:
        return floor
    pipe = run_child("pipeline", str(dataset), str(work / "analysed.csv"))
    section.add(f"{prefix}pipeline_s", f"{prefix}processing (dallosh process)", pipe["total_s"], "{:.2f} s")
    section.line("", "(" + ", ".join(f"{k} {v:.2f} s" for k, v in
                                      {"ingest": pipe["ingest_s"], **pipe["step_durations"]}.items()) + ")")
    section.add(f"{prefix}pipeline_peak_rss_mb", f"{prefix}processing peak RSS", pipe["peak_rss_mb"], "{:.0f} MiB")
    section.add(f"{prefix}pipeline_ratio", f"{prefix}processing / floor", round(pipe["total_s"] / floor["total_s"], 2),
                "{:.2f}×")
    return floor


def run(rows: int = 200_000, *, seed: int = 0, workdir: Path | None = None) -> Section:
    """200k rows (default): inspection and processing vs the floor; the Excel-FR copy's inspection too."""
    section = Section("ingest", f"Ingestion ({rows:,} rows)")
    with tempfile.TemporaryDirectory(prefix="dallosh-bench-") as tmp:
        work = Path(workdir or tmp)
        dataset, gen_s = generate_dataset(rows, work, seed)
        section.metrics.update(seed=seed, generate_s=round(gen_s, 2), load_average_before=load_average())
        floor = _measure(section, dataset, work)
        _measure(section, _excel_fr_copy(dataset, work), work, floor=floor, prefix="excel_fr_")
    section.notes.append(f"load average before: {section.metrics['load_average_before']} on a shared 2-core box")
    return section


def _large_dataset(rows: int, work: Path, seed: int) -> tuple[Path, float]:
    """``rows`` synthetic rows, generated in chunks of different seeds and joined (bounded generator memory)."""
    started = time.perf_counter()
    target = work / f"tweets-{rows}-large-seed{seed}.csv"
    with open(target, "wb") as out:
        for k, start in enumerate(range(0, rows, _CHUNK_ROWS)):
            part, _ = generate_dataset(min(_CHUNK_ROWS, rows - start), work, seed * 1000 + k)
            with open(part, "rb") as src:
                if k:
                    src.readline()  # one header for the whole file
                shutil.copyfileobj(src, out, 16 * 2**20)
            part.unlink()
    return target, time.perf_counter() - started


def run_file(gigabytes: float = 1.0, *, seed: int = 0, workdir: Path | None = None) -> Section:
    """A file of ``gigabytes`` GB (1024³ bytes), generated in a temp dir, through inspection and processing."""
    rows = int(gigabytes * 2**30 / BYTES_PER_ROW)
    section = Section("ingest_file", f"Ingestion, {gigabytes:g} GB file ({rows:,} rows)")
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="dallosh-bench-") as tmp:
        work = Path(workdir or tmp)
        dataset, gen_s = _large_dataset(rows, work, seed)
        section.metrics.update(seed=seed, generate_s=round(gen_s, 1), load_average_before=load_average())
        section.line("generate dataset", f"{gen_s:.1f} s")
        _measure(section, dataset, work)
    section.add("bench_wall_s", "whole benchmark (generate + runs)", round(time.perf_counter() - started, 1),
                "{:.1f} s")
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--gb", type=float, default=1.0, help="size of the large file, in GB")
    parser.add_argument("--no-gb", action="store_true", help="skip the large file")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    sections = [run(args.rows, seed=args.seed)]
    if not args.no_gb:
        sections.append(run_file(args.gb, seed=args.seed))
    print_sections(sections)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
