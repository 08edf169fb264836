"""The App widget: navbar, role-dependent sidebar and a content area that switches views inside the kernel.

Navigation never reloads the page (the address bar follows it, see ``location``): every view is built once (the
first one at start, the others in the background a second later, see ``prefetch``) and kept in the content area;
``navigate(name)`` hides the current view (its timers and subscribers stop), shows the next one and refreshes it.
The theme is a class on this widget's root (``dl-light``/``dl-dark``), saved per user through
``services.auth.update_account``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from typing import Any

import ipywidgets as w

from dallosh.services import Actor, Services
from dallosh.ui import registry
from dallosh.ui.account import BANNER_ACTION, BANNER_TEXT
from dallosh.ui.base import UIContext, View
from dallosh.ui.components import (
    Alert,
    box,
    button,
    error_message,
    html_widget,
    set_display_timezone,
    set_visible,
)
from dallosh.ui.html import fragment, macro
from dallosh.ui.location import PageLocation, share_link, shared_notebook
from dallosh.ui.notifications import Notifications
from dallosh.ui.presence import Presence
from dallosh.ui.theme import ROOT_CLASS, normalise_theme, style_html

log = logging.getLogger(__name__)

#: Seconds after the first view before the others are built, and between two of them (a click waiting in the
#: kernel's queue runs in between).
PREFETCH_DELAY_S = 1.0
PREFETCH_STEP_S = 0.05
#: Seconds before looking again when the view shown is busy.
PREFETCH_BUSY_RETRY_S = 0.25

MAINTENANCE_TEXT = ("Maintenance mode: an administrator has paused processing. You can browse, but starting "
                    "tasks and adding datasets is blocked until maintenance ends.")


def kernel_loop() -> Any:
    """The kernel's running message loop (tornado's, on this thread), or None outside one."""
    from tornado.ioloop import IOLoop

    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return None
    return IOLoop.current()


def logout_url() -> str:
    """JupyterHub's logout page, under the hub's base URL when it has one."""
    base = os.environ.get("JUPYTERHUB_BASE_URL", "/")
    return base.rstrip("/") + "/hub/logout"


class App(w.VBox):
    """One user's dashboard: open it with ``App(services, actor, view="datasets")`` and display it.

    ``preheated``: built before the page was asked for (Voilà's preheated kernels; by default read from Voilà's
    ``VOILA_PREHEAT``): hidden until the page opens, and what depends on the request is read again then.
    """

    def __init__(self, services: Services, actor: Actor, *, view: str = "overview", live: bool = True,
                 preheated: bool | None = None, **params: Any):
        super().__init__()
        self.services, self.actor = services, actor
        #: Built by a kernel Voilà preheated: the page had not been asked for yet (see ``_on_page_open``).
        self.preheated = os.environ.get("VOILA_PREHEAT") == "True" if preheated is None else preheated
        self._page_opened = False
        # An admin may be on a page of home/ (a shared link): their other views are in admin/.
        self.location = PageLocation(self.navigate, on_state=self._on_address_state, on_open=self._on_page_open,
                                     extra=("../admin",) if actor.is_admin else ())
        self.ctx = UIContext(services, actor, live=live, navigate=self.navigate, set_theme=self.set_theme,
                             set_address_state=self._set_address_state, share_link=self._share_link)
        self.presence = Presence()
        if live:
            self.ctx.watched = self.presence.watched
        self.views: dict[str, View] = {}
        self._lock = threading.RLock()
        self.current: str | None = None
        self.last_switch_ms = 0.0
        self.app_name = ""  # the settings' (``refresh_chrome``)
        self.add_class(ROOT_CLASS)
        if self.preheated:
            self.add_class("dl-preheated")  # shown once ``_on_page_open`` has re-read what may have changed
        try:
            theme = services.auth.me(actor).data.theme
        except Exception:  # noqa: BLE001 - a missing preference must not keep the app from opening
            log.exception("could not read the theme preference")
            theme = "light"
        self.theme = normalise_theme(theme)
        self.ctx.theme = self.theme
        self.add_class(f"dl-{self.theme}")

        style = html_widget(style_html(), display="none")
        self.brand = html_widget("", "dl-brand")
        self.user_label = html_widget(fragment('{{ email }}<span class="dl-role">{{ role }}</span>',
                                               email=actor.email, role=actor.role_name or "no role"), "dl-user")
        self.theme_button = button("", self.toggle_theme, "dl-theme-toggle")
        self.profile_button = button("Profile", lambda: self.navigate("profile"), "dl-profile-link")
        self.logout_link = html_widget(macro("link", logout_url(), "Sign out", "dl-navlink"))
        spacer = box([], "dl-nav-spacer", vertical=False)
        navbar = box([self.brand, spacer, self.user_label, self.theme_button, self.profile_button,
                      self.logout_link], "dl-navbar", vertical=False)
        self.banner = html_widget("", "dl-banner")
        # The default-password warning of every view but the Profile (which has its own, beside the form).
        self.password_banner = box([html_widget(BANNER_TEXT, "dl-password-text"),
                                    button(BANNER_ACTION, lambda: self.navigate("profile"), "dl-link",
                                           "dl-password-link")], "dl-password-banner", vertical=False)
        set_visible(self.password_banner, False)
        self.notifications = Notifications(self.ctx)
        self.alert = Alert()
        self.nav_buttons: dict[str, w.Button] = {}
        specs = registry.sidebar_for(actor)
        for spec in specs:
            self.nav_buttons[spec.name] = button(spec.label, lambda n=spec.name: self.navigate(n), "dl-nav-item")
        # The user's own role (an admin may create "supervisor", "auditor"…), as the navbar shows it; escaped.
        title = html_widget(fragment("{{ role }}", role=actor.role_name or ("admin" if actor.is_admin else "no role")),
                            "dl-sidebar-title")
        self.sidebar = box([title, *self.nav_buttons.values()], "dl-sidebar")
        self.content = box([], "dl-content-inner")
        body = box([self.sidebar, box([self.alert, self.content], "dl-content")], "dl-body", vertical=False)
        self.children = [style, self.presence, self.location, navbar, self.banner, self.password_banner, body,
                         self.notifications]
        self._paint_theme_button()
        self.refresh_chrome()
        # A preheated page does not know its address yet: a view that would show a default (the newest dataset)
        # waits for the page to open (``on_page_open``), where a shared link may ask for another one.
        self.navigate(view, **({"deferred": True, **params} if self.preheated else params))
        self.ctx.default_password.observe(lambda _active: self._paint_password_banner())
        self.ctx.background(self._check_default_password)
        if live:
            self.notifications.start()
            if not self.preheated:
                self._schedule_prefetch()  # a preheated kernel's: once the page opens (``_on_page_open``)

    def _schedule_prefetch(self) -> None:
        """Build the other views on the kernel's own message loop, one per turn, never in a thread.

        They used to be built in a background thread. Widgets created there raced the page under load (about one
        CI run in three): a switch of theme was undone by the profile view's first refresh, and a view built in
        the thread sometimes never showed when opened (its messages and the main thread's reached the browser in
        an order the widget manager could not use). On the loop, a user's click waits at most for one view.
        """
        loop = kernel_loop()
        if loop is None:  # no running loop (a script): build them now, in order
            self.prefetch()
            return
        pending = [*self.allowed_views(), "profile"]

        def step() -> None:
            if getattr(self.view, "busy", False):
                # The view shown is still computing (a shared link's datasets being read): it goes first, the
                # page's widgets of the other views would slow its numbers down (kernel and browser alike).
                loop.call_later(PREFETCH_BUSY_RETRY_S, step)
                return
            while pending:
                name = pending.pop(0)
                if name not in self.views:
                    self._prefetch_one(name)
                    break
            if pending:
                loop.call_later(PREFETCH_STEP_S, step)

        loop.call_later(PREFETCH_DELAY_S, step)

    # -- chrome ---------------------------------------------------------------------------------------------

    def refresh_chrome(self) -> None:
        """App name and maintenance banner, re-read on every navigation (an admin may have changed them)."""
        try:
            general = self.services.settings.general()
        except Exception:  # noqa: BLE001 - the chrome must render even if settings cannot be read
            log.exception("could not read the general settings")
            return
        self.app_name = general.appName
        set_display_timezone(general.timeZone)
        self.brand.value = fragment('<span class="dl-brand-mark"></span>{{ name }}', name=general.appName)
        self.maintenance = general.isMaintenance
        self.banner.value = (fragment('<div role="status">{{ text }}</div>', text=MAINTENANCE_TEXT)
                             if general.isMaintenance else "")
        set_visible(self.banner, general.isMaintenance)
        self._paint_title()

    def _paint_title(self) -> None:
        """The browser tab's title: the current view's, then the app's name (both may change while open)."""
        view, spec = self.views.get(self.current or ""), registry.get(self.current or "")
        label = (view.title if view is not None else "") or (spec.label if spec else "")
        self.location.title = " · ".join(filter(None, [label, self.app_name]))

    def _check_default_password(self) -> None:
        try:
            self.ctx.default_password.check()
        except Exception:  # noqa: BLE001 - the warning is advice: the app works without it (Profile retries)
            log.exception("could not check for the default password")

    def _paint_password_banner(self) -> None:
        set_visible(self.password_banner, bool(self.ctx.default_password.active) and self.current != "profile")

    def _paint_theme_button(self) -> None:
        dark = self.theme == "dark"
        self.theme_button.description = "☀ Light" if dark else "☾ Dark"
        self.theme_button.tooltip = "Switch to the light theme" if dark else "Switch to the dark theme"

    def set_theme(self, theme: str, *, save: bool = True) -> None:
        """Apply a theme at once (a CSS class swap) and remember it for this user's next pages."""
        theme = normalise_theme(theme)
        if theme == self.theme:
            return
        self.remove_class(f"dl-{self.theme}")
        # A snapshot under the views' lock: the prefetch thread may be adding a view right now, and iterating
        # the dict itself then raised "dictionary changed size" and the click did nothing (UI tests saw the
        # toggle ignored for 60 s, ~2 runs in 10). A view still being built is in the snapshot once built.
        with self._lock:
            self.theme = self.ctx.theme = theme
            views = list(self.views.values())
        self.add_class(f"dl-{theme}")
        self._paint_theme_button()
        for view in views:
            view.on_theme(theme)
        if save:
            try:
                self.services.auth.update_account(self.actor, theme=theme)
            except Exception as exc:  # noqa: BLE001 - the switch works for this page even if saving failed
                self.alert.error(f"The theme changed but could not be saved: {error_message(exc)}")

    def toggle_theme(self) -> None:
        self.set_theme("light" if self.theme == "dark" else "dark")

    # -- navigation -----------------------------------------------------------------------------------------

    def allowed_views(self) -> list[str]:
        return [s.name for s in registry.sidebar_for(self.actor)]

    def navigate(self, name: str, **params: Any) -> View | None:
        """Show view ``name`` (built on first use); falls back to the first allowed view with a message."""
        started = time.perf_counter()
        self.alert.clear()
        spec = registry.get(name)
        if spec is None or not spec.allowed(self.actor):
            fallback = (self.allowed_views() or ["profile"])[0]
            if fallback != name:
                label = spec.label if spec else name
                self.navigate(fallback)
                self.alert.error(f"Your role cannot open {label}. Ask an administrator if you need it.")
                return self.views.get(fallback)
        with self._lock:
            view = self._build(name)
            if view is None:
                return None
            if self.current and self.current != name and self.current in self.views:
                self.views[self.current].on_hide()
            self.current = name
            for other in self.views.values():
                set_visible(other.root, other is view)
        self.location.show(name)
        for key, btn in self.nav_buttons.items():
            (btn.add_class if key == name else btn.remove_class)("dl-active")
        (self.profile_button.add_class if name == "profile" else self.profile_button.remove_class)("mod-active")
        self._paint_password_banner()
        self.refresh_chrome()  # after the swap: the page shows the view first, then the fresh data
        self._paint_title()
        view.on_show(**params)
        self.last_switch_ms = (time.perf_counter() - started) * 1000
        return view

    def _on_page_open(self, state: str = "") -> bool:
        """The browser shows the page. A preheated kernel built it before anyone asked for it, so what depends
        on the request is read again now: the user's role and permissions (changed: a new page is loaded),
        the settings, the theme and the current view's data (a dataset shared since is listed). The address's
        state (a shared link) is applied after this. False when the page is being replaced."""
        if not self.preheated or self._page_opened:
            return True
        self._page_opened = True
        from dallosh.session import current_actor

        try:
            actor = current_actor(self.services)
        except Exception:  # noqa: BLE001 - a disabled or deleted account: the new page says so
            log.exception("could not read this page's user again")
            actor = None
        if actor != self.actor:
            self.location.reload()
            return False
        self.refresh_chrome()
        try:
            self.set_theme(self.services.auth.me(actor).data.theme, save=False)
        except Exception:  # noqa: BLE001 - the theme is a preference: the page works without it
            log.exception("could not read the theme preference")
        self.ctx.background(self._check_default_password)
        view = self.view
        if view is not None:
            try:
                view.refresh()
                opening = getattr(view, "on_page_open", None)
                if opening is not None:
                    opening(state)  # its default, unless the address's state (applied next) decides
            except Exception:  # noqa: BLE001 - the view shows its own errors; the page must still show
                log.exception("could not refresh the %s view", self.current)
        self.remove_class("dl-preheated")
        # The other views are built now, not before: built earlier, all their widgets would reach the browser
        # with the page, before the view it shows (measured: +4 s to a shared link's numbers).
        if self.ctx.live:
            self._schedule_prefetch()
        return True

    def _set_address_state(self, fragment: str) -> None:
        self.location.state = fragment

    def _share_link(self, fragment: str) -> str:
        if not self.location.opened:
            return ""
        return share_link(self.location.opened, shared_notebook(self.current or "", self.location.folder)
                          or self.location.path, fragment)

    def _on_address_state(self, fragment: str) -> None:
        """The address carries a view's state (a shared link, a reload): the view that has state applies it."""
        view = self.views.get(self.current or "")
        apply = getattr(view, "apply_address_state", None)
        if apply is not None:
            apply(fragment)

    def _build(self, name: str) -> View | None:
        """The view ``name``, built once and kept in the page (hidden while another view shows).

        Kept views make coming back re-render nothing in the browser, and an upload or download in progress
        survives a look at another view.
        """
        with self._lock:
            view = self.views.get(name)
            if view is not None:
                return view
            spec = registry.get(name)
            try:
                view = spec.load()(self.ctx)  # type: ignore[union-attr]
            except Exception as exc:  # noqa: BLE001 - a broken view must not take the whole app down
                log.exception("could not build the %s view", name)
                self.alert.error(error_message(exc))
                return None
            set_visible(view.root, False)
            self.views[name] = view
            self.content.children = (*self.content.children, view.root)
            return view

    def prefetch(self) -> None:
        """Build and fill the other sidebar views in the background, so even a first visit is a class swap.

        The browser renders a view's widgets when they arrive (~0.4–0.9 s for a full view), so doing it while
        the user reads the first page makes every later click cost only the swap.
        """
        for name in [*self.allowed_views(), "profile"]:
            if name not in self.views:
                self._prefetch_one(name)

    def _prefetch_one(self, name: str) -> None:
        view = self._build(name)
        if view is not None and not view.visible:
            try:
                view.refresh()
            except Exception:  # noqa: BLE001 - a failed prefetch is retried by the real visit
                log.exception("prefetching the %s view failed", name)

    @property
    def view(self) -> View | None:
        return self.views.get(self.current or "")

    def close(self) -> None:
        with self._lock:
            views = list(self.views.values())
        for view in views:
            view.close()
        self.notifications.close()
        super().close()
