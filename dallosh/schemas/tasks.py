from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from dallosh.errors import ValidationError
from dallosh.lifecycle import STATUSES, STEPS


@dataclass
class TaskData:
    file_id: str
    file_path: str
    status: str = "added"
    filename: str = ""
    #: Last pipeline step whose output is persisted; the worker resumes after it.
    last_completed_step: str | None = None
    error: str | None = None
    #: Live progress: {"step": ..., "page": k, "pages": n, "rows_labelled": ...}.
    progress: dict[str, Any] = field(default_factory=dict)
    #: Per-step results (counts, durations, models used), keyed by step name.
    stats: dict[str, Any] = field(default_factory=dict)
    #: RQ job id of the current run, so stop can reach the right work-horse.
    job_id: str | None = None
    #: Monotonic run counter: events and checkpoints from an older run are ignored.
    run: int = 0

    def check(self, path: str) -> None:
        if self.status not in STATUSES:
            raise ValidationError(f"{path}.status", f"unknown status {self.status!r}")
        if self.last_completed_step is not None and self.last_completed_step not in STEPS:
            raise ValidationError(f"{path}.last_completed_step", f"unknown step {self.last_completed_step!r}")
