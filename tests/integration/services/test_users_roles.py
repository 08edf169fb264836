from __future__ import annotations

import pytest

from dallosh.errors import Conflict, NotFound, PermissionDenied, ValidationError


def _role(services, name):
    return services.roles.by_name(name)


def test_user_crud(services, admin):
    analyst_role = _role(services, "analyst")
    user = services.users.create(admin, "Bob@Example.com", "b0b-password", analyst_role.uid, name="Bob")
    assert user.data.email == "bob@example.com" and user.data.password == ""
    page = services.users.list(admin, search="bob")
    assert page.total == 1 and page.items[0].uid == user.uid
    assert services.users.get(admin, user.uid).data.name == "Bob"
    services.users.update(admin, user.uid, name="Robert", email="robert@example.com")
    assert services.users.get(admin, user.uid).data.email == "robert@example.com"
    services.users.reset_password(admin, user.uid, "n3w-password")
    assert services.auth.login("robert@example.com", "n3w-password").uid == user.uid
    services.users.delete(admin, user.uid)
    with pytest.raises(NotFound):
        services.users.get(admin, user.uid)


def test_create_user_with_unknown_role_id(services, admin):
    with pytest.raises(ValidationError) as exc:
        services.users.create(admin, "x@example.com", "s3cret-pass", "no-such-role")
    assert exc.value.field == "data.role_id"
    assert services.users.find_by_email("x@example.com") is None
    with pytest.raises(ValidationError):
        services.users.update(admin, services.users.find_by_email("analyst@free.com").uid, role_id="no-such-role")


def test_users_list_pagination_and_filters(services, admin):
    role = _role(services, "analyst")
    for i in range(7):
        services.users.create(admin, f"u{i}@example.com", "s3cret-pass", role.uid,
                              status="disabled" if i % 2 else "active")
    page = services.users.list(admin, skip=2, limit=3)
    assert page.total == 9 and len(page.items) == 3
    assert services.users.list(admin, status="disabled").total == 3
    assert services.users.list(admin, role_id=_role(services, "admin").uid).total == 1


def test_last_admin_guard_rails(services, admin):
    admin_role = _role(services, "admin")
    analyst_role = _role(services, "analyst")
    with pytest.raises(Conflict):
        services.users.delete(admin, admin.uid)
    with pytest.raises(Conflict):
        services.users.update(admin, admin.uid, status="disabled")
    with pytest.raises(Conflict):
        services.users.update(admin, admin.uid, role_id=analyst_role.uid)
    with pytest.raises(Conflict):
        services.roles.update(admin, admin_role.uid, permissions=["manage_users"])
    second = services.users.create(admin, "boss@example.com", "s3cret-pass", admin_role.uid)
    services.users.update(admin, admin.uid, role_id=analyst_role.uid)  # now allowed: another admin exists
    boss = services.auth.login("boss@example.com", "s3cret-pass")
    with pytest.raises(Conflict):
        services.users.delete(boss, second.uid)


def test_pending_approval_only_for_pending(services, admin):
    with pytest.raises(Conflict):
        services.users.approve(admin, services.users.find_by_email("analyst@free.com").uid)


def test_role_crud_and_guards(services, admin):
    role = services.roles.create(admin, "power user", ["read_datasets", "use_notebooks"], "Notebook explorers")
    assert role.data.permissions == ["read_datasets", "use_notebooks"]
    with pytest.raises(Conflict):
        services.roles.create(admin, "power user", [])
    with pytest.raises(ValidationError) as exc:
        services.roles.create(admin, "bad", ["fly"])
    assert exc.value.field == "data.permissions[0]"
    services.roles.update(admin, role.uid, description="Changed", permissions=["read_datasets"])
    assert services.roles.get(admin, role.uid).data.permissions == ["read_datasets"]
    user = services.users.create(admin, "p@example.com", "s3cret-pass", role.uid)
    with pytest.raises(Conflict, match="still have the role"):
        services.roles.delete(admin, role.uid)
    services.users.delete(admin, user.uid)
    services.roles.delete(admin, role.uid)
    assert services.roles.find(role.uid) is None
    with pytest.raises(Conflict):
        services.roles.delete(admin, _role(services, "admin").uid)


def test_role_change_takes_effect_immediately(services, admin, analyst):
    analyst_role = _role(services, "analyst")
    assert services.tasks.list(analyst).total == 0
    services.roles.update(admin, analyst_role.uid, permissions=["view_overview"])
    with pytest.raises(PermissionDenied, match="read_tasks"):
        services.tasks.list(analyst)


def test_account_listeners_hear_deletions_and_disables(services, admin):
    heard = []
    services.account_listeners.append(lambda uid, email: heard.append((uid, email)))
    role = _role(services, "analyst")
    user = services.users.create(admin, "l@example.com", "s3cret-pass", role.uid)
    services.users.update(admin, user.uid, status="disabled")
    services.users.delete(admin, user.uid)
    assert heard == [(user.uid, "l@example.com"), (user.uid, "l@example.com")]


def test_emails_of_the_users_named_however_many_users_exist(services, admin):
    """The overview's activity list showed "deleted user" for anyone past the first 500 users."""
    role = services.roles.by_name("analyst")
    services.db.insert_many("users", [{"email": f"u{i:04d}@example.com", "password": "", "role_id": role.uid,
                                        "status": "active"} for i in range(520)], by="system")
    last = services.users.find_by_email("u0519@example.com")
    emails = services.users.emails(admin, [last.uid, admin.uid, "", "gone"])
    assert emails == {last.uid: "u0519@example.com", admin.uid: "admin@free.com"}
