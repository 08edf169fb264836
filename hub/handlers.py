"""Extra hub pages: the public landing page, self-registration and the unsubscribe page of report e-mails
(XSRF-protected by JupyterHub)."""

from __future__ import annotations

import time

from jupyterhub import orm
from jupyterhub.handlers import BaseHandler
from jupyterhub.handlers.login import LogoutHandler
from jupyterhub.orm import new_token

from dallosh.defaults import PASSWORD_MIN_LENGTH
from dallosh.errors import DalloshError
from dallosh.services import get_services


class LandingHandler(BaseHandler):
    """The product page for anonymous visitors (``/``); signed-in users go straight to their dashboards."""

    async def get(self):
        if self.current_user:
            self.redirect(self.get_next_url(self.current_user))
            return
        general = get_services().settings.general()
        html = await self.render_template("landing.html", app_name=general.appName,
                                          app_description=general.appDescription,
                                          register_url=self.hub.base_url + "register",
                                          login_url=self.settings["login_url"])
        self.finish(html)


class LogoutEverywhereHandler(LogoutHandler):
    """Logout that ends the session on the server too.

    JupyterHub's hub cookie carries the user's ``cookie_id``, which stays valid after logout (the browser merely
    forgets the cookie; a copied cookie kept working for its 30 days). A new ``cookie_id`` makes every copy of the
    old cookie worthless, and deleting the user's browser-session tokens does the same for the cookies of their
    servers (which check tokens with the hub at least every ``HubOAuth.cache_max_age`` s, see
    singleuser_config.py): signing out signs out everywhere.
    """

    async def handle_logout(self):
        user = self.current_user
        if user is not None:
            user.orm_user.cookie_id = new_token()
            for token in self.db.query(orm.APIToken).filter(orm.APIToken.user_id == user.id,
                                                            orm.APIToken.session_id.isnot(None)):
                self.db.delete(token)
            self.db.commit()
            self.log.info("Session of %s ended everywhere", user.name)


class RegisterHandler(BaseHandler):
    """``/hub/register``: creates an analyst through the auth service."""

    async def _render(self, **ns):
        general = get_services().settings.general()
        return await self.render_template("register.html", app_name=general.appName, xsrf=self.xsrf_token.decode(),
                                          login_url=self.settings["login_url"], min_length=PASSWORD_MIN_LENGTH, **ns)

    async def get(self):
        if self.current_user:
            self.redirect(self.get_next_url(self.current_user))
            return
        self.finish(await self._render(error=None, success=None, email=""))

    async def post(self):
        email = self.get_body_argument("email", default="").strip()
        password = self.get_body_argument("password", default="")
        confirm = self.get_body_argument("password_confirm", default="")
        started = time.monotonic()
        try:
            user = get_services().auth.register(None, email, password, confirm)
        except DalloshError as exc:
            message = str(exc)
            if "already exists" in message:
                # Same answer as a success would give, so the form cannot be used to probe for accounts.
                message = None
            if message:
                self.set_status(400)
                self.finish(await self._render(error=message, success=None, email=email))
                return
            pending = get_services().settings.general().requireApproval
        else:
            pending = user.data.status == "pending"
        await _pad(started)
        # True for a new email and for one that already has an account (which is left unchanged), so the form
        # neither lies nor tells a stranger which emails have accounts.
        success = (f"Request received for {email}. New accounts wait for an administrator's approval: you can "
                   "sign in once it is approved." if pending else
                   f"Account ready for {email}: sign in with the password you chose.")
        success += " If this email already had an account, nothing was changed: sign in with its own password."
        self.finish(await self._render(error=None, success=success, email=email))


async def _pad(started: float, floor: float = 0.15) -> None:
    """Equalise response times of new and existing emails."""
    import asyncio

    await asyncio.sleep(max(0.0, floor - (time.monotonic() - started)))



class UnsubscribeHandler(BaseHandler):
    """``/hub/dallosh/unsubscribe?token=…``: the link of a scheduled report's e-mail, without sign-in.

    GET only shows what the link would switch off and a button; the POST (XSRF-checked by JupyterHub) does it, so
    a mail scanner that follows links unsubscribes no one. The token opens this one subscription and nothing else.
    """

    async def _render(self, status: int = 200, **ns):
        general = get_services().settings.general()
        self.set_status(status)
        self.set_header("Cache-Control", "no-store")
        self.set_header("Referrer-Policy", "no-referrer")  # the token must not leak to another site
        html = await self.render_template("unsubscribe.html", app_name=general.appName,
                                          xsrf=self.xsrf_token.decode(), login_url=self.settings["login_url"],
                                          **{"done": False, "error": None, "token": "", "about": None, **ns})
        self.finish(html)

    async def get(self):
        token = self.get_query_argument("token", default="")
        try:
            about = get_services().subscriptions.describe_token(token)
        except DalloshError as exc:
            await self._render(404, error=str(exc))
            return
        await self._render(about=about, token=token)

    async def post(self):
        token = self.get_body_argument("token", default="")
        try:
            sub = get_services().subscriptions.unsubscribe(token)
        except DalloshError as exc:
            await self._render(404, error=str(exc))
            return
        await self._render(done=True, about={"schedule": sub.data.describe_schedule(), "email": sub.data.email})
