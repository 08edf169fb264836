"""The tasks view's helpers: step checklist states and events read as sentences.

The view itself, on the real services, is tested in ``tests/integration/ui/test_ui_tasks.py``.
"""

from __future__ import annotations

from dallosh.schemas import TaskData
from dallosh.ui.tasks import describe_event, step_states


def test_step_states_follow_the_task():
    data = TaskData(file_id="f", file_path="datasets/f.csv")
    assert [s.state for s in step_states(data)] == ["pending"] * 5
    data.status, data.last_completed_step = "sending_to_llm", "process_cleaning"
    data.progress = {"step": "sending_to_llm", "page": 3, "pages": 4, "rows_labelled": 1500, "model": "builtin"}
    states = step_states(data)
    assert [s.state for s in states] == ["done", "done", "running", "pending", "pending"]
    assert states[2].progress == 0.75 and "page 3 of 4" in states[2].note and "builtin" in states[2].note
    data.status = "paused"
    assert step_states(data)[2].state == "paused" and step_states(data)[2].progress == 0.75
    data.status = "on_error"
    assert step_states(data)[2].state == "failed"
    data.status = "retry_step"
    assert step_states(data)[2].state == "waiting"
    data.status, data.last_completed_step = "done", "saving_file"
    assert all(s.state == "done" and s.progress == 1 for s in step_states(data))
    # between two steps: the finished step stays done
    data.status, data.last_completed_step = "reading_dataset", "reading_dataset"
    assert [s.state for s in step_states(data)][:2] == ["done", "pending"]


def test_events_read_as_sentences():
    assert describe_event("in_queue", {"phase": "requested"}) == "Start requested: waiting for a worker"
    assert "page 2 of 5" in describe_event("sending_to_llm", {"page": 2, "pages": 5, "model": "llama"})
    assert "falling back to builtin" in describe_event("sending_to_llm", {"page": 2, "model": "llama",
                                                                          "fallback_to": "builtin", "error": "429"})
    assert describe_event("on_error", {"step": "process_cleaning", "error": "Boom."}).endswith("Boom.")
    assert "1\u202f200 rows read" in describe_event("reading_dataset", {"phase": "done", "rows_read": 1200})
    assert describe_event("paused", {"phase": "checkpointed", "page": 3, "pages": 9, "step": "sending_to_llm"}) \
        == "Paused at page 3 of 9 (labelling)"


