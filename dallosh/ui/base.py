"""What every view shares: its context (services, actor, navigation) and its life cycle.

A view is built once per kernel the first time it is shown and kept, so coming back to it is a
``children`` swap plus a refresh. ``on_show``/``on_hide`` start and stop whatever runs in the background
(timers, event subscribers) so a hidden view costs nothing.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import ipywidgets as w

from dallosh.errors import DalloshError
from dallosh.ui.account import DefaultPassword
from dallosh.ui.components import Alert, box, error_message, html_widget
from dallosh.ui.html import macro

if TYPE_CHECKING:
    from dallosh.services import Actor, Services

log = logging.getLogger(__name__)


@dataclass
class UIContext:
    """What a view may use. ``live=False`` (tests, benchmarks) runs background work inline and starts no threads."""

    services: Services
    actor: Actor
    live: bool = True
    navigate: Callable[..., None] = lambda name, **params: None
    theme: str = "light"
    #: Applies a theme to the whole App (set by the App; None when a view is built on its own).
    set_theme: Callable[[str], None] | None = None
    #: False once the page stopped pinging (tab closed): periodic work pauses (see ``dallosh.ui.presence``).
    watched: Callable[[], bool] = lambda: True
    #: Puts the shown view's state in the address bar's fragment (a reload or a shared link restores it).
    set_address_state: Callable[[str], None] = lambda fragment: None
    #: The address that opens the shown view with ``fragment`` for whoever follows it ("" outside a page).
    share_link: Callable[[str], str] = lambda fragment: ""
    threads: list[threading.Thread] = field(default_factory=list)
    #: Whether the user still has the default password: one answer for the App's banner and the Profile.
    default_password: DefaultPassword | None = None

    def __post_init__(self) -> None:
        if self.default_password is None:
            self.default_password = DefaultPassword(self.services, self.actor)

    def background(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn`` without blocking the kernel's message loop (inline when not live, so tests are deterministic)."""
        if not self.live:
            fn(*args)
            return
        thread = threading.Thread(target=fn, args=args, daemon=True, name=f"dallosh-ui-{fn.__name__}")
        self.threads = [t for t in self.threads if t.is_alive()] + [thread]
        thread.start()


class Guard:
    """Result of ``View.guard()``: ``failed`` tells the caller to stop after an error was shown."""

    failed = False
    error: BaseException | None = None


class View:
    """Base of the views. Subclasses set ``name``/``title`` and fill ``self.body``."""

    name = ""
    title = ""

    def __init__(self, ctx: UIContext):
        self.ctx = ctx
        self.services = ctx.services
        self.actor = ctx.actor
        self.alert = Alert()
        self.header = box([], "dl-view-header")
        self.body = box([], "dl-view-body")
        self.root = box([self.header, self.alert, self.body], "dl-view", f"dl-view-{self.name}")
        self.visible = False

    def set_heading(self, title: str, subtitle: str = "", *right: w.Widget) -> None:
        """The view's title line (the alert sits right under it, where the eye already is)."""
        title_widget = heading(title, subtitle)
        if right:
            self.header.children = [box([title_widget, box(right, "dl-row", vertical=False, align_items="center")],
                                        "dl-row", vertical=False, justify_content="space-between")]
        else:
            self.header.children = [title_widget]

    def can(self, *any_of: str) -> bool:
        """Whether to show an action (the service checks again when it runs)."""
        return any(self.actor.can(p) for p in any_of)

    def can_open(self, view: str) -> bool:
        """Whether a link to another view may be shown."""
        from dallosh.ui import registry

        spec = registry.get(view)
        return spec is not None and spec.allowed(self.actor)

    @contextmanager
    def guard(self, *, clear: bool = True) -> Iterator[Guard]:
        """Run a handler: a service error becomes its message in the red alert, never a traceback."""
        result = Guard()
        if clear:
            self.alert.clear()
        try:
            yield result
        except DalloshError as exc:
            result.failed, result.error = True, exc
            self.alert.error(error_message(exc))
        except Exception as exc:  # noqa: BLE001 - unexpected errors are logged, the user gets a plain sentence
            log.exception("%s view: unexpected error", self.name)
            result.failed, result.error = True, exc
            self.alert.error(error_message(exc))

    # -- life cycle (the App calls these) ------------------------------------------------------------------

    def on_show(self, **params: Any) -> None:
        self.visible = True
        self.refresh()

    def on_hide(self) -> None:
        self.visible = False
        self.clear_success()

    def clear_success(self) -> None:
        """A success message is about what was just done: coming back to the view later must not show it again
        (errors and warnings stay until dealt with)."""
        if self.alert.kind == "success":
            self.alert.clear()

    def on_theme(self, theme: str) -> None:
        """Views with charts restyle them here; CSS handles everything else."""

    def refresh(self) -> None:
        """Re-read what the view shows from the services."""

    def close(self) -> None:
        self.on_hide()


def heading(title: str, subtitle: str = "") -> w.Widget:
    return html_widget(macro("heading", title, subtitle), "dl-h1")


class TabbedView(View):
    """A view whose body is a set of tabs (``self.tabs``); ``navigate(name, tab=...)`` opens one of them."""

    tabs: Any

    def on_show(self, **params: Any) -> None:
        if params.get("tab") in self.tabs.panels:
            self.tabs.select(params["tab"])
        super().on_show(**params)


def drain(inbox: queue.Queue, first: Any) -> list[Any] | None:
    """``first`` and every message already waiting behind it (applied as one batch: a burst of task events
    repaints once); None when the batch holds the stop sentinel (None)."""
    batch = [first]
    while True:
        try:
            batch.append(inbox.get_nowait())
        except queue.Empty:
            break
    return None if any(m is None for m in batch) else batch
