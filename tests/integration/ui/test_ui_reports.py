"""Reports view (handler level, real services, database and Redis): my subscriptions with their next run in their
own time zone, the form (create, edit, errors under their field), send now, delete, and admins' list of
everyone's."""

from __future__ import annotations

from datetime import UTC, datetime

from rq.registry import ScheduledJobRegistry

from dallosh.services.subscriptions import job_id, signing_key, unsubscribe_token
from dallosh.ui.components import is_visible
from dallosh.ui.reports import ReportsView, local_time, outcome_badge, preview_frame
from tests.integration.reports.analysed import add_analysed
from tests.integration.subscriptions.conftest import (  # noqa: F401 - shared fixtures
    BEFORE_SEVEN,
    clock,
    config,
    notify,
)


def view_for(ctx, actor) -> ReportsView:
    view = ReportsView(ctx(actor))
    view.on_show()
    return view


def test_create_edit_send_and_delete_from_the_page(services, analyst, ctx, notify):  # noqa: F811
    file = add_analysed(services, analyst, "octobre.csv")
    view = view_for(ctx, analyst)
    assert view.table.rows == [] and "No scheduled report yet" in view.empty.value
    assert dict(view.dataset_choice.options) == {"octobre.csv": file.uid}
    view.open_new()
    assert view.zone.value == "Europe/Paris" and view.form.rows["weekday"].layout.display == "none"
    view.time.value = "7:00"
    view.save()
    assert "time" in view.alert.message.lower() and "HH:MM" in view.form.errors["time"].value  # under its field
    assert services.subscriptions.list(analyst) == []
    view.time.value = "07:00"
    view.all_datasets.value = False
    view.dataset_choice.value = (file.uid,)
    view.sentiments.value = ("negative",)
    view.priorities.value = (2,)
    view.save()
    assert view.alert.kind == "success", view.alert.message
    assert "2025-10-22 07:00 (Europe/Paris) to analyst@free.com" in view.alert.message
    (sub,) = services.subscriptions.list(analyst)
    assert (sub.data.datasets, sub.data.filters.sentiments, sub.data.filters.priorities, sub.data.filters.topics) \
        == ([file.uid], ["negative"], [2], None)
    row = view.rows[sub.uid].info.value
    assert "Every day at 07:00 (Europe/Paris)" in row and "octobre.csv" in row and "sentiment negative" in row
    assert "2025-10-22 07:00" in row and "not run yet" in row

    view.open_edit(sub.uid)
    assert view.time.value == "07:00" and view.dataset_choice.value == (file.uid,)
    view.frequency.value = "weekly"
    assert view.form.rows["weekday"].layout.display is None  # the weekday shows for a weekly report
    view.weekday.value = 0
    view.zone.value = "America/New_York"
    view.save()
    (sub,) = services.subscriptions.list(analyst)
    assert sub.data.nextRunAt == datetime(2025, 10, 27, 11, 0, tzinfo=UTC)  # Monday 07:00 in New York
    assert "2025-10-27 07:00" in view.rows[sub.uid].info.value  # shown in the report's own zone

    # Unsubscribed from an e-mail's link, then switched on again here.
    services.subscriptions.unsubscribe(unsubscribe_token(signing_key(services.config), sub.uid))
    view.refresh()
    assert "(switched off)" in view.rows[sub.uid].info.value and "off" in view.rows[sub.uid].info.value
    view.open_edit(sub.uid)
    assert view.active.value is False
    view.active.value = True
    view.save()
    (sub,) = services.subscriptions.list(analyst)
    assert sub.data.active and sub.data.nextRunAt == datetime(2025, 10, 27, 11, 0, tzinfo=UTC)
    assert job_id(sub.uid, sub.data.version, sub.data.nextRunAt) in ScheduledJobRegistry(queue=notify).get_job_ids()

    view.send_now(sub.uid)
    assert view.alert.kind == "success" and "analyst@free.com" in view.alert.message
    assert any(j.args[:2] == (sub.uid, 0) for j in notify.jobs)  # queued now, with version 0 ("send now")

    view.ask_delete(sub.uid)
    assert view.table.is_open(view.confirm_panel)
    view.confirm.confirm()
    assert services.subscriptions.list(analyst) == [] and view.table.rows == []


def test_admins_see_everyones_and_analysts_only_their_own(services, admin, analyst, ctx, notify):  # noqa: F811
    nobody = view_for(ctx, admin)
    assert len(nobody.admin_table.rows) == 0 and is_visible(nobody.admin_empty)  # says so, not an empty table
    assert "Nobody has a scheduled report yet" in nobody.admin_empty.value
    services.subscriptions.create(analyst, time="06:30")
    services.subscriptions.create(admin, time="09:00")
    mine = view_for(ctx, analyst)
    assert len(mine.table.rows) == 1 and mine.admin_panel.layout.display == "none"
    admin_view = view_for(ctx, admin)
    assert len(admin_view.table.rows) == 1 and admin_view.admin_panel.layout.display is None
    assert len(admin_view.admin_table.rows) == 2 and not is_visible(admin_view.admin_empty)
    owner_uid = services.subscriptions.list(analyst)[0].uid
    admin_view.ask_delete(owner_uid, "analyst@free.com", admin=True)
    assert "analyst@free.com" in admin_view.confirm.text.value
    admin_view.confirm.confirm()
    assert services.subscriptions.list(analyst) == [] and len(admin_view.admin_table.rows) == 1


def test_hostile_names_and_previews_are_escaped():
    hostile = "<img src=x onerror=alert(1)>"
    frame = preview_frame(f'<p>{hostile}</p><script>alert(2)</script>"')
    assert 'sandbox=""' in frame and "<script>" not in frame and "<img src=x" not in frame
    assert "&lt;script&gt;" in frame and "&#34;" in frame  # the whole e-mail is one attribute value
    assert "<img" not in outcome_badge(f"error: {hostile}")
    assert local_time(None, "UTC") == "–"
