"""Idempotent first-run setup: storage folders, indexes, default roles, settings and accounts."""

from __future__ import annotations

from dataclasses import dataclass, field

from dallosh.defaults import (
    ANALYST_PERMISSIONS,
    DEFAULT_ADMIN_EMAIL,
    DEFAULT_ANALYST_EMAIL,
    DEFAULT_PASSWORD,
    PERMISSIONS,
)
from dallosh.errors import Conflict
from dallosh.services import SYSTEM, Services

#: (collection, field, unique) — uid everywhere; unique emails; lookups the services make often.
INDEXES: tuple[tuple[str, str, bool], ...] = (
    *((c, "uid", True) for c in ("users", "roles", "files", "tasks", "logs", "settings", "login_throttle")),
    ("users", "data.email", True),
    ("roles", "data.name", True),
    ("login_throttle", "data.key", True),
    ("login_throttle", "data.email", False),
    ("files", "data.sha256", False),
    ("tasks", "data.file_id", False),
    ("tasks", "data.status", False),
    ("logs", "createdAt", False),
    ("task_events", "data.task_id", False),
    ("corrections", "data.file_id", False),
    # alert rules, their episode states (saved by compare-and-set: a second first save must fail) and firings
    *((c, "uid", True) for c in ("alert_rules", "alert_states", "alert_firings")),
    ("alert_firings", "createdAt", False),
    ("subscriptions", "uid", True),
    ("subscriptions", "data.owner", False),
)

DEFAULT_ROLES = {
    "admin": ("Administrators: every permission.", list(PERMISSIONS)),
    "analyst": ("Data analysts: upload datasets, run tasks, explore KPIs (dashboards only).",
                list(ANALYST_PERMISSIONS)),
}


@dataclass
class BootstrapReport:
    created: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def bootstrap(services: Services) -> BootstrapReport:
    """Create whatever is missing; never changes what an admin has edited."""
    report = BootstrapReport()
    services.storage.ensure()
    for collection, fld, unique in INDEXES:
        services.db.ensure_index(collection, fld, unique=unique)
    if services.db.get("settings", "settings") is None:
        report.created.append("settings")
    services.settings.ensure()
    role_ids = {}
    for name, (description, permissions) in DEFAULT_ROLES.items():
        role = services.roles.by_name(name)
        if role is None:
            try:
                doc = services.db.insert("roles", {"name": name, "description": description,
                                                   "permissions": permissions}, by="system")
                report.created.append(f"role {name}")
                role_ids[name] = doc["uid"]
            except Conflict:  # a concurrent bootstrap created it
                role_ids[name] = services.roles.by_name(name).uid  # type: ignore[union-attr]
        else:
            role_ids[name] = role.uid
            if name == "admin" and set(PERMISSIONS) - set(role.data.permissions):
                # "admin" means every permission: one added by an upgrade (e.g. manage_all_datasets) joins it.
                added = sorted(set(PERMISSIONS) - set(role.data.permissions))
                services.db.update("roles", role.uid, {"permissions": list(PERMISSIONS)}, by="system")
                report.created.append(f"permissions {', '.join(added)} of role admin")
    for email, role in ((DEFAULT_ADMIN_EMAIL, "admin"), (DEFAULT_ANALYST_EMAIL, "analyst")):
        user = services.users.find_by_email(email)
        if user is None:
            try:
                user = services.users.insert_user(SYSTEM, email, DEFAULT_PASSWORD, role_ids[role])
                report.created.append(f"user {email}")
            except Conflict:
                user = services.users.find_by_email(email)
        if user is not None and services.auth.uses_default_password(user):
            report.warnings.append(f"{email} still uses the default password {DEFAULT_PASSWORD!r}: change it "
                                   "from the profile page before going to production.")
    if report.created:
        services.logs.record(SYSTEM, "system.bootstrap", "app", "ok", details={"created": report.created})
    return report
