"""Task notifications on the real services: which events make a toast, what it says, where its action leads,
who gets one. The live path (broker → subscriber → toast) is in ``test_ui_live.py``, the page in
``test_ui_voila.py``."""

from __future__ import annotations

import pytest

from dallosh.services import SYSTEM
from dallosh.ui.components import is_visible
from dallosh.ui.notifications import MAX_TOASTS, Notifications
from tests.factories import make_csv


@pytest.fixture
def center(services, analyst, ctx):
    """The analyst's toast stack, with the navigations its actions asked for."""
    asked: list[tuple[str, dict]] = []
    notifications = Notifications(ctx(analyst, navigate=lambda name, **params: asked.append((name, params))))
    notifications.asked = asked
    return notifications


def message(task, event: str, uid: str = "", **details) -> dict:
    return {"task_id": task.uid, "file_id": task.data.file_id, "event": event, "ts": "2026-01-01T10:00:00",
            "event_uid": uid or f"{event}-{task.uid}", **details}


def toast_texts(notifications: Notifications) -> list[str]:
    return [t.root.children[0].children[0].value for t in notifications.toasts]


def test_a_finished_task_shows_a_toast_whose_action_opens_its_analysis(services, analyst, added, finish, center):
    file, task = added
    finish(task.uid)
    assert not is_visible(center)  # nothing to say yet
    [toast] = center.handle_events([message(task, "done", rows=6)])
    assert is_visible(center) and toast.kind == "ok" and toast.title == "Analysis ready"
    assert toast.text == "octobre.csv is analysed: 6 tweets labelled."
    html = toast_texts(center)[0]
    assert "octobre.csv" in html and task.uid not in html and "llm" not in html.lower()
    action = toast.root.children[1]
    assert action.description == "Open the analysis"
    action.click()
    assert center.asked == [("analysis", {"datasets": file.uid})]
    assert center.toasts == []  # acting on it closes it


def test_failed_and_stopped_tasks_lead_to_the_task(services, analyst, added, center):
    _, task = added
    services.tasks.request(analyst, task.uid, "start")
    services.tasks.transition(SYSTEM, task.uid, "reading_dataset")
    error = "The dataset could not be read: line 3 has 40 fields instead of 22. " + "x" * 300
    services.tasks.transition(SYSTEM, task.uid, "on_error", changes={"error": error})
    [failed] = center.handle_events([message(task, "on_error", step="reading_dataset", error=error)])
    assert failed.kind == "err" and failed.text == "octobre.csv could not be analysed."
    html = toast_texts(center)[0]
    assert "line 3 has 40 fields" in html and f'title="{error}"' in html  # cut on screen, whole on hover
    assert failed.root.children[1].description == "See what went wrong"
    failed.root.children[1].click()
    assert center.asked == [("tasks", {"task_id": task.uid})]
    [stopped] = center.handle_events([message(task, "stopped", phase="requested", job="stop sent")])
    assert stopped.kind == "warn" and "was stopped" in stopped.text and "stop sent" not in stopped.text
    assert stopped.root.children[1].description == "Open the task"


def test_only_finishing_events_make_toasts_and_each_only_once(services, analyst, added, finish, center):
    _, task = added
    assert center.handle_events([message(task, "in_queue", phase="requested"),
                                 message(task, "sending_to_llm", page=1, pages=2),
                                 message(task, "paused", phase="requested")]) == []
    finish(task.uid)
    done = message(task, "done", rows=6)
    assert len(center.handle_events([done, dict(done)])) == 1  # the same event twice: one toast
    assert len(center.handle_events([dict(done)])) == 0 and len(center.toasts) == 1


def test_toasts_stack_newest_first_and_leave_after_a_while_or_on_close(services, analyst, center):
    tasks = []
    for index in range(MAX_TOASTS + 1):
        _, task = services.files.add(analyst, f"mois-{index}.csv", make_csv(3 + index))
        tasks.append(task)
        center.handle_events([message(task, "stopped", phase="requested")])
    assert len(center.toasts) == MAX_TOASTS  # the oldest left to make room
    assert [t.text.split(" ")[0] for t in center.toasts] == [f"mois-{i}.csv" for i in range(MAX_TOASTS, 0, -1)]
    assert len(center.children) == MAX_TOASTS
    newest = center.toasts[0]
    newest.root.children[0].children[1].click()  # ×
    assert newest not in center.toasts and len(center.children) == MAX_TOASTS - 1
    center.expire(now=newest.expires_at - 1)  # positive control: not yet
    assert len(center.toasts) == MAX_TOASTS - 1
    center.expire(now=max(t.expires_at for t in center.toasts))
    assert center.toasts == [] and not is_visible(center)


def test_only_users_who_may_see_tasks_get_toasts(services, analyst, ctx, added, finish, make_actor):
    _, task = added
    finish(task.uid)
    reader = make_actor("read_datasets")  # may open datasets and analyses, not tasks
    theirs = Notifications(ctx(reader))
    assert theirs.allowed  # listens, for the alerts about datasets (test_ui_alerts.py), not for tasks
    assert theirs.handle_events([message(task, "done", rows=6)]) == [] and theirs.toasts == []
    overview = Notifications(ctx(make_actor("view_overview", email="overview@free.com")))
    assert not overview.allowed
    overview.start()
    assert overview.subscriber is None  # may read neither tasks nor datasets: never listens
    ours = Notifications(ctx(analyst))  # positive control: the same event for someone who may see tasks
    assert ours.allowed and len(ours.handle_events([message(task, "done", rows=6)])) == 1


def test_a_role_losing_the_permission_stops_the_toasts(services, admin, ctx, added, finish, make_actor):
    _, task = added
    finish(task.uid)
    watcher = make_actor("read_tasks", email="watcher@free.com")
    center = Notifications(ctx(watcher))
    assert len(center.handle_events([message(task, "done", "first", rows=6)])) == 1  # positive control
    role = services.roles.by_name("role-watcher")
    services.roles.update(admin, role.uid, permissions=["read_datasets"])
    assert center.handle_events([message(task, "done", "second", rows=6)]) == []  # the service refuses now


def test_file_names_are_shown_as_text(services, analyst, center):
    _, task = services.files.add(analyst, "<img src=x onerror=alert(1)>.csv", make_csv(3))
    center.handle_events([message(task, "stopped", phase="requested")])
    html = toast_texts(center)[0]
    assert "<img" not in html and "&lt;img src=x onerror=alert(1)&gt;.csv" in html


def test_a_view_without_tasks_offers_what_the_user_may_open(services, ctx, added, finish, make_actor):
    file, task = added
    finish(task.uid)
    watcher = make_actor("read_tasks", email="tasks-only@free.com")  # no datasets, no analysis
    center = Notifications(ctx(watcher))
    [toast] = center.handle_events([message(task, "done", rows=6)])
    assert toast.action is None and len(toast.root.children) == 1  # no button leading to a refused view
