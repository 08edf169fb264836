"""HTML in the dashboards goes through one autoescaping path (``dallosh.ui.html``): checked on the views.

Two payloads are put wherever a user's text reaches a view (file name, email, role name, log text, model name, app
name, tweet text), and the HTML the browser would receive is read: the payload is there, as text, and no tag of it
is. The checks on the code are in ``tests/unit/ui/test_ui_html.py``.
"""

from __future__ import annotations

import json
from typing import Any

import ipywidgets as w
import pytest
from markupsafe import escape

from dallosh.services import SYSTEM
from dallosh.ui.analysis import AnalysisView, short
from dallosh.ui.app import App
from dallosh.ui.datasets import DatasetsView
from dallosh.ui.logs import LogsView
from dallosh.ui.overview import OverviewView
from dallosh.ui.settings import SettingsView
from dallosh.ui.tasks import TasksView
from dallosh.ui.users import UsersView
from tests.factories import make_csv, tweet_row

#: Both set ``document.title`` when they run: an attribute handler, and a tag that closes an attribute first.
PAYLOADS = ("<img src=x onerror=\"document.title='X'\">", "\"><script>document.title='X'</script>")


def shown_html(*roots: w.Widget) -> str:
    """The values of every HTML widget in these widget trees: the markup the browser renders."""
    values, stack = [], list(roots)
    while stack:
        widget = stack.pop()
        if isinstance(widget, w.HTML):
            values.append(widget.value)
        stack.extend(getattr(widget, "children", ()))
    return "\n".join(values)


def assert_shown_as_text(html: str, *texts: str) -> None:
    for text in texts:
        assert str(escape(text)) in html, f"{text!r} is not shown"
    assert "<img" not in html and "<script" not in html


def as_email(payload: str) -> str:
    """The payload as a valid address (an email has no spaces; ``/`` separates HTML attributes as well)."""
    return payload.replace(" ", "/") + "@free.com"


@pytest.mark.parametrize("payload", PAYLOADS)
def test_file_names_are_shown_as_text(services, analyst, ctx, upload, analysed, finish, payload):
    file, task = services.files.add(analyst, f"{payload}.csv", make_csv(4))
    name = file.data.filename  # the display name: the upload's last path component
    assert "<" in name or ">" in name
    datasets = DatasetsView(ctx(analyst))
    datasets.on_show()
    datasets.ask_delete(file.uid)
    datasets.on_upload(f"{payload}.csv", upload(4, name="payload.csv"))
    assert_shown_as_text(shown_html(datasets.root), name)
    assert str(escape(name)) in datasets.p_summary.value  # the preview names the upload too
    tasks = TasksView(ctx(analyst))
    tasks.on_show(task_id=task.uid)
    assert_shown_as_text(shown_html(tasks.root), name)
    services.tasks.request(analyst, task.uid, "start")
    overview = OverviewView(ctx(analyst))
    overview.on_show()
    assert_shown_as_text(shown_html(overview.root), name)  # in progress
    done, done_task = services.files.add(analyst, f"done {payload}.csv", make_csv(3))
    analysed(done.uid, [("negative", "2", "Réseau")])
    finish(done_task.uid)
    overview.refresh()
    assert_shown_as_text(overview.latest_html.value, done.data.filename)  # latest analyses


@pytest.mark.parametrize("payload", PAYLOADS)
def test_emails_and_role_names_are_shown_as_text(services, admin, ctx, payload):
    role = services.roles.create(admin, payload, ["read_datasets"], description=payload)
    user = services.users.create(admin, as_email(payload), "s3cret-pass", role.uid, name=payload)
    email = user.data.email
    actor = services.auth.login(email, "s3cret-pass")
    app = App(services, actor, view="profile", live=False)
    assert_shown_as_text(shown_html(app), email, payload)  # top bar and profile: email, role name
    users = UsersView(ctx(admin))
    users.on_show()
    assert_shown_as_text(shown_html(users.root), email, payload)  # user row (email, name, role) and role row
    for opened in (lambda: users.open_edit(user.uid), lambda: users.open_reset(user.uid),
                   lambda: users.ask_delete(user.uid), lambda: users.open_role_edit(role.uid),
                   lambda: users.ask_role_delete(role.uid)):
        opened()
        assert_shown_as_text(shown_html(users.root), email)
    logs = LogsView(ctx(admin))
    logs.on_show()
    assert_shown_as_text(logs.table.value, email, payload)  # who, and the names of the targets


@pytest.mark.parametrize("payload", PAYLOADS)
def test_log_texts_are_shown_as_text(services, admin, analyst, ctx, added, payload):
    services.logs.record(admin, "files.delete", target=payload, result=f"error: {payload}")
    logs = LogsView(ctx(admin))
    logs.on_show()
    assert_shown_as_text(logs.table.value, payload)
    _, task = added
    services.tasks.request(analyst, task.uid, "start")
    services.tasks.transition(SYSTEM, task.uid, "reading_dataset")
    services.tasks.record_event(SYSTEM, services.tasks.find(task.uid), "on_error",
                                {"step": "reading_dataset", "error": payload})
    services.tasks.transition(SYSTEM, task.uid, "on_error", changes={"error": payload})
    tasks = TasksView(ctx(analyst))
    tasks.on_show(task_id=task.uid)
    assert tasks.d_error.message == payload
    assert_shown_as_text(tasks.log_html.value, payload)
    assert_shown_as_text(shown_html(tasks.root), payload)


@pytest.mark.parametrize("payload", PAYLOADS)
def test_model_names_are_shown_as_text(services, admin, ctx, payload):
    model = services.settings.add_model(admin, "local", {"model": payload, "label": f"GPU {payload}",
                                                         "baseUrl": "http://127.0.0.1:9", "retryRequests": 0})
    view = SettingsView(ctx(admin))
    view.on_show()
    view.test_connection("local", model["uid"])  # unreachable: the error names the model
    assert view.checks[model["uid"]]["ok"] is False
    assert_shown_as_text(shown_html(view.root), payload, f"GPU {payload}")
    for opened in (lambda: view.open_model_edit("local", model["uid"]),
                   lambda: view.ask_model_delete("local", model["uid"])):
        opened()
        assert_shown_as_text(shown_html(view.root), f"GPU {payload}")
    logs = LogsView(ctx(admin))
    logs.on_show()
    assert_shown_as_text(logs.table.value, f"GPU {payload}")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_the_app_name_is_shown_as_text(services, admin, analyst, payload):
    services.settings.update_general(admin, appName=payload)
    app = App(services, analyst, live=False)
    assert_shown_as_text(app.brand.value, payload)
    assert_shown_as_text(shown_html(app), payload)


def plotly_strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in plotly_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in plotly_strings(v)]
    return []


@pytest.mark.parametrize("payload", PAYLOADS)
def test_tweet_texts_are_shown_as_text(services, analyst, ctx, finish, payload):
    from tests.integration.ui.test_ui_analysis import process

    rows = [tweet_row(i, text=f"{payload} @free panne réseau depuis {i} jours, inadmissible, je résilie")
            for i in range(12)]
    file, task = services.files.add(analyst, "payloads.csv", make_csv(rows))
    process(services, file.uid)
    finish(task.uid)
    view = AnalysisView(ctx(analyst))
    view.on_show()
    tweet_id = rows[0]["id"]
    text = str(view.frame.loc[view.frame["id"] == tweet_id, "full_text"].iloc[0])
    assert payload in text  # cleaning kept it: the view has to escape it
    view.correct_id.value = tweet_id
    assert_shown_as_text(view.selected_info.value, short(text, 140))
    chart = json.loads(view.charts["critical_tweets"].spec)
    labels = plotly_strings(chart["data"])
    assert any(str(escape(short(text, 44))[:30]) in label for label in labels)  # the texts are in the chart...
    assert not [s for s in labels if "<img" in s or "<script" in s]  # ...as text (plotly renders a few tags)
