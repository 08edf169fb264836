"""Pipeline through the fake LLM server with a fixed latency per request: request count, wall time, concurrency.

The server is the project's FakeLLMServer (behaviour ``slow``, 100 ms per chat request) in its own process; the
pipeline runs in a child process with an OpenAI-compatible provider (``--provider ollama`` for the Ollama
client). Measured:

- main run (``--rows``, default 100k, at ``--concurrency``, default 16): requests sent (counted by the provider
  and by the server), rows / distinct texts, wall time. Target (issue): requests ≤ rows/20 after dedupe, i.e.
  ≤ distinct texts / 20 (the pipeline labels each distinct cleaned text once).
- concurrency sweep (1, 4, 16) on a smaller dataset (``--sweep-rows``, default 20k) so that concurrency 1,
  which waits 100 ms per request in sequence, stays around a minute.

    .venv/bin/python bench/bench_llm.py [--rows 100000] [--sweep-rows 20000] [--latency 0.1]
"""

from __future__ import annotations

import argparse
import math
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import BENCH_DIR, PROJECT_ROOT, PYTHON, Section, child_env, generate_dataset, print_sections, run_child

from dallosh.defaults import PAGINATE_ROWS_DEFAULT, ROWS_PER_REQUEST

REQUESTS_DIVISOR = 20


class FakeServer:
    """Handle on the fake server process: ``url`` for the provider, ``count()`` of chat requests since last call."""

    def __init__(self, proc: subprocess.Popen, provider: str):
        self.proc = proc
        base = proc.stdout.readline().strip()
        if not base.startswith("http"):
            raise RuntimeError(f"fake LLM server did not start: {base!r} {proc.stderr.read()[-2000:]}")
        self.url = base if provider == "ollama" else f"{base}/v1"

    def count(self) -> int:
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())


@contextmanager
def fake_server(latency: float, provider: str, backlog: int = 128) -> Iterator[FakeServer]:
    proc = subprocess.Popen([PYTHON, str(BENCH_DIR / "_fake_llm.py"), "--latency", str(latency),
                             "--backlog", str(backlog)],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=PROJECT_ROOT, env=child_env())
    try:
        yield FakeServer(proc, provider)
    finally:
        proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _pipeline(server: FakeServer, dataset: Path, out: Path, provider: str, concurrency: int,
              page_size: int) -> dict:
    server.count()  # reset the server's record
    result = run_child("pipeline", str(dataset), str(out), "--model", f"{provider}:{server.url}",
                       "--concurrency", str(concurrency), "--page-size", str(page_size))
    result["server_requests"] = server.count()
    return result


def _page_bound(distinct: int, page_size: int, concurrency: int) -> int:
    """Latency waves when requests overlap only within a page (sending_to_llm labels one page at a time)."""
    waves = 0
    for start in range(0, distinct, page_size):
        chunks = math.ceil(min(page_size, distinct - start) / ROWS_PER_REQUEST)
        waves += math.ceil(chunks / concurrency)
    return waves


def run(rows: int = 100_000, *, sweep_rows: int = 20_000, concurrency: int = 16,
        sweep: tuple[int, ...] = (1, 4, 16), latency: float = 0.1, provider: str = "openai",
        page_size: int = PAGINATE_ROWS_DEFAULT, backlog: int = 128, seed: int = 0,
        workdir: Path | None = None) -> Section:
    section = Section("llm", f"Fake LLM server, {latency * 1000:.0f} ms per request ({provider} provider)")
    sweep_rows = min(sweep_rows, rows)
    section.metrics.update(rows=rows, sweep_rows=sweep_rows, latency_s=latency, provider=provider,
                           page_size=page_size, rows_per_request=ROWS_PER_REQUEST)
    with tempfile.TemporaryDirectory(prefix="dallosh-bench-") as tmp, fake_server(latency, provider, backlog) as server:
        work = Path(workdir or tmp)
        dataset, _ = generate_dataset(rows, work, seed)
        main = _pipeline(server, dataset, work / "llm-main.csv", provider, concurrency, page_size)
        sweep_set, _ = generate_dataset(sweep_rows, work, seed)
        runs = {}
        for c in sweep:
            if c == concurrency and sweep_rows == rows:
                runs[c] = main
            else:
                runs[c] = _pipeline(server, sweep_set, work / f"llm-c{c}.csv", provider, c, page_size)

    distinct, requests = main["distinct_texts"], main["requests"]
    section.line("main run", f"{rows:,} rows, concurrency {concurrency}, page size {page_size}, "
                 f"{ROWS_PER_REQUEST} rows/request")
    section.add("rows_cleaned", "rows after cleaning", main["rows_cleaned"], "{:,}")
    section.add("distinct_texts", "distinct texts (after dedupe)", distinct, "{:,}")
    section.add("requests", "chat requests (provider count)", requests, "{:,}")
    section.add("server_requests", "chat requests (server count)", main["server_requests"], "{:,}")
    section.add("retries", "retried requests", main["retries"])
    section.add("labelled_by", "labelled by", main["labelled_by"])
    section.add("wall_s", "pipeline end-to-end", main["total_s"], "{:.1f} s")
    section.add("sending_to_llm_s", "  sending_to_llm step", main["step_durations"]["sending_to_llm"], "{:.1f} s")
    ideal = math.ceil(requests / concurrency) * latency
    section.add("ideal_llm_s", "  ideal: requests / concurrency × latency", round(ideal, 1), "{:.1f} s")
    paged = _page_bound(distinct, page_size, concurrency) * latency
    section.add("page_bound_llm_s", "  ideal with page-at-a-time concurrency", round(paged, 1), "{:.1f} s")
    section.add("peak_rss_mb", "pipeline peak RSS", main["peak_rss_mb"], "{:.0f} MiB")

    sweep_out = {}
    base = runs[sweep[0]]["step_durations"]["sending_to_llm"]
    section.line("concurrency sweep", f"{sweep_rows:,} rows (smaller dataset so concurrency 1 stays short)")
    for c in sweep:
        r = runs[c]
        llm_s = r["step_durations"]["sending_to_llm"]
        sweep_out[c] = {"wall_s": r["total_s"], "sending_to_llm_s": llm_s, "requests": r["requests"],
                        "distinct_texts": r["distinct_texts"], "speedup": round(base / llm_s, 2),
                        "requests_per_s": round(r["requests"] / llm_s, 1), "peak_rss_mb": r["peak_rss_mb"]}
        section.line(f"  concurrency {c}", f"end-to-end {r['total_s']:.1f} s, sending_to_llm {llm_s:.1f} s "
                     f"({sweep_out[c]['speedup']:.1f}× vs {sweep[0]}), {r['requests']:,} requests, "
                     f"{sweep_out[c]['requests_per_s']:.0f} req/s")
    section.metrics["sweep"] = sweep_out

    limit = distinct / REQUESTS_DIVISOR
    section.target(f"requests ≤ distinct texts / {REQUESTS_DIVISOR}", f"{requests:,} ≤ {limit:,.0f}",
                   requests <= limit)
    section.target(f"requests ≤ rows / {REQUESTS_DIVISOR}", f"{requests:,} ≤ {rows / REQUESTS_DIVISOR:,.0f}",
                   requests <= rows / REQUESTS_DIVISOR)
    within_page = math.ceil(page_size / ROWS_PER_REQUEST)
    section.notes.append(f"requests run concurrently only within one page of {page_size} texts "
                         f"({within_page} requests), so concurrency above {within_page} cannot help and pages "
                         "wait for their slowest request")
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--sweep-rows", type=int, default=20_000)
    parser.add_argument("--concurrency", type=int, default=16, help="concurrency of the main run")
    parser.add_argument("--sweep", type=int, nargs="+", default=[1, 4, 16])
    parser.add_argument("--latency", type=float, default=0.1)
    parser.add_argument("--provider", choices=["openai", "ollama"], default="openai")
    parser.add_argument("--page-size", type=int, default=PAGINATE_ROWS_DEFAULT)
    parser.add_argument("--backlog", type=int, default=128, help="the fake server's listen backlog")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    print_sections([run(args.rows, sweep_rows=args.sweep_rows, concurrency=args.concurrency,
                        sweep=tuple(args.sweep), latency=args.latency, provider=args.provider,
                        page_size=args.page_size, backlog=args.backlog, seed=args.seed)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
