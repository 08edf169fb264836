"""Runs the registered steps in lifecycle order from a given step; shared by the RQ job and ``dallosh process``."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from typing import Any

from dallosh.lifecycle import STEPS
from dallosh.pipeline.base import STEP_FUNCTIONS, Run


def _noop(*args: Any) -> None:
    return None


def run_steps(run: Run, first: str | None = None, *,
              on_start: Callable[[str], None] = _noop,
              on_done: Callable[[str, dict[str, Any]], None] = _noop) -> dict[str, dict[str, Any]]:
    """Run steps from ``first`` (default: the first) to the end; returns each step's stats.

    Starting from the first step discards earlier checkpoints, so reprocessing a dataset really relabels it.
    Interrupted and step errors propagate to the caller, which records them.
    """
    first = first or STEPS[0]
    if first == STEPS[0] and run.checkpoints.exists():
        shutil.rmtree(run.checkpoints)
    run.checkpoints.mkdir(parents=True, exist_ok=True)
    results: dict[str, dict[str, Any]] = {}
    for name in STEPS[STEPS.index(first):]:
        run.check()
        on_start(name)
        results[name] = STEP_FUNCTIONS[name](run)
        on_done(name, results[name])
    return results
