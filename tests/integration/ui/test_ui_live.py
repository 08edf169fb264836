"""The tasks view's live path against the real RabbitMQ: subscriber → queue → applier → widgets."""

from __future__ import annotations

import time
import uuid
from pathlib import Path

import pytest

from dallosh.config import load_config
from dallosh.events import Subscriber, TaskEvents, routing_key_for
from dallosh.ui.base import UIContext
from dallosh.ui.tasks import TasksView
from tests.factories import make_csv
from tests.integration.ui.harness import delete_exchange


@pytest.fixture
def config(mongo_uri, db_name, storage):
    """A private exchange, so events of other tests (and of a running app) never reach this view."""
    suffix = uuid.uuid4().hex[:8]
    config = load_config({"DALLOSH_MONGODB_URI": mongo_uri, "DALLOSH_MONGODB_DATABASE": db_name,
                          "DALLOSH_STORAGE_ROOT": str(storage.root), "DALLOSH_QUEUE_NAME": f"test-live-{suffix}",
                          "DALLOSH_EVENTS_EXCHANGE": f"test-live-{suffix}"}, env_file=Path("/nonexistent"))
    yield config
    delete_exchange(config)


def wait_for(predicate, timeout: float = 5.0) -> float:
    started = time.monotonic()
    while not predicate():
        if time.monotonic() - started > timeout:
            raise AssertionError("condition not reached")
        time.sleep(0.002)  # polling the view's counters: plain attributes the applier thread sets
    return time.monotonic() - started


def test_events_reach_the_widgets_quickly_and_stop_with_the_view(services, analyst):
    _, task = services.files.add(analyst, "live.csv", make_csv(5))
    events = TaskEvents(services)
    view = TasksView(UIContext(services, analyst, live=True))
    try:
        view.on_show(task_id=task.uid)
        wait_for(lambda: view.subscriber is not None and view.subscriber.connected, 10)
        wait_for(lambda: view.batches_applied >= 1, 10)  # the post-connect resync was applied
        services.tasks.request(analyst, task.uid, "start")  # no dispatcher here: publish the event ourselves
        events.emit(services.tasks.find(task.uid), "in_queue", phase="requested")
        wait_for(lambda: view.tasks[task.uid].data.status == "in_queue" and any(live for *_, live in view.log_lines))
        assert view.enabled_actions("in_queue") == ["pause", "stop"]
        assert not view.action_buttons["pause"].disabled
        subscriber = view.subscriber
        view.on_hide()
        wait_for(lambda: not subscriber._thread.is_alive(), 10)
        lines, applied = len(view.log_lines), view.batches_applied
        witness = []  # a second subscriber proves the event went out (positive control)
        other = Subscriber(witness.append, [routing_key_for()], config=services.config).start()
        try:
            events.emit(services.tasks.find(task.uid), "paused", phase="requested")
            wait_for(lambda: any(m.get("event") == "paused" for m in witness), 10)
        finally:
            other.stop()
        assert len(view.log_lines) == lines and view.batches_applied == applied  # a hidden view consumes nothing
    finally:
        view.close()
        events.publisher.close()


def test_finished_tasks_reach_the_toasts_live_and_leave_by_themselves(services, analyst, monkeypatch):
    from dallosh.ui import notifications
    from dallosh.ui.notifications import Notifications

    monkeypatch.setitem(notifications.TOAST_S, "stopped", 0.5)  # leaves on its own, quickly
    _, task = services.files.add(analyst, "live.csv", make_csv(5))
    events = TaskEvents(services)
    center = Notifications(UIContext(services, analyst, live=True))
    try:
        center.start()
        wait_for(lambda: center.subscriber is not None and center.subscriber.connected, 10)
        services.tasks.request(analyst, task.uid, "start")
        events.emit(services.tasks.find(task.uid), "in_queue", phase="requested")  # not an ending: no toast
        services.tasks.request(analyst, task.uid, "stop")
        events.emit(services.tasks.find(task.uid), "stopped", phase="requested", job="cancelled")
        wait_for(lambda: len(center.toasts) == 1, 10)
        [toast] = center.toasts
        assert toast.kind == "warn" and toast.text.startswith("live.csv was stopped")
        wait_for(lambda: not center.toasts, 10)  # the applier removed it when its time was up
        assert center.children == ()
        subscriber = center.subscriber
        center.close()
        wait_for(lambda: not subscriber._thread.is_alive(), 10)
    finally:
        center.close()
        events.publisher.close()
