"""The overview: real numbers for admins and analysts, health, KPIs of the latest analyses."""

from __future__ import annotations

import re

from dallosh.ui.overview import OverviewView
from tests.factories import make_csv


def view_for(ctx, actor) -> OverviewView:
    view = OverviewView(ctx(actor))
    view.on_show()
    return view


def test_admin_sees_counts_queue_health_and_activity(services, admin, ctx, added, finish):
    _, task = added
    finish(task.uid, rows=6)
    view = view_for(ctx, admin)
    assert view.alert.kind == ""
    numbers = {k: kpi.number for k, kpi in view.kpis.items()}
    assert numbers["users"] == "2" and numbers["datasets"] == "1" and numbers["rows"] == "6"
    assert numbers["queue"] == "0" and numbers["workers"].isdigit()
    assert "done" in view.status_html.value
    for name in ("MongoDB", "Redis", "RabbitMQ", "Built-in analyzer"):
        assert name in view.health_html.value
    assert "dl-dot-err" not in view.health_html.value  # every service runs in the test environment
    assert "files.add" in view.activity_html.value and "analyst@free.com" in view.activity_html.value


def test_recent_activity_names_datasets_tasks_and_people_not_ids(services, admin, analyst, ctx, added):
    file, task = added  # octobre.csv, added by the analyst
    services.users.update(admin, analyst.uid, name="Awa Diallo")
    services.tasks.request(analyst, task.uid, "start")
    view = view_for(ctx, admin)
    html = view.activity_html.value
    assert "dataset <b>octobre.csv</b>" in html and "task of <b>octobre.csv</b>" in html
    assert "user <b>analyst@free.com</b>" in html  # what was changed: the account, by its email
    assert '<span title="analyst@free.com">Awa Diallo</span>' in html  # who: their name, the email on hover
    shown = re.sub(r'title="[^"]*"', "", html)  # the stored targets stay in tooltips only
    assert file.uid not in shown and task.uid not in shown and analyst.uid not in shown
    assert f'title="files/{file.uid}"' in html  # positive control: the id was there to be hidden
    services.tasks.request(analyst, task.uid, "stop")
    services.files.delete(admin, file.uid)
    view.refresh()
    assert "a deleted dataset" in view.activity_html.value and file.uid not in re.sub(
        r'title="[^"]*"', "", view.activity_html.value)


def test_health_reports_configured_llms(services, admin, ctx):
    services.settings.add_model(admin, "local", {"model": "nope", "baseUrl": "http://127.0.0.1:9"})
    view = view_for(ctx, admin)
    assert "LLM local: nope" in view.health_html.value and "dl-dot-err" in view.health_html.value


def test_redis_down_is_shown_not_raised(services, admin, ctx):
    class DeadQueue:
        def workers(self):
            raise ConnectionError("refused")

        def alive(self):
            return False

    view = OverviewView(ctx(admin))
    view._queue = DeadQueue()
    view.on_show()
    assert view.kpis["queue"].sub == "Redis unavailable" and view.alert.kind == ""
    assert "dl-dot-err" in view.health_html.value


def test_analyst_sees_their_datasets_progress_and_latest_kpis(services, admin, analyst, ctx, added, finish,
                                                               analysed):
    file, task = added
    finish(task.uid)
    analysed(file.uid, [("negative", "2", "Réseau"), ("positive", "0", "Offres")])
    _, other = services.files.add(admin, "admin.csv", make_csv(3))
    services.tasks.request(admin, other.uid, "start")
    view = view_for(ctx, analyst)
    assert view.kpis["mine"].number == "1"  # the admin's upload is not theirs
    assert view.kpis["active"].number == "1" and view.kpis["done"].number == "1"
    assert "octobre.csv" in view.latest_html.value and "50.0 %" in view.latest_html.value
    assert "Counted like Analysis: customer tweets" in view.latest_html.value  # says which rows it counts
    assert "admin.csv" in view.progress_html.value and "in queue" in view.progress_html.value
    assert view.health_html.value == ""  # infrastructure is an admin concern


