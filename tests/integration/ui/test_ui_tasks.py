"""The tasks view: checklist, buttons enabled only for legal transitions, errors, maintenance, live events."""

from __future__ import annotations

from dallosh.lifecycle import STEPS
from dallosh.services import SYSTEM
from dallosh.ui.components import is_visible
from dallosh.ui.tasks import TasksView


def enabled(view: TasksView) -> set[str]:
    return {a for a, b in view.action_buttons.items() if not b.disabled}


def opened(ctx, actor, task_uid) -> TasksView:
    view = TasksView(ctx(actor))
    view.on_show(task_id=task_uid)
    return view


# -- the view ----------------------------------------------------------------------------------------------


def test_list_and_detail_show_the_task(services, analyst, ctx, added):
    file, task = added
    view = opened(ctx, analyst, None)
    assert view.selected == task.uid  # the newest task opens by default
    assert view.items[task.uid].button.description == "octobre.csv"
    assert "added" in view.items[task.uid].badge.value
    assert "octobre.csv" in view.d_title.value
    assert [view.step_rows[s][0].value for s in STEPS] == ["○"] * 5


def test_only_legal_actions_are_enabled(services, analyst, ctx, added):
    _, task = added
    view = opened(ctx, analyst, task.uid)
    assert enabled(view) == {"start"}
    view.request("start")
    assert view.alert.kind == ""
    assert view.tasks[task.uid].data.status == "in_queue"
    assert enabled(view) == {"pause", "stop"}
    view.request("pause")
    assert enabled(view) == {"resume", "stop"} and view.alert.kind == "info"
    view.request("stop")
    assert enabled(view) == {"start"} and view.action_buttons["start"].description == "Start again"


def test_an_illegal_request_shows_the_message_and_the_real_state(services, analyst, ctx, added):
    _, task = added
    view = opened(ctx, analyst, task.uid)
    other_tab = opened(ctx, analyst, task.uid)
    other_tab.request("start")
    view.request("start")  # this tab still shows "added": the service refuses, the view catches up
    assert view.alert.kind == "error"
    assert "Cannot start a task that is in queue" in view.alert.message
    assert "Traceback" not in view.alert.message
    assert view.tasks[task.uid].data.status == "in_queue" and enabled(view) == {"pause", "stop"}


def test_errors_are_explained_with_the_action_to_take(services, analyst, ctx, added):
    _, task = added
    services.tasks.request(analyst, task.uid, "start")
    services.tasks.transition(SYSTEM, task.uid, "reading_dataset")
    services.tasks.transition(SYSTEM, task.uid, "on_error", changes={"error": "The dataset could not be read."})
    view = opened(ctx, analyst, task.uid)
    assert view.d_error.kind == "error"
    assert "could not be read" in view.d_error.message and "Retry continues" in view.d_error.value
    assert enabled(view) == {"retry", "stop"}
    assert view.step_rows["reading_dataset"][0].value == "✕"


def test_maintenance_blocks_starting(services, admin, analyst, ctx, added):
    _, task = added
    services.settings.update_general(admin, isMaintenance=True)
    view = opened(ctx, analyst, task.uid)
    assert enabled(view) == set()
    assert is_visible(view.maintenance_note)
    view.request("start")
    assert "maintenance" in view.alert.message.lower()


def test_actions_are_hidden_without_manage_tasks(services, ctx, added, make_actor):
    _, task = added
    reader = make_actor("read_tasks")
    view = opened(ctx, reader, task.uid)
    actions_row = view.action_buttons["start"]
    assert not view.can_manage
    assert not any(is_visible(box) for box in view.detail.children if actions_row in getattr(box, "children", ()))
    view.request("start")
    assert "lacks the permission manage_tasks" in view.alert.message


def test_events_append_once_and_reread_the_task(services, analyst, ctx, added):
    _, task = added
    view = opened(ctx, analyst, task.uid)
    services.tasks.request(analyst, task.uid, "start")
    stored = services.tasks.record_event(SYSTEM, services.tasks.find(task.uid), "in_queue", {"phase": "requested"})
    message = {"task_id": task.uid, "file_id": task.data.file_id, "event": "in_queue", "ts": "2026-01-01T10:00:00",
               "event_uid": stored["uid"], "phase": "requested"}
    view.handle_events([dict(message), dict(message)])
    assert [text for _, text, live in view.log_lines if live] == ["Start requested: waiting for a worker"]
    assert view.tasks[task.uid].data.status == "in_queue"  # from the database, not from the message
    assert "in queue" in view.items[task.uid].badge.value
    view.select(task.uid)  # reopening rebuilds from the stored history: same line, now marked as stored
    assert [text for _, text, live in view.log_lines] == ["Start requested: waiting for a worker"]


def test_a_click_during_the_live_resync_is_not_undone(services, analyst, ctx, added, monkeypatch):
    """The resync after the subscriber connects re-reads the open task; a click meanwhile must win."""
    from tests.factories import make_csv

    _, first = added
    _, second = services.files.add(analyst, "novembre.csv", make_csv(3))
    view = opened(ctx, analyst, first.uid)
    real_history = services.tasks.history

    def history_while_the_user_clicks(actor, uid, **kwargs):
        if uid == first.uid and view._wanted == first.uid:
            view.select(second.uid)  # the click arrives while the resync reads the first task's history
        return real_history(actor, uid, **kwargs)

    monkeypatch.setattr(services.tasks, "history", history_while_the_user_clicks)
    view.handle_events([{"_resync": True}])
    assert view.selected == second.uid and "novembre.csv" in view.d_title.value
    view.handle_events([{"_resync": True}])  # positive control: a resync alone keeps (and re-reads) the choice
    assert view.selected == second.uid and "novembre.csv" in view.d_title.value


def test_two_tabs_converge_on_the_database(services, analyst, ctx, added):
    _, task = added
    tab_a, tab_b = opened(ctx, analyst, task.uid), opened(ctx, analyst, task.uid)
    tab_a.request("start")
    services.tasks.transition(SYSTEM, task.uid, "reading_dataset")
    services.tasks.update_progress(SYSTEM, task.uid, {"progress": {"step": "reading_dataset"}})
    event = {"task_id": task.uid, "event": "reading_dataset", "phase": "started", "ts": "2026-01-01T10:00:00"}
    tab_a.handle_events([dict(event)])
    tab_b.handle_events([dict(event)])
    for tab in (tab_a, tab_b):
        assert tab.tasks[task.uid].data.status == "reading_dataset"
        assert tab.step_rows["reading_dataset"][0].value == "●"
        assert enabled(tab) == {"pause", "stop"}


def test_filter_narrows_the_list(services, analyst, ctx, added):
    from tests.factories import make_csv

    _, second = services.files.add(analyst, "novembre.csv", make_csv(4))
    services.tasks.request(analyst, second.uid, "start")
    view = opened(ctx, analyst, None)
    assert len(view.list_box.children) == 2
    view.filter.value = "active"
    assert [c.children[0].description for c in view.list_box.children] == ["novembre.csv"]
    view.filter.value = "on_error"
    assert view.list_box.children == () and is_visible(view.list_empty)


def test_a_long_history_shows_its_latest_events_and_says_older_ones_are_hidden(services, analyst, ctx, added,
                                                                              monkeypatch):
    import dallosh.ui.tasks as tasks_module

    monkeypatch.setattr(tasks_module, "LOG_LIMIT", 3)
    _, task = added
    for page in range(1, 6):
        services.tasks.record_event(SYSTEM, services.tasks.find(task.uid), "sending_to_llm",
                                    {"page": page, "pages": 5, "model": "builtin"})
    assert [e["details"]["page"] for e in services.tasks.history(analyst, task.uid, limit=2)] == [4, 5]  # newest
    view = opened(ctx, analyst, task.uid)
    texts = [text for _, text, _ in view.log_lines]
    assert len(texts) == 3 and all(f"page {n} of 5" in t for n, t in zip((3, 4, 5), texts, strict=True))
    assert "Older events are not shown" in view.log_html.value


def test_the_list_says_when_older_tasks_exist_and_shows_more(services, analyst, ctx, added, monkeypatch):
    import dallosh.ui.tasks as tasks_module
    from tests.factories import make_csv

    monkeypatch.setattr(tasks_module, "TASKS_PAGE", 1)
    services.files.add(analyst, "novembre.csv", make_csv(4))
    view = TasksView(ctx(analyst))
    view.list_limit = 1
    view.on_show()
    assert len(view.list_box.children) == 1 and view.list_box.children[0].children[0].description == "novembre.csv"
    assert is_visible(view.list_more) and view.list_count.value == "Newest 1 of 2 tasks"
    view.show_more()
    assert len(view.list_box.children) == 2
    assert not is_visible(view.list_more) and not is_visible(view.list_count)


def test_the_running_labelling_step_shows_the_time_left_and_the_model(services, analyst, ctx, added):
    from datetime import UTC, datetime, timedelta

    _, task = added
    services.tasks.request(analyst, task.uid, "start")
    for step in STEPS[:3]:
        services.tasks.transition(SYSTEM, task.uid, step)
        if step != "sending_to_llm":
            services.tasks.transition(SYSTEM, task.uid, step, changes={
                "last_completed_step": step, f"stats.{step}": {"rows_read": 6, "rows_out": 6, "duration_s": 2.4}})
    view = opened(ctx, analyst, task.uid)
    name, note = view.step_rows["sending_to_llm"][1], view.step_rows["sending_to_llm"][3]
    assert name.value == "Labelling" and "left" not in note.value  # nothing labelled yet
    assert "took\u00a02\u00a0s" in view.step_rows["process_cleaning"][3].value
    now = datetime.now(UTC)
    base = {"task_id": task.uid, "file_id": task.data.file_id, "event": "sending_to_llm"}
    services.tasks.update_progress(SYSTEM, task.uid, {"progress": {
        "step": "sending_to_llm", "page": 2, "pages": 10, "rows_labelled": 400, "model": "builtin",
        "models": {"builtin": 200}}})
    view.handle_events([
        {**base, "ts": (now - timedelta(seconds=20)).isoformat(), "event_uid": "s", "phase": "started"},
        {**base, "ts": (now - timedelta(seconds=10)).isoformat(), "event_uid": "p1", "page": 1, "pages": 10},
        {**base, "ts": now.isoformat(), "event_uid": "p2", "page": 2, "pages": 10}])
    assert name.value == "Labelling (built-in analyzer)"
    assert "page 2 of 10" in note.value and "about 1\u00a0min\u00a020\u00a0s left" in note.value  # 8 pages, 10 s each
