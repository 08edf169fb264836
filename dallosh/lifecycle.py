"""The task lifecycle (DESIGN.md §5): status names, pipeline steps and the legal transitions between them.

Pure data and functions, shared by the tasks service (which enforces transitions atomically in the database),
the worker, the events and the UI (which enables only legal buttons).
"""

from __future__ import annotations

from typing import Literal

#: The pipeline steps in order; each is also a status while it runs.
STEPS: tuple[str, ...] = ("reading_dataset", "process_cleaning", "sending_to_llm", "appending_columns", "saving_file")

Status = Literal[
    "added", "in_queue", "reading_dataset", "process_cleaning", "sending_to_llm", "appending_columns",
    "saving_file", "done", "on_error", "retry_step", "paused", "resumed", "stopped",
]
STATUSES: tuple[str, ...] = (
    "added", "in_queue", *STEPS, "done", "on_error", "retry_step", "paused", "resumed", "stopped",
)
#: States in which a worker is (or is about to be) processing the task.
ACTIVE: frozenset[str] = frozenset({"in_queue", "retry_step", "resumed", *STEPS})
#: States a task can rest in without a worker.
RESTING: frozenset[str] = frozenset({"added", "done", "on_error", "paused", "stopped"})

_WAITING = ("in_queue", "retry_step", "resumed")  # queued again, waiting for a worker

TRANSITIONS: dict[str, frozenset[str]] = {
    "added": frozenset({"in_queue"}),
    # A worker may start at any step: it resumes from the task's checkpoint.
    **{w: frozenset({*STEPS, "paused", "stopped", "on_error"}) for w in _WAITING},
    **{
        step: frozenset({nxt, step, "paused", "stopped", "on_error"})
        for step, nxt in zip(STEPS, (*STEPS[1:], "done"), strict=True)
    },
    "on_error": frozenset({"retry_step", "stopped"}),
    "paused": frozenset({"resumed", "stopped"}),
    "stopped": frozenset({"in_queue"}),  # start again from the checkpoint
    "done": frozenset({"in_queue"}),  # reprocess (e.g. after changing the AI settings)
}

#: What a user may ask for, and the statuses from which it is legal (used to enable buttons).
ACTIONS: dict[str, tuple[str, frozenset[str]]] = {
    "start": ("in_queue", frozenset({"added", "stopped", "done"})),
    "pause": ("paused", frozenset({"in_queue", "retry_step", "resumed", *STEPS})),
    "resume": ("resumed", frozenset({"paused"})),
    "stop": ("stopped", frozenset({"in_queue", "retry_step", "resumed", "paused", "on_error", *STEPS})),
    "retry": ("retry_step", frozenset({"on_error"})),
}


#: Statuses and steps in the analysts' words: messages and screens never show the code's names ("sending_to_llm").
STATUS_WORDS: dict[str, str] = {
    "in_queue": "in queue", "on_error": "error", "reading_dataset": "reading the file",
    "process_cleaning": "cleaning", "sending_to_llm": "labelling", "appending_columns": "adding labels",
    "saving_file": "saving",
}


def status_words(status: str) -> str:
    """A status as a message says it: ``sending_to_llm`` → "labelling", ``in_queue`` → "in queue"."""
    return STATUS_WORDS.get(status, status.replace("_", " "))


def can_transition(current: str, new: str) -> bool:
    return new in TRANSITIONS.get(current, frozenset())


def sources_of(new: str) -> list[str]:
    """Every status from which ``new`` may be reached (the atomic update's filter)."""
    return sorted(s for s, targets in TRANSITIONS.items() if new in targets)


def allowed_actions(status: str) -> list[str]:
    """User actions legal from ``status``, in display order."""
    return [name for name, (_, sources) in ACTIONS.items() if status in sources]


def next_step(last_completed: str | None) -> str | None:
    """The step to run after ``last_completed`` (None → first step; after the last step → None)."""
    if last_completed is None:
        return STEPS[0]
    index = STEPS.index(last_completed)
    return STEPS[index + 1] if index + 1 < len(STEPS) else None
