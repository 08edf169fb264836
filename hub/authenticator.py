"""JupyterHub login backed by the dallosh users collection (no separate user list).

The hub name of a user is their email. Each login re-reads the role: ``groups`` is the role name and only roles
with ``manage_app`` make JupyterHub admins. Refusals raise HTTP errors whose message JupyterHub's login form
shows as is (the auth service keeps them generic: no user enumeration).
"""

from __future__ import annotations

import asyncio

from jupyterhub.auth import Authenticator
from tornado import web

from dallosh.errors import AuthenticationFailed, LoginThrottled
from dallosh.services import get_services


class DalloshAuthenticator(Authenticator):
    """Email + password through ``AuthService.login`` (throttling, disabled and pending accounts included)."""

    @property
    def services(self):
        return get_services()

    async def authenticate(self, handler, data):
        email = (data or {}).get("username", "")
        password = (data or {}).get("password", "")
        # The client's address: the proxy appends it to X-Forwarded-For and JupyterHub's server trusts that
        # last hop (xheaders), so a forged header does not change it.
        address = handler.request.remote_ip if handler is not None else ""
        try:
            # scrypt takes ~40 ms of CPU: in a thread, so eight people signing in do not stall every other page.
            actor = await asyncio.get_running_loop().run_in_executor(
                None, self.services.auth.login, email, password, address)
        except LoginThrottled as exc:
            raise web.HTTPError(429, str(exc)) from None
        except AuthenticationFailed as exc:
            raise web.HTTPError(403, str(exc)) from None
        return {"name": actor.email, "admin": actor.is_admin, "groups": [actor.role_name] if actor.role_name else [],
                "auth_state": {"uid": actor.uid, "permissions": sorted(actor.permissions)}}

    async def refresh_user(self, user, handler=None, **kwargs):
        """Re-check the account on every auth refresh: disabled or deleted users lose their session."""
        record = self.services.users.find_by_email(user.name)
        actor = self.services.users.actor(record.uid) if record else None
        if actor is None:
            return False
        return {"name": actor.email, "admin": actor.is_admin, "groups": [actor.role_name] if actor.role_name else []}

    def normalize_username(self, username: str) -> str:
        return (username or "").strip().lower()

    def get_handlers(self, app):
        from hub.handlers import LandingHandler, LogoutEverywhereHandler, RegisterHandler, UnsubscribeHandler

        # Ours come before JupyterHub's own handlers, so /logout is ours.
        return [*super().get_handlers(app), ("/register", RegisterHandler), ("/landing", LandingHandler),
                ("/logout", LogoutEverywhereHandler), ("/dallosh/unsubscribe", UnsubscribeHandler)]
