"""Activity log: who (email), when (settings time zone), action, target, result; filters and pages."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from dallosh.errors import PermissionDenied
from dallosh.services import SYSTEM
from dallosh.ui.logs import PAGE_SIZE, LogsView


def view_for(ctx, actor, **params) -> LogsView:
    view = LogsView(ctx(actor))
    view.on_show(**params)
    return view


def test_shows_who_when_what_target_and_result(services, admin, analyst, ctx):
    role = services.roles.create(admin, "auditors", ["read_users"])
    awa = services.users.create(admin, "awa@free.com", "s3cret-pass", role.uid)
    services.users.update(admin, awa.uid, name="Awa")
    services.roles.update(admin, role.uid, description="Read only")
    try:
        services.settings.update_general(analyst, appName="Hacked")
    except PermissionDenied:
        pass
    view = view_for(ctx, admin)
    html = view.table.value
    order = [html.index(a) for a in ("settings.update_general", "users.update", "users.create", "roles.create")]
    assert order == sorted(order)  # newest first
    assert "users/awa@free.com" in html  # creations are named by what was created
    newest = view.entries[0]
    assert newest.data.action == "settings.update_general" and newest.data.result == "denied"
    assert "analyst@free.com" in html and "admin@free.com" in html
    assert "user <b>awa@free.com</b>" in html and "role <b>auditors</b>" in html  # uids become names
    assert "dl-b-warn" in html and "dl-b-ok" in html
    assert "Europe/Paris" in view.tz_note.value
    model = services.settings.add_model(admin, "local", {"model": "llama3", "baseUrl": "http://gpu:11434",
                                                          "label": "GPU box"})
    services.settings.delete_model(admin, "local", model["uid"])
    view.refresh()
    assert "local model <b>GPU box</b>" not in view.table.value  # deleted: no name any more
    assert "a deleted local model" in view.table.value and f'title="settings/ai/local/{model["uid"]}"' \
        in view.table.value  # the stored target stays in the tooltip
    services.settings.add_model(admin, "external", {"model": "gpt-4o-mini", "baseUrl": "https://api.x.io/v1"})
    view.refresh()
    assert "external model <b>gpt-4o-mini</b>" in view.table.value
    assert "<script" not in html


def test_times_are_in_the_settings_time_zone(services, admin, ctx):
    services.settings.update_general(admin, timeZone="Asia/Tokyo")
    view = view_for(ctx, admin)
    entry = view.entries[0]
    created = entry.createdAt.replace(tzinfo=ZoneInfo("UTC")) if entry.createdAt.tzinfo is None \
        else entry.createdAt
    local = created.astimezone(ZoneInfo("Asia/Tokyo")).strftime("%Y-%m-%d %H:%M:%S")
    assert f"<td>{local}</td>" in view.table.value and "Asia/Tokyo" in view.tz_note.value


def test_filters_by_user_action_result_and_dates(services, admin, analyst, ctx):
    services.users.update(admin, analyst.uid, name="Léa")
    try:
        services.users.delete(analyst, admin.uid)
    except PermissionDenied:
        pass
    view = view_for(ctx, admin)
    assert "analyst@free.com" in view.user_filter.options
    view.user_filter.value = "analyst@free.com"
    assert {e.data.requested_by for e in view.entries} == {analyst.uid}
    view.action_filter.value = "users"
    assert [e.data.action for e in view.entries] == ["users.delete"]
    view.clear_filters()
    view.action_filter.value = "users.update"
    assert [e.data.result for e in view.entries] == ["ok"]
    view.action_filter.value = ""
    view.result_filter.value = "denied"
    assert view.total == 1 and view.entries[0].data.action == "users.delete"
    view.clear_filters()
    today = view.entries[0].createdAt.replace(tzinfo=ZoneInfo("UTC")).astimezone(view.tz).date()
    view.since.value = today
    assert view.total >= 3
    view.since.value = today + timedelta(days=1)
    assert view.total == 0 and "No activity matches" in view.table.value
    view.since.value, view.until.value = None, today - timedelta(days=1)
    assert view.total == 0
    view.until.value = today
    assert view.total >= 3
    view.user_filter.value = "nobody@free.com"
    assert view.total == 0


def test_pages(services, admin, ctx):
    for i in range(PAGE_SIZE + 5):
        services.logs.record(SYSTEM, "system.test", f"item/{i}")
    view = view_for(ctx, admin)
    total = view.total
    assert len(view.entries) == PAGE_SIZE and view.page_label.value == f"1–{PAGE_SIZE} of {total}"
    assert view.prev_button.disabled and not view.next_button.disabled
    assert "system" in view.table.value  # automatic work is "system", not an email
    view.next_button.click()
    assert view.page == 1 and view.entries[0].data.target != "item/29"
    view.action_filter.value = "system.test"
    assert view.page == 0 and view.total == PAGE_SIZE + 5


def test_requires_manage_app(services, make_actor, ctx):
    view = view_for(ctx, make_actor("read_users", "manage_users"))
    assert view.alert.kind == "error" and "manage_app" in view.alert.message and view.entries == []


