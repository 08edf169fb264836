"""Roles: named permission sets. The last role granting ``manage_app`` cannot be deleted or stripped of it."""

from __future__ import annotations

from typing import Any

from dallosh.errors import Conflict, NotFound
from dallosh.schemas import Record, RoleData, dump, parse
from dallosh.services.base import Actor, Service, audited

COLLECTION = "roles"


class RolesService(Service):
    def _record(self, doc: dict[str, Any]) -> Record[RoleData]:
        return Record.from_doc(RoleData, doc)

    def find(self, uid: str) -> Record[RoleData] | None:
        """Internal lookup without permission check (used to build actors)."""
        doc = self.db.get(COLLECTION, uid)
        return self._record(doc) if doc else None

    def by_name(self, name: str) -> Record[RoleData] | None:
        doc = self.db.find_one(COLLECTION, {"data.name": name})
        return self._record(doc) if doc else None

    def list(self, actor: Actor) -> list[Record[RoleData]]:
        self.authorize(actor, "read_users", "manage_users")
        return [self._record(d) for d in self.db.find(COLLECTION, sort=[("data.name", 1)])]

    def get(self, actor: Actor, uid: str) -> Record[RoleData]:
        self.authorize(actor, "read_users", "manage_users")
        role = self.find(uid)
        if role is None:
            raise NotFound(f"No role with id {uid}.")
        return role

    def _check_unique_name(self, name: str, except_uid: str | None = None) -> None:
        existing = self.by_name(name)
        if existing and existing.uid != except_uid:
            raise Conflict(f"A role named {name!r} already exists; choose another name.")

    @audited("roles.create")
    def create(self, actor: Actor, name: str, permissions: list[str], description: str = "") -> Record[RoleData]:
        actor = self.authorize(actor, "manage_users")
        data = parse(RoleData, {"name": name.strip(), "permissions": list(permissions), "description": description})
        self._check_unique_name(data.name)
        return self._record(self.db.insert(COLLECTION, dump(data), by=actor.uid))

    def _admin_role_ids(self) -> set[str]:
        return {d["uid"] for d in self.db.find(COLLECTION) if "manage_app" in d["data"].get("permissions", [])}

    @audited("roles.update", method="patch")
    def update(self, actor: Actor, uid: str, **changes: Any) -> Record[RoleData]:
        actor = self.authorize(actor, "manage_users")
        role = self.find(uid)
        if role is None:
            raise NotFound(f"No role with id {uid}.")
        merged = parse(RoleData, {**dump(role.data), **changes})
        if merged.name != role.data.name:
            self._check_unique_name(merged.name, uid)
        if "manage_app" in role.data.permissions and "manage_app" not in merged.permissions:
            self._ensure_admins_remain(exclude_role=uid)
        return self._record(self.db.update(COLLECTION, uid, dump(merged), by=actor.uid))  # type: ignore[arg-type]

    def _ensure_admins_remain(self, exclude_role: str) -> None:
        """Refuse a change that would leave no active user able to manage the app."""
        others = self._admin_role_ids() - {exclude_role}
        if not others or not self.ctx.users.count_active_in_roles(others):
            raise Conflict("This is the last role that can manage the app with an active user; give another "
                           "role 'manage_app' (and a user) first.")

    @audited("roles.delete", method="delete")
    def delete(self, actor: Actor, uid: str) -> None:
        actor = self.authorize(actor, "manage_users")
        role = self.find(uid)
        if role is None:
            raise NotFound(f"No role with id {uid}.")
        in_use = self.ctx.users.count_in_role(uid)
        if in_use:
            raise Conflict(f"{in_use} user(s) still have the role {role.data.name!r}; move them to another role "
                           "first.")
        if "manage_app" in role.data.permissions:
            self._ensure_admins_remain(exclude_role=uid)
        self.db.delete(COLLECTION, uid)
