"""Users and roles: CRUD through the forms, approvals, password resets, guard rails, confirmations, read-only."""

from __future__ import annotations

import pytest

from dallosh.errors import AuthenticationFailed
from dallosh.services import SYSTEM
from dallosh.ui.app import App
from dallosh.ui.components import is_visible
from dallosh.ui.users import PAGE_SIZE, UsersView


def view_for(ctx, actor, **params) -> UsersView:
    view = UsersView(ctx(actor))
    view.on_show(**params)
    return view


def emails(view: UsersView) -> list[str]:
    return [row.email for row in view.user_rows.values()]


def last_log(services, action: str) -> dict:
    return services.db.find("logs", {"data.action": action}, sort=[("createdAt", -1)], limit=1)[0]["data"]


def inline_panel(table):
    return table.inline[1] if table.inline else None


def test_lists_users_with_role_status_and_actions(services, admin, ctx):
    view = view_for(ctx, admin)
    assert emails(view) == ["admin@free.com", "analyst@free.com"]
    row = view.user_rows[admin.uid]
    assert "admin" in row.info.value and "active" in row.info.value and "(you)" in row.info.value
    assert is_visible(view.new_button) and is_visible(row.root.children[1])  # the actions box
    assert [r.name for r in view.role_rows.values()] == ["admin", "analyst"]
    assert view.role_rows[admin.role_id].count_html.value == "1 user"
    assert "manage_app" in view.role_rows[admin.role_id].perms_html.value


def test_a_reader_sees_the_lists_without_any_action(services, make_actor, ctx):
    reader = make_actor("read_users")
    view = view_for(ctx, reader)
    assert "admin@free.com" in emails(view)
    assert not is_visible(view.new_button) and not is_visible(view.new_role_button)
    for row in view.user_rows.values():
        assert not is_visible(row.root.children[1])  # the actions box
    for row in view.role_rows.values():
        assert not is_visible(row.root.children[3])
    assert "read only" in view.header.children[0].value


def test_create_user_and_show_field_errors_next_to_the_field(services, admin, ctx):
    view = view_for(ctx, admin)
    view.open_create()
    assert view.users_table.is_open(view.user_editor) and view.users_table.inline[0] is None
    form = view.user_form
    form["email"].value, form["password"].value = "not-an-email", "s3cret-pass"
    view.save_user()
    assert is_visible(form.errors["email"]) and "not a valid email" in form.errors["email"].value
    assert view.alert.kind == "error" and view.alert.message.startswith("Email:")
    assert "dl-invalid" in form.rows["email"]._dom_classes
    form["email"].value, form["password"].value = "awa@free.com", "short"
    view.save_user()
    assert not is_visible(form.errors["email"]) and is_visible(form.errors["password"])
    assert "10 characters" in form.errors["password"].value
    form["password"].value, form["name"].value = "s3cret-pass", "Awa"
    form["role_id"].value = services.roles.by_name("analyst").uid
    view.save_user()
    assert view.alert.kind == "success" and "awa@free.com was created" in view.alert.message
    assert not view.users_table.inline and "awa@free.com" in emails(view)
    assert form["password"].value == ""  # never left in the form
    assert services.auth.login("awa@free.com", "s3cret-pass").role_name == "analyst"
    assert last_log(services, "users.create")["result"] == "ok"


def test_edit_sends_only_the_changes(services, admin, analyst, ctx):
    view = view_for(ctx, admin)
    view.open_edit(analyst.uid)
    assert view.users_table.inline[0] == analyst.uid  # opened right under the row
    assert not is_visible(view.user_form.rows["password"])
    assert view.user_form["email"].value == "analyst@free.com"
    view.user_form["name"].value = "Léa Martin"
    view.user_form["role_id"].value = admin.role_id
    view.save_user()
    assert view.alert.kind == "success"
    user = services.users.get(admin, analyst.uid)
    assert user.data.name == "Léa Martin" and user.data.role_id == admin.role_id
    view.open_edit(analyst.uid)
    view.save_user()
    assert view.alert.message == "Nothing changed."
    view.open_edit(analyst.uid)
    view.user_form["email"].value = "admin@free.com"
    view.save_user()
    assert view.alert.kind == "error" and "already exists" in view.alert.message


def test_disable_enable_and_the_last_admin_guard_rail(services, admin, analyst, ctx):
    view = view_for(ctx, admin)
    view.toggle_status(analyst.uid)
    assert services.users.get(admin, analyst.uid).data.status == "disabled"
    assert view.user_rows[analyst.uid].toggle_button.description == "Enable"
    with pytest.raises(AuthenticationFailed):
        services.auth.login("analyst@free.com", "123456")
    view.toggle_status(analyst.uid)
    assert services.users.get(admin, analyst.uid).data.status == "active"
    view.toggle_status(admin.uid)
    assert view.alert.kind == "error" and "last active administrator" in view.alert.message
    view.open_edit(admin.uid)
    view.user_form["role_id"].value = analyst.role_id
    view.save_user()
    assert "last active administrator" in view.alert.message
    assert services.users.get(admin, admin.uid).data.role_id == admin.role_id


def test_delete_needs_a_confirmation(services, admin, analyst, ctx):
    view = view_for(ctx, admin)
    view.ask_delete(analyst.uid)
    assert inline_panel(view.users_table) is view.user_confirm_panel
    assert "analyst@free.com" in view.user_confirm.text.value
    assert services.users.find(analyst.uid) is not None  # asking deletes nothing
    view.user_confirm.cancel_button.click()
    assert not view.users_table.inline and services.users.find(analyst.uid) is not None
    view.ask_delete(analyst.uid)
    view.user_confirm.confirm_button.click()
    assert services.users.find(analyst.uid) is None
    assert view.alert.kind == "success" and emails(view) == ["admin@free.com"]
    view.ask_delete(admin.uid)
    view.user_confirm.confirm()
    assert view.alert.kind == "error" and "last active administrator" in view.alert.message
    assert last_log(services, "users.delete")["result"].startswith("error: This is the last")


def test_reset_password(services, admin, analyst, ctx):
    view = view_for(ctx, admin)
    view.open_reset(analyst.uid)
    assert inline_panel(view.users_table) is view.reset_panel and "analyst@free.com" in view.reset_title.value
    view.reset_form["password"].value, view.reset_form["confirm"].value = "n3w-pass-word!", "other"
    view.save_password()
    assert is_visible(view.reset_form.errors["confirm"]) and view.alert.kind == "error"
    view.reset_form["password"].value, view.reset_form["confirm"].value = "abc", "abc"
    view.save_password()
    assert is_visible(view.reset_form.errors["password"]) and view.reset_form["password"].value == ""
    view.reset_form["password"].value, view.reset_form["confirm"].value = "n3w-pass-word!", "n3w-pass-word!"
    view.save_password()
    assert view.alert.kind == "success" and not view.users_table.inline
    assert services.auth.login("analyst@free.com", "n3w-pass-word!").uid == analyst.uid


def test_pending_registrations_are_announced_and_approved(services, admin, ctx):
    services.settings.update_general(admin, requireApproval=True)
    pending = services.auth.register(None, "new@free.com", "r3gister-me")
    view = view_for(ctx, admin)
    assert is_visible(view.pending_bar) and "<b>1</b> registration is waiting" in view.pending_note.value
    row = view.user_rows[pending.uid]
    assert is_visible(row.approve_button) and not is_visible(row.toggle_button) and "pending" in row.info.value
    view.pending_button.click()
    assert view.status_filter.value == "pending" and emails(view) == ["new@free.com"]
    view.approve(pending.uid)
    assert view.alert.kind == "success" and "approved" in view.alert.message
    assert services.auth.login("new@free.com", "r3gister-me").email == "new@free.com"
    assert emails(view) == [] and not is_visible(view.pending_bar)
    view.approve(pending.uid)
    assert "not waiting for approval" in view.alert.message


def test_filters_and_pages(services, admin, ctx):
    analyst_role = services.roles.by_name("analyst").uid
    for i in range(PAGE_SIZE + 3):
        services.users.create(SYSTEM, f"user{i:02d}@corp.io", "s3cret-pass", analyst_role)
    view = view_for(ctx, admin)
    assert len(view.user_rows) == PAGE_SIZE and view.page_label.value == f"1–{PAGE_SIZE} of {PAGE_SIZE + 5}"
    assert view.prev_button.disabled and not view.next_button.disabled
    view.next_button.click()
    assert len(view.user_rows) == 5 and view.next_button.disabled
    view.search.value = "user01"
    assert emails(view) == ["user01@corp.io"] and view.page == 0
    view.search.value = ""
    view.role_filter.value = admin.role_id
    assert emails(view) == ["admin@free.com"]


def test_create_edit_and_delete_a_role_with_checkboxes(services, admin, ctx):
    view = view_for(ctx, admin, tab="roles")
    assert view.tabs.current == "roles"
    view.open_role_create()
    view.role_form["name"].value = ""
    view.save_role()
    assert is_visible(view.role_form.errors["name"]) and view.alert.message.startswith("Name:")
    view.role_form["name"].value, view.role_form["description"].value = "supervisor", "Reads everything"
    view.permission_boxes["read_users"].value = True
    view.permission_boxes["read_tasks"].value = True
    view.save_role()
    assert view.alert.kind == "success"
    role = services.roles.by_name("supervisor")
    assert role.data.permissions == ["read_users", "read_tasks"] and role.data.description == "Reads everything"
    assert "supervisor" in [r.name for r in view.role_rows.values()]
    assert ("supervisor", role.uid) in view.user_form["role_id"].options  # offered to users at once
    view.open_role_edit(role.uid)
    assert view.permission_boxes["read_tasks"].value and not view.permission_boxes["manage_app"].value
    view.permission_boxes["read_datasets"].value = True
    view.save_role()
    assert "read_datasets" in services.roles.get(admin, role.uid).data.permissions
    view.open_role_create()
    view.role_form["name"].value = "supervisor"
    view.save_role()
    assert "already exists" in view.alert.message
    view.ask_role_delete(role.uid)
    assert inline_panel(view.roles_table) is view.role_confirm_panel and services.roles.find(role.uid)
    view.role_confirm.confirm()
    assert services.roles.find(role.uid) is None and role.uid not in view.role_rows


def test_role_guard_rails_show_the_service_message(services, admin, analyst, ctx):
    view = view_for(ctx, admin, tab="roles")
    view.open_role_edit(admin.role_id)
    view.permission_boxes["manage_app"].value = False
    view.save_role()
    assert view.alert.kind == "error" and "last role that can manage the app" in view.alert.message
    assert "manage_app" in services.roles.get(admin, admin.role_id).data.permissions
    view.ask_role_delete(analyst.role_id)
    view.role_confirm.confirm()
    assert "still have the role 'analyst'" in view.alert.message


def test_admin_sidebar_lists_the_admin_views_in_order(services, admin, make_actor):
    app = App(services, admin, view="users", live=False)
    labels = [b.description for b in app.nav_buttons.values()]
    assert [x for x in labels if x in ("Users", "Logs", "Settings")] == ["Users", "Logs", "Settings"]
    assert labels.index("Users") < labels.index("Datasets") < labels.index("Logs")
    assert app.current == "users" and app.alert.kind == ""
    reader = App(services, make_actor("read_users"), view="users", live=False)
    assert [b.description for b in reader.nav_buttons.values()] == ["Users"]
