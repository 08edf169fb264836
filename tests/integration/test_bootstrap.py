from __future__ import annotations

from dallosh.bootstrap import bootstrap
from dallosh.defaults import ANALYST_PERMISSIONS, PERMISSIONS


def test_bootstrap_creates_defaults(services):
    admin_role = services.roles.by_name("admin")
    analyst_role = services.roles.by_name("analyst")
    assert sorted(admin_role.data.permissions) == sorted(PERMISSIONS)
    assert sorted(analyst_role.data.permissions) == sorted(ANALYST_PERMISSIONS)
    assert services.users.find_by_email("admin@free.com").data.role_id == admin_role.uid
    assert services.users.find_by_email("analyst@free.com").data.role_id == analyst_role.uid
    for folder in ("datasets", "cleaned", "analysed"):
        assert (services.storage.root / folder).is_dir()


def test_bootstrap_is_idempotent_and_keeps_admin_edits(services, admin):
    services.settings.update_general(admin, appName="Edited")
    analyst_role = services.roles.by_name("analyst")
    services.roles.update(admin, analyst_role.uid, permissions=["view_overview"])
    services.auth.change_password(admin, "123456", "n3w-password")
    counts = {c: services.db.count(c) for c in ("users", "roles", "settings")}
    report = bootstrap(services)
    assert report.created == []
    assert {c: services.db.count(c) for c in ("users", "roles", "settings")} == counts
    assert services.settings.general().appName == "Edited"
    assert services.roles.by_name("analyst").data.permissions == ["view_overview"]
    assert report.warnings == [w for w in report.warnings if "analyst@free.com" in w]  # admin changed theirs


def test_bootstrap_warns_about_default_passwords(services):
    report = bootstrap(services)
    assert len(report.warnings) == 2 and all("default password" in w for w in report.warnings)


def test_bootstrap_recreates_a_deleted_default_account(services, admin):
    analyst = services.users.find_by_email("analyst@free.com")
    services.users.delete(admin, analyst.uid)
    report = bootstrap(services)
    assert report.created == ["user analyst@free.com"]
