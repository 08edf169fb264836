"""What every service shares: the acting user, permission checks and the audit decorator."""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from dallosh.defaults import PERMISSIONS
from dallosh.errors import DalloshError, PermissionDenied

if TYPE_CHECKING:
    from dallosh.services import Services

T = TypeVar("T")


@dataclass(frozen=True)
class Actor:
    """Who is calling a service. Built from the database by ``UsersService.actor`` or ``AuthService.login``."""

    uid: str
    email: str
    role_id: str = ""
    role_name: str = ""
    permissions: frozenset[str] = frozenset()
    is_system: bool = False

    def can(self, permission: str) -> bool:
        return self.is_system or permission in self.permissions

    @property
    def is_admin(self) -> bool:
        """Admins land on the admin dashboards and are JupyterHub admins."""
        return self.can("manage_app")


#: The worker, the bootstrap and the CLI act as ``system`` (``createdBy: "system"`` in documents).
SYSTEM = Actor(uid="system", email="system", role_name="system", permissions=frozenset(PERMISSIONS), is_system=True)


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a list, with the total for pagination controls."""

    items: list[T]
    total: int
    skip: int = 0
    limit: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


class Service:
    """Base of the services: gives access to the shared context and checks permissions."""

    def __init__(self, ctx: Services):
        self.ctx = ctx

    @property
    def db(self):
        return self.ctx.db

    def authorize(self, actor: Actor | None, *any_of: str) -> Actor:
        """Return the actor refreshed from the database if it holds one of ``any_of``; else PermissionDenied.

        Permissions are re-read on every call, so disabling a user or editing a role takes effect at once,
        even in a kernel that logged in hours ago.
        """
        if actor is None:
            raise PermissionDenied("Sign in first.")
        if actor.is_system:
            return actor
        fresh = self.ctx.users.actor(actor.uid)
        if fresh is None:
            raise PermissionDenied("Your account no longer exists or is disabled. Sign in again.")
        if any_of and not any(fresh.can(p) for p in any_of):
            needed = " or ".join(any_of)
            raise PermissionDenied(f"Your role ({fresh.role_name or 'none'}) lacks the permission {needed}. "
                                   "Ask an administrator if you need it.")
        return fresh


def authorize_owner(actor: Actor, owner_uid: str, what: str) -> None:
    """Acting on a dataset (or its task) someone else uploaded needs ``manage_all_datasets``.

    ``actor`` must already be refreshed by ``Service.authorize``; ``what`` names the record for the message.
    """
    if actor.is_system or actor.uid == owner_uid or actor.can("manage_all_datasets"):
        return
    raise PermissionDenied(f"{what} belongs to another user. Only its owner, or someone whose role may manage "
                           "everyone's datasets, can do this.")


def audited(action: str, method: str = "post", target: Callable[..., str] | None = None):
    """Log every call of a mutating service method (who, what, target, result), including refused ones.

    ``target(args, kwargs, result)`` names the affected document; by default the first positional argument
    after the actor, or the result's ``uid``.
    """

    def decorate(fn):
        @functools.wraps(fn)
        def wrapper(self: Service, actor: Actor | None, *args, **kwargs):
            def name_target(result: Any = None) -> str:
                if target is not None:
                    try:
                        return target(args, kwargs, result)
                    except Exception:  # noqa: BLE001 - a naming failure must not hide the real outcome
                        return ""
                if args and isinstance(args[0], str):
                    return f"{action.split('.')[0]}/{args[0]}"
                uid = getattr(result, "uid", None)
                return f"{action.split('.')[0]}/{uid}" if uid else ""

            try:
                result = fn(self, actor, *args, **kwargs)
            except PermissionDenied:
                self.ctx.logs.record(actor, action, name_target(), "denied", method=method)
                raise
            except DalloshError as exc:
                self.ctx.logs.record(actor, action, name_target(), f"error: {exc}", method=method)
                raise
            self.ctx.logs.record(actor, action, name_target(result), "ok", method=method)
            return result

        wrapper.audited_action = action  # type: ignore[attr-defined]
        return wrapper

    return decorate
