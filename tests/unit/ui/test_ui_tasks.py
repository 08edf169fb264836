"""The tasks view's helpers: step checklist states and events read as sentences.

The view itself, on the real services, is tested in ``tests/integration/ui/test_ui_tasks.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from dallosh.schemas import TaskData
from dallosh.ui.tasks import describe_event, step_models, step_states, step_title


def test_step_states_follow_the_task():
    data = TaskData(file_id="f", file_path="datasets/f.csv")
    assert [s.state for s in step_states(data)] == ["pending"] * 5
    data.status, data.last_completed_step = "sending_to_llm", "process_cleaning"
    data.progress = {"step": "sending_to_llm", "page": 3, "pages": 4, "rows_labelled": 1500, "model": "builtin"}
    states = step_states(data)
    assert [s.state for s in states] == ["done", "done", "running", "pending", "pending"]
    assert states[2].progress == 0.75 and states[2].note == "page 3 of 4 · 1\u202f500 texts"
    assert step_title("sending_to_llm", step_models(data)) == "Labelling (built-in analyzer)"  # what runs now
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
    assert describe_event("sending_to_llm", {"page": 2, "model": "openai:llama", "fallback_to": "builtin",
                                             "error": "rate limited (HTTP 429)"}) \
        == ("Page 2: the AI model llama could not label some texts (rate limited (HTTP 429)); the built-in analyzer "
            "labels them instead")
    assert describe_event("on_error", {"step": "process_cleaning", "error": "Boom."}).endswith("Boom.")
    assert "1\u202f200 rows read" in describe_event("reading_dataset", {"phase": "done", "rows_read": 1200})
    assert describe_event("paused", {"phase": "checkpointed", "page": 3, "pages": 9, "step": "sending_to_llm"}) \
        == "Paused at page 3 of 9 (labelling)"




def test_the_labelling_step_is_named_after_what_labelled():
    data = TaskData(file_id="f", file_path="datasets/f.csv")
    assert step_title("sending_to_llm", step_models(data)) == "Labelling"  # nothing ran yet
    assert step_title("process_cleaning", ["builtin"]) == "Cleaning"  # only the labelling step names a model
    data.stats = {"sending_to_llm": {"models": ["builtin", "rule:operator"],
                                     "texts_by_model": {"builtin": 40, "rule:operator": 3}}}
    assert step_title("sending_to_llm", step_models(data)) == "Labelling (built-in analyzer)"
    data.stats["sending_to_llm"]["texts_by_model"] = {"builtin": 2, "openai:gemma3": 38, "rule:retweet": 5}
    assert step_title("sending_to_llm", step_models(data)) == "Labelling (AI model gemma3 + built-in analyzer)"
    data.stats = {}
    data.progress = {"step": "sending_to_llm", "page": 1, "pages": 2, "model": "ollama:mistral",
                     "models": {"ollama:mistral": 9, "builtin": 1}}
    assert step_title("sending_to_llm", step_models(data)) == "Labelling (AI model mistral + built-in analyzer)"
    for text in (step_title("sending_to_llm", step_models(data)), describe_event("sending_to_llm", data.progress)):
        assert "llm" not in text.lower()


def test_finished_steps_say_how_long_they_took():
    data = TaskData(file_id="f", file_path="datasets/f.csv", status="done", last_completed_step="saving_file")
    data.stats = {"reading_dataset": {"rows_read": 1200, "duration_s": 0.4},
                  "process_cleaning": {"rows_out": 1100, "removed": {"duplicates": 100}, "duration_s": 3.2},
                  "sending_to_llm": {"distinct_texts": 900, "pages": 2, "duration_s": 185.0},
                  "appending_columns": {"rows": 1100}}  # written before durations were kept: no time shown
    notes = [s.note.replace("\u00a0", " ") for s in step_states(data)]  # a duration's spaces do not break
    assert notes[0] == "1\u202f200 rows read · took < 1 s"
    assert notes[1] == "1\u202f100 rows kept, 100 removed · took 3 s"
    assert notes[2] == "900 texts in 2 page(s) · took 3 min 05 s"
    assert notes[3] == "labels added to 1\u202f100 rows"
    assert describe_event("process_cleaning", {"phase": "done", **data.stats["process_cleaning"]}) \
        == "Cleaning done: 1\u202f100 rows kept, 100 removed · took\u00a03\u00a0s"


def test_a_running_step_shows_the_time_left_once_it_means_something():
    t0 = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)
    data = TaskData(file_id="f", file_path="datasets/f.csv", status="sending_to_llm",
                    last_completed_step="process_cleaning")
    data.progress = {"step": "sending_to_llm", "page": 2, "pages": 10, "rows_labelled": 1000}
    events = [(t0, "sending_to_llm", {"phase": "started"}),
              ((t0 + timedelta(seconds=10)).isoformat(), "sending_to_llm", {"page": 1, "pages": 10}),
              ((t0 + timedelta(seconds=20)).isoformat(), "sending_to_llm", {"page": 2, "pages": 10})]
    now = (t0 + timedelta(seconds=20)).timestamp()
    assert step_states(data, events, now=now)[2].note \
        == "page 2 of 10 · 1\u202f000 texts · about 1\u00a0min\u00a020\u00a0s left"
    # too early to tell: 1 page of 40 (2.5 %) after 3 s
    early = [events[0], ((t0 + timedelta(seconds=3)).isoformat(), "sending_to_llm", {"page": 1, "pages": 40})]
    data.progress = {"step": "sending_to_llm", "page": 1, "pages": 40, "rows_labelled": 500}
    assert step_states(data, early, now=(t0 + timedelta(seconds=3)).timestamp())[2].note \
        == "page 1 of 40 · 500 texts"  # 2.5 % in 3 s: no estimate yet
    # without events (a task opened without its history) there is no estimate either, never a wrong one
    data.progress = {"step": "sending_to_llm", "page": 2, "pages": 10, "rows_labelled": 1000}
    assert step_states(data, (), now=now)[2].note == "page 2 of 10 · 1\u202f000 texts"


def test_stops_and_results_read_without_internals():
    assert describe_event("stopped", {"phase": "requested", "job": "stop sent"}) \
        == "Stopped: the running step was interrupted"
    assert describe_event("stopped", {"phase": "requested", "job": "job gone"}) == "Stopped"
    assert describe_event("done", {"rows": 900, "models": ["builtin", "rule:operator"]}) \
        == "Done: 900 rows analysed by the built-in analyzer"
    assert describe_event("reading_dataset", {"phase": "started", "worker": "host-7.internal"}) \
        == "Reading the file started"
