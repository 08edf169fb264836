"""Helpers shared by the benchmarks: synthetic datasets in a temp dir, measured child processes, result tables.

Every measured pipeline run happens in a fresh child process (``bench/_child.py``) that reports its own peak RSS
(``VmHWM``), so the dataset generator and the benchmark driver never count towards the pipeline's memory.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

BENCH_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = BENCH_DIR.parent
PYTHON = sys.executable
RESULTS_DIR = BENCH_DIR / "results"


def child_env(**extra: str) -> dict[str, str]:
    """The environment for child processes: the project root importable (for ``tests.mocking``)."""
    env = {**os.environ, **extra}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH", "")) if p)
    return env


def generate_dataset(rows: int, directory: Path, seed: int = 0) -> tuple[Path, float]:
    """Write a synthetic export with the project's generator, in its own process; returns (path, seconds).

    A file already generated in ``directory`` for the same rows/seed is reused (0 seconds).
    """
    path = Path(directory) / f"tweets-{rows}-seed{seed}.csv"
    if path.exists():
        return path, 0.0
    start = time.perf_counter()
    subprocess.run([PYTHON, "-m", "tools.synthetic", str(rows), str(path), "--seed", str(seed)],
                   check=True, capture_output=True, cwd=PROJECT_ROOT, env=child_env())
    return path, time.perf_counter() - start


def run_child(*args: str, timeout: float | None = None) -> dict[str, Any]:
    """Run ``bench/_child.py ARGS`` and return its JSON result plus ``process_wall_s`` (interpreter included)."""
    start = time.perf_counter()
    proc = subprocess.run([PYTHON, str(BENCH_DIR / "_child.py"), *args], capture_output=True, text=True,
                          cwd=PROJECT_ROOT, env=child_env(), timeout=timeout)
    wall = time.perf_counter() - start
    if proc.returncode != 0:
        raise RuntimeError(f"bench child {args[0]} failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(wall, 3)
    return result


def seconds(fn: Callable[[], Any]) -> tuple[Any, float]:
    """``fn()``'s result and how long it took (s, 3 decimals)."""
    started = time.perf_counter()
    result = fn()
    return result, round(time.perf_counter() - started, 3)


def load_average() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:
        return []


def machine() -> dict[str, Any]:
    import pandas as pd

    return {"cpus": os.cpu_count(), "python": platform.python_version(), "pandas": pd.__version__,
            "platform": platform.platform(), "load_average": load_average()}


@dataclass
class Section:
    """One benchmark's numbers: metrics (for JSON), display lines (for the table), targets and notes."""

    key: str
    title: str
    metrics: dict[str, Any] = field(default_factory=dict)
    lines: list[tuple[str, str]] = field(default_factory=list)
    targets: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, key: str, label: str, value: Any, fmt: str = "{}") -> None:
        self.metrics[key] = value
        self.lines.append((label, fmt.format(value)))

    def line(self, label: str, text: str) -> None:
        """A display-only line (its numbers are already in ``metrics``)."""
        self.lines.append((label, text))

    def target(self, what: str, value: str, met: bool) -> None:
        self.targets.append({"target": what, "value": value, "met": bool(met)})

    def to_json(self) -> dict[str, Any]:
        return {"title": self.title, "metrics": self.metrics, "targets": self.targets, "notes": self.notes}

    def render(self) -> str:
        width = max([len(label) for label, _ in self.lines] + [len(t["target"]) for t in self.targets] + [20])
        out = [f"== {self.title} =="]
        out += [f"  {label:<{width}}  {text}" for label, text in self.lines]
        for t in self.targets:
            out.append(f"  {'MET ' if t['met'] else 'MISS'} {t['target']:<{width - 5}}  {t['value']}")
        out += [f"  note: {n}" for n in self.notes]
        return "\n".join(out)


def print_sections(sections: list[Section]) -> None:
    for section in sections:
        print(section.render())
        print()


def save_json(sections: list[Section], path: Path, extra: dict[str, Any] | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"created": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "machine": machine(), **(extra or {}),
            "benchmarks": {s.key: s.to_json() for s in sections}}
    path.write_text(json.dumps(data, indent=2, default=str) + "\n")
    return path


def report(sections: list[Section], name: str) -> Path:
    """Print the sections and save them as ``bench/results/<name>``; says where (the tail of every benchmark)."""
    print_sections(sections)
    path = save_json(sections, RESULTS_DIR / name)
    print(f"results: {path.relative_to(PROJECT_ROOT)}")
    return path


def pace_events(publisher: Any, file_id: str, count: int, rate: float, phase: str) -> list[float]:
    """Publish ``count`` events at ``rate``/s; returns how long each publish call took (s)."""
    from dallosh.events import make_message

    took = []
    start = time.perf_counter()
    for seq in range(count):
        delay = start + seq / rate - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        message = make_message(file_id, "bench-task", "bench", phase=phase, seq=seq)
        message["sent"] = time.perf_counter()
        if not publisher.publish_event(message):
            raise RuntimeError("the broker did not accept an event (is RabbitMQ running on localhost:5672?)")
        took.append(time.perf_counter() - message["sent"])
    return took


@contextmanager
def private_database(base: Path, database: str, **extra: str) -> Iterator[dict[str, str]]:
    """A private nx-27017 server and storage under ``base`` for one benchmark: yields the environment that points
    the app at them (plus ``extra``), and stops the server afterwards."""
    from dallosh.db.embedded import spawn_embedded, terminate, wait_until_answers
    from tests.integration.ui.harness import free_port

    port = free_port()
    proc = spawn_embedded(port, base / "nx", base / "nx.log")
    env = {"DALLOSH_MONGODB_URI": f"mongodb://127.0.0.1:{port}", "DALLOSH_MONGODB_DATABASE": database,
           "DALLOSH_STORAGE_ROOT": str(base / "storage"), "DALLOSH_EMBEDDED_DB": "never", **extra}
    try:
        wait_until_answers(env["DALLOSH_MONGODB_URI"], proc=proc)
        yield env
    finally:
        terminate(proc.pid)
