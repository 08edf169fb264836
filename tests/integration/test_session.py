"""The kernel's user: JUPYTERHUB_USER inside the hub, DALLOSH_LOCAL_USER outside, permissions from the database."""

from __future__ import annotations

import pytest

from dallosh.errors import PermissionDenied
from dallosh.session import current_actor, current_user_name


def test_hub_user_from_environment(services, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "analyst@free.com")
    actor = current_actor(services)
    assert actor.email == "analyst@free.com" and actor.role_name == "analyst"
    assert "manage_tasks" in actor.permissions and "manage_app" not in actor.permissions


def test_local_user_outside_the_hub(services, monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_USER", raising=False)
    assert current_user_name() == services.config.local_user == "admin@free.com"
    assert current_actor(services).is_admin


def test_disabled_user_gets_no_actor(services, admin, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "analyst@free.com")
    analyst = services.users.find_by_email("analyst@free.com")
    services.users.update(admin, analyst.uid, status="disabled")
    with pytest.raises(PermissionDenied, match="No active account"):
        current_actor(services)


def test_permissions_follow_role_edits(services, admin, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_USER", "analyst@free.com")
    role = services.roles.by_name("analyst")
    services.roles.update(admin, role.uid, permissions=["view_overview", "use_notebooks"])
    assert current_actor(services).permissions == frozenset({"view_overview", "use_notebooks"})
