"""Users: admin CRUD, approvals, password resets, and the ``actor`` lookup every permission check uses.

Guard rail: no change may leave the app without an active user holding ``manage_app``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from dallosh.errors import Conflict, NotFound, ValidationError
from dallosh.passwords import hash_password
from dallosh.schemas import Record, UserData, dump, normalise_email, parse
from dallosh.services.base import Actor, Page, Service, audited

COLLECTION = "users"


def public(record: Record[UserData]) -> Record[UserData]:
    """A user record safe to show or return: the password hash is removed."""
    record.data.password = ""
    return record


class UsersService(Service):
    # -- internal lookups (no permission check: used by auth and by every authorize call) ------------------

    def find(self, uid: str) -> Record[UserData] | None:
        doc = self.db.get(COLLECTION, uid)
        return Record.from_doc(UserData, doc) if doc else None

    def find_by_email(self, email: str) -> Record[UserData] | None:
        doc = self.db.find_one(COLLECTION, {"data.email": normalise_email(email)})
        return Record.from_doc(UserData, doc) if doc else None

    def actor(self, uid: str) -> Actor | None:
        """The Actor for an active user, with their role's current permissions; None if missing or inactive."""
        user = self.find(uid)
        if user is None or user.data.status != "active":
            return None
        return self.actor_from(user)

    def actor_from(self, user: Record[UserData]) -> Actor:
        role = self.ctx.roles.find(user.data.role_id)
        return Actor(uid=user.uid, email=user.data.email, role_id=user.data.role_id,
                     role_name=role.data.name if role else "",
                     permissions=frozenset(role.data.permissions) if role else frozenset())

    def count_in_role(self, role_id: str) -> int:
        return self.db.count(COLLECTION, {"data.role_id": role_id})

    def count_active_in_roles(self, role_ids: Iterable[str]) -> int:
        return self.db.count(COLLECTION, {"data.role_id": {"$in": list(role_ids)}, "data.status": "active"})

    def ensure_admin_remains(self, leaving_uid: str) -> None:
        """Refuse when ``leaving_uid`` is the last active user whose role has ``manage_app``."""
        admin_roles = self.ctx.roles._admin_role_ids()
        others = self.db.count(COLLECTION, {"data.role_id": {"$in": list(admin_roles)}, "data.status": "active",
                                            "uid": {"$ne": leaving_uid}})
        user = self.find(leaving_uid)
        if user and user.data.role_id in admin_roles and user.data.status == "active" and others == 0:
            raise Conflict("This is the last active administrator; make another user an administrator first.")

    def insert_user(self, by: Actor, email: str, password: str, role_id: str, *, name: str = "",
                    status: str = "active") -> Record[UserData]:
        """Create a user after every check (shared by admin creation, registration and bootstrap)."""
        email = normalise_email(email)
        if self.ctx.roles.find(role_id) is None:
            raise ValidationError("data.role_id", f"does not exist (id {role_id!r}); pick one from the roles list")
        data = parse(UserData, {"email": email, "password": "x", "role_id": role_id, "name": name.strip(),
                                "status": status})
        if self.find_by_email(email) is not None:
            raise Conflict("An account with this email already exists.")
        data.password = hash_password(password)
        # The unique index on data.email turns a concurrent duplicate into Conflict as well.
        return Record.from_doc(UserData, self.db.insert(COLLECTION, dump(data), by=by.uid))

    # -- admin operations ----------------------------------------------------------------------------------

    def emails(self, actor: Actor, uids: list[str]) -> dict[str, str]:
        """``{uid: email}`` of exactly these users (activity lists name who acted, however many users exist)."""
        self.authorize(actor, "read_users", "manage_users")
        wanted = sorted({u for u in uids if u})
        if not wanted:
            return {}
        docs = self.db.find(COLLECTION, {"uid": {"$in": wanted}}, projection=["data.email"])
        return {d["uid"]: d["data"]["email"] for d in docs}

    def list(self, actor: Actor, *, search: str = "", status: str | None = None, role_id: str | None = None,
             skip: int = 0, limit: int = 50) -> Page[Record[UserData]]:
        self.authorize(actor, "read_users", "manage_users")
        query: dict[str, Any] = {}
        if search:
            query["$or"] = [{"data.email": {"$regex": re.escape(search.strip()), "$options": "i"}},
                            {"data.name": {"$regex": re.escape(search.strip()), "$options": "i"}}]
        if status:
            query["data.status"] = status
        if role_id:
            query["data.role_id"] = role_id
        total = self.db.count(COLLECTION, query)
        docs = self.db.find(COLLECTION, query, sort=[("data.email", 1)], skip=max(0, skip), limit=max(1, limit))
        return Page([public(Record.from_doc(UserData, d)) for d in docs], total, skip, limit)

    def get(self, actor: Actor, uid: str) -> Record[UserData]:
        self.authorize(actor, "read_users", "manage_users")
        user = self.find(uid)
        if user is None:
            raise NotFound(f"No user with id {uid}.")
        return public(user)

    @audited("users.create")
    def create(self, actor: Actor, email: str, password: str, role_id: str, *, name: str = "",
               status: str = "active") -> Record[UserData]:
        actor = self.authorize(actor, "manage_users")
        self.ctx.auth.check_password_policy(password, email)
        return public(self.insert_user(actor, email, password, role_id, name=name, status=status))

    @audited("users.update", method="patch")
    def update(self, actor: Actor, uid: str, **changes: Any) -> Record[UserData]:
        """Change email, name, role, status or theme. Passwords go through ``reset_password``."""
        actor = self.authorize(actor, "manage_users")
        allowed = {"email", "name", "role_id", "status", "theme"}
        if set(changes) - allowed:
            raise ValidationError(f"data.{sorted(set(changes) - allowed)[0]}", "cannot be changed here")
        return public(self.apply_update(actor, uid, changes))

    def apply_update(self, actor: Actor, uid: str, changes: dict[str, Any]) -> Record[UserData]:
        """Validate and store a partial user change (shared with the user's own account updates)."""
        user = self.find(uid)
        if user is None:
            raise NotFound(f"No user with id {uid}.")
        if "email" in changes:
            changes["email"] = normalise_email(changes["email"])
            other = self.find_by_email(changes["email"])
            if other and other.uid != uid:
                raise Conflict("An account with this email already exists.")
        if "role_id" in changes and self.ctx.roles.find(changes["role_id"]) is None:
            raise ValidationError("data.role_id",
                                  f"does not exist (id {changes['role_id']!r}); pick one from the roles list")
        merged = parse(UserData, {**dump(user.data), **changes})
        demoted = merged.role_id != user.data.role_id or merged.status != "active"
        if demoted:
            admin_roles = self.ctx.roles._admin_role_ids()
            if merged.role_id not in admin_roles or merged.status != "active":
                self.ensure_admin_remains(uid)
        doc = self.db.update(COLLECTION, uid, {k: getattr(merged, k) for k in changes}, by=actor.uid)
        if merged.status != "active" or "role_id" in changes:
            self.ctx.notify_account_changed(uid, user.data.email)
        return Record.from_doc(UserData, doc)  # type: ignore[arg-type]

    @audited("users.approve", method="patch")
    def approve(self, actor: Actor, uid: str) -> Record[UserData]:
        """Let a pending registration sign in."""
        actor = self.authorize(actor, "manage_users")
        user = self.find(uid)
        if user is None:
            raise NotFound(f"No user with id {uid}.")
        if user.data.status != "pending":
            raise Conflict(f"{user.data.email} is not waiting for approval (status: {user.data.status}).")
        return public(self.apply_update(actor, uid, {"status": "active"}))

    @audited("users.reset_password", method="patch")
    def reset_password(self, actor: Actor, uid: str, new_password: str) -> None:
        actor = self.authorize(actor, "manage_users")
        user = self.find(uid)
        if user is None:
            raise NotFound(f"No user with id {uid}.")
        self.ctx.auth.check_password_policy(new_password, user.data.email)
        self.db.update(COLLECTION, uid, {"password": hash_password(new_password)}, by=actor.uid)
        self.ctx.auth.clear_failures(user.data.email)

    @audited("users.delete", method="delete")
    def delete(self, actor: Actor, uid: str) -> None:
        actor = self.authorize(actor, "manage_users")
        self.remove(uid)

    def remove(self, uid: str) -> None:
        """Delete a user after the last-admin check (shared by admin deletion and account self-deletion)."""
        user = self.find(uid)
        if user is None:
            raise NotFound(f"No user with id {uid}.")
        self.ensure_admin_remains(uid)
        self.db.delete(COLLECTION, uid)
        self.ctx.notify_account_changed(uid, user.data.email)
