"""What every pipeline step shares: the ``Run`` it works on and the step registry.

A step is a function ``step(run) -> stats`` registered with ``@step("name")``. It must be idempotent and
resumable: it reads its predecessor's persisted output (or the in-memory copy kept for this run) and writes its
own output atomically, so ``retry_step`` can start at any step. ``run.check()`` is the pause/stop point; steps
call it at their boundaries (``sending_to_llm`` after every page).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from dallosh.cleaning import Removals
from dallosh.datasets import read_dataset
from dallosh.defaults import HYBRID_THRESHOLD_DEFAULT
from dallosh.llm.base import Provider

StepFunction = Callable[["Run"], dict[str, Any]]
#: name → function; the runner runs them in the lifecycle's STEPS order (completeness checked in __init__).
STEP_FUNCTIONS: dict[str, StepFunction] = {}


def step(name: str) -> Callable[[StepFunction], StepFunction]:
    """Register a pipeline step under its lifecycle name."""

    def register(fn: StepFunction) -> StepFunction:
        STEP_FUNCTIONS[name] = fn
        return fn

    return register


class Interrupted(Exception):  # noqa: N818 - a control-flow signal, not an error
    """Raised by ``Run.check`` when the task was paused or stopped; the runner exits cleanly."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(reason)


def _never_interrupted() -> None:
    return None


def _ignore(event: str, details: dict[str, Any]) -> None:
    return None


@dataclass
class Run:
    """One execution of the pipeline over one dataset (queued task or ``dallosh process``)."""

    source: Path  # the stored original (UTF-8, comma-separated)
    cleaned: Path
    analysed: Path
    checkpoints: Path  # a folder private to this dataset: page labels, plan, staging output
    topics: list[str]
    operator_accounts: list[str]
    #: Providers in fallback order (built-in last); called once, lazily, when labelling starts.
    providers: Callable[[], list[Provider]]
    #: ``report(event, details)``: progress inside a step (pages); the runner reports step starts and ends.
    report: Callable[[str, dict[str, Any]], None] = _ignore
    #: Raises Interrupted when the task should stop at this boundary.
    check: Callable[[], None] = _never_interrupted
    #: Rows whose built-in confidence reaches this keep the built-in labels (the AI setting hybrid_threshold).
    hybrid_threshold: float = HYBRID_THRESHOLD_DEFAULT
    #: Frames handed from one step to the next within the same run (saves re-reading files).
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)
    #: The rows cleaning removes from ``frames["source"]``, when the upload's inspection already found them
    #: (``dallosh process`` hands both over; the queued worker reads the stored file and finds them itself).
    source_removals: Removals | None = None

    def frame(self, name: str, path: Path) -> pd.DataFrame:
        """The step output ``name``: from memory if this run produced it, else from its persisted file."""
        if name not in self.frames:
            self.frames[name] = read_dataset(path)
        return self.frames[name]

    @property
    def staging(self) -> Path:
        """The analysed output before ``saving_file`` publishes it."""
        return self.checkpoints / "analysed.csv"


class Timer:
    def __init__(self) -> None:
        self.start = time.perf_counter()

    @property
    def seconds(self) -> float:
        return round(time.perf_counter() - self.start, 3)
