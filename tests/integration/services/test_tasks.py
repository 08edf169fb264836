from __future__ import annotations

import threading

import pytest

from dallosh.errors import Conflict, IllegalTransition, MaintenanceMode, NotFound
from dallosh.lifecycle import STEPS
from dallosh.services import SYSTEM
from tests.factories import make_csv


@pytest.fixture
def task(services, analyst):
    _, task = services.files.add(analyst, "a.csv", make_csv(3))
    return task


def test_user_actions_follow_the_lifecycle(services, analyst, task):
    dispatched = []
    services.tasks.dispatchers.append(lambda action, t: dispatched.append((action, t.data.status)))
    with pytest.raises(IllegalTransition, match="Cannot pause a task that is added"):
        services.tasks.request(analyst, task.uid, "pause")
    assert services.tasks.request(analyst, task.uid, "start").data.status == "in_queue"
    assert services.tasks.request(analyst, task.uid, "pause").data.status == "paused"
    with pytest.raises(IllegalTransition):
        services.tasks.request(analyst, task.uid, "start")
    assert services.tasks.request(analyst, task.uid, "resume").data.status == "resumed"
    assert services.tasks.request(analyst, task.uid, "stop").data.status == "stopped"
    assert services.tasks.request(analyst, task.uid, "start").data.run == 3
    assert dispatched == [("start", "in_queue"), ("pause", "paused"), ("resume", "resumed"), ("stop", "stopped"),
                          ("start", "in_queue")]
    with pytest.raises(IllegalTransition, match="Unknown action"):
        services.tasks.request(analyst, task.uid, "explode")


def test_worker_walks_the_steps_and_retry_after_error(services, analyst, task):
    services.tasks.request(analyst, task.uid, "start")
    for step in STEPS[:3]:
        services.tasks.transition(SYSTEM, task.uid, step)
    services.tasks.transition(SYSTEM, task.uid, "on_error", changes={"error": "LLM unreachable"})
    with pytest.raises(IllegalTransition):
        services.tasks.transition(SYSTEM, task.uid, "done")
    retried = services.tasks.request(analyst, task.uid, "retry")
    assert retried.data.status == "retry_step" and retried.data.error is None
    for step in STEPS[2:]:
        services.tasks.transition(SYSTEM, task.uid, step)
    assert services.tasks.transition(SYSTEM, task.uid, "done").data.status == "done"
    assert services.tasks.request(analyst, task.uid, "start").data.last_completed_step is None


def test_refusals_name_statuses_in_words(services, admin, analyst, task):
    services.tasks.request(analyst, task.uid, "start")
    with pytest.raises(IllegalTransition, match="Cannot start a task that is in queue"):  # positive control
        services.tasks.request(analyst, task.uid, "start")
    for step in STEPS[:3]:
        services.tasks.transition(SYSTEM, task.uid, step)
    with pytest.raises(IllegalTransition) as refused:
        services.tasks.request(analyst, task.uid, "start")
    assert "that is labelling" in str(refused.value) and "llm" not in str(refused.value).lower()
    with pytest.raises(Conflict) as busy:
        services.files.delete(admin, task.data.file_id)
    assert "(labelling)" in str(busy.value) and "_" not in str(busy.value)


def test_illegal_worker_transitions(services, analyst, task):
    with pytest.raises(IllegalTransition, match="cannot go to done"):
        services.tasks.transition(SYSTEM, task.uid, "done")
    with pytest.raises(IllegalTransition):
        services.tasks.transition(SYSTEM, task.uid, "reading_dataset")
    with pytest.raises(IllegalTransition):
        services.tasks.transition(SYSTEM, task.uid, "flying")
    with pytest.raises(NotFound):
        services.tasks.transition(SYSTEM, "missing", "in_queue")


def test_expect_guards_against_a_concurrent_pause(services, analyst, task):
    services.tasks.request(analyst, task.uid, "start")
    services.tasks.transition(SYSTEM, task.uid, "reading_dataset")
    services.tasks.request(analyst, task.uid, "pause")
    with pytest.raises(IllegalTransition):  # the worker must not move a paused task on
        services.tasks.transition(SYSTEM, task.uid, "process_cleaning", expect="reading_dataset")


def test_concurrent_starts_have_one_winner(services, analyst, task):
    results = []

    def start():
        try:
            services.tasks.request(analyst, task.uid, "start")
            results.append("ok")
        except IllegalTransition:
            results.append("refused")

    threads = [threading.Thread(target=start) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(results) == ["ok"] + ["refused"] * 5


def test_counts_and_list(services, analyst, task):
    services.files.add(analyst, "b.csv", make_csv(4))
    services.tasks.request(analyst, task.uid, "start")
    counts = services.tasks.counts_by_status(analyst)
    assert counts["in_queue"] == 1 and counts["added"] == 1 and counts["done"] == 0
    assert services.tasks.list(analyst, status="added").total == 1
    assert services.tasks.list(analyst).total == 2


def test_maintenance_blocks_starting(services, admin, analyst, task):
    services.settings.update_general(admin, isMaintenance=True)
    with pytest.raises(MaintenanceMode):
        services.tasks.request(analyst, task.uid, "start")
    assert services.tasks.get(analyst, task.uid).data.status == "added"


def test_progress_updates(services, analyst, task):
    services.tasks.update_progress(SYSTEM, task.uid, {"progress": {"page": 2, "pages": 5}})
    assert services.tasks.get(analyst, task.uid).data.progress == {"page": 2, "pages": 5}


def test_rows_analysed_counts_every_finished_task(services, admin):
    """The overview stopped at 10,000 finished tasks."""
    services.db.insert_many("tasks", [{"file_id": f"f{i}", "file_path": "", "filename": "x.csv", "status": "done",
                                        "stats": {"appending_columns": {"rows": 3}}} for i in range(10_020)],
                            by="system")
    services.db.insert_many("tasks", [{"file_id": "g", "file_path": "", "filename": "y.csv", "status": "on_error",
                                        "stats": {"appending_columns": {"rows": 1000}}}], by="system")
    assert services.tasks.rows_analysed(admin) == 30_060
    # a done task without the step's stats (marked done by hand) counts 0 and breaks nothing (it raised KeyError)
    services.db.insert_many("tasks", [{"file_id": "h", "file_path": "", "filename": "z.csv", "status": "done"}],
                            by="system")
    assert services.tasks.rows_analysed(admin) == 30_060


def test_labelling_summary_by_task_or_dataset(services, analyst, task):
    from dallosh.errors import NotFound as Missing

    empty = services.tasks.labelling(analyst, task.uid)
    assert empty["texts_by_model"] == {} and empty["complete"] is False and empty["rows_by_model"] is None
    running = services.tasks.transition(SYSTEM, task.uid, "in_queue")
    for details in ({"page": 1, "model": "openai:m", "fallback_used": True, "fallback_to": "builtin", "rows": 2,
                     "error": "server error (HTTP 500)"},
                    {"page": 1, "pages": 2, "models": {"openai:m": 8, "builtin": 2}, "kept": {"confident": 1}}):
        services.tasks.record_event(SYSTEM, running, "sending_to_llm", details)
    summary = services.tasks.labelling(analyst, file_id=task.data.file_id)
    assert summary["texts_by_model"] == {"openai:m": 8, "builtin": 2}
    assert summary["fallbacks"] == [{"model": "openai:m", "to": "builtin", "rows": 2,
                                     "reason": "server error (HTTP 500)"}]
    assert summary["kept_by_builtin"] == {"confident": 1} and summary["task_id"] == task.uid
    with pytest.raises(Missing):
        services.tasks.labelling(analyst, "missing")


def test_a_deleted_dataset_and_its_task_are_gone_in_words(services, analyst, task):
    assert services.files.get(analyst, task.data.file_id).data.filename == "a.csv"  # positive control
    services.files.delete(analyst, task.data.file_id)
    for call in (lambda: services.files.get(analyst, task.data.file_id), lambda: services.tasks.get(analyst, task.uid),
                 lambda: services.tasks.request(analyst, task.uid, "start")):
        with pytest.raises(NotFound) as gone:
            call()
        assert "no longer exists" in str(gone.value) and task.uid not in str(gone.value)
        assert task.data.file_id not in str(gone.value)
