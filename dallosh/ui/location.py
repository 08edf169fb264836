"""The browser's address follows the view, so reload, bookmarks and Back/Forward work as on any web app.

Views switch inside the kernel, without loading a page. Every view also has its own notebook next to the one
the page opened (``home/datasets.ipynb``, ``../profile.ipynb``), so the address of the current view is that
notebook: each switch pushes it on the browser's history, a reload opens that view directly, and Back/Forward
send the page's address back to the kernel, which switches to the matching view.

Voilà starts a kernel in its notebook's folder, so the kernel finds the sibling notebooks in its working
directory. Where there is none (nbval, a notebook opened elsewhere) the address is simply left alone.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit, urlunsplit

import anywidget
import traitlets as t

LOCATION_JS = r"""
function render({ model, el }) {
  // Paths are relative to the notebook the page opened with, whatever address it shows now.
  const opened = location.href.split("#")[0];
  const absolute = (path) => new URL(path, opened).pathname;
  // The view's state (the Analysis filters) rides in the fragment: it never reaches a server.
  const withState = (pathname) => {
    const state = model.get("state");
    return pathname + location.search + (state ? "#" + state : "");
  };
  const follow = () => {
    const path = model.get("path");
    if (path && absolute(path) !== location.pathname) {
      history.pushState({ dallosh: path }, "", withState(absolute(path)));
    }
  };
  const keep = () => {
    if ("#" + model.get("state") !== (location.hash || "#")) {
      history.replaceState(history.state, "", withState(location.pathname));
    }
  };
  // The tab's title names the view shown (the page's own title named the first one).
  const title = () => { if (model.get("title")) document.title = model.get("title"); };
  model.on("change:title", title);
  title();
  history.replaceState({ dallosh: model.get("path") }, "");
  const back = (event) => {
    const path = event.state && event.state.dallosh;
    if (path) model.send({ type: "navigate", path });
  };
  const pasted = () => model.send({ type: "state", state: location.hash.slice(1) });
  // The kernel asks for a new page (it was prepared before this page asked for it, for another role).
  const told = (message) => { if (message && message.type === "reload") location.reload(); };
  model.on("msg:custom", told);
  window.addEventListener("popstate", back);
  window.addEventListener("hashchange", pasted);
  model.on("change:path", follow);
  model.on("change:state", keep);
  model.send({ type: "opened", href: opened, state: location.hash.slice(1) });
  follow();
  return () => {
    window.removeEventListener("popstate", back);
    window.removeEventListener("hashchange", pasted);
    model.off("change:path", follow);
    model.off("change:state", keep);
    model.off("msg:custom", told);
    model.off("change:title", title);
  };
}
export default { render };
"""


#: A user's server lives under ``/user/<name>/``; the hub's ``user-redirect`` sends whoever opens a link to
#: their OWN server, where the same notebook exists.
_USER_PREFIX = re.compile(r"^(?P<base>.*?/)user/[^/]+/(?P<rest>.*)$")


def share_link(opened: str, notebook: str, fragment: str) -> str:
    """The address to share: the same notebook on whoever opens it's own server (through the hub), same state.

    ``opened`` is the address the page was opened with (its query string is dropped: it may carry a token),
    ``notebook`` the Analysis notebook relative to it.
    """
    parts = urlsplit(urljoin(opened, notebook or ""))
    path = parts.path
    match = _USER_PREFIX.match(path)
    if match:
        path = f"{match['base']}hub/user-redirect/{match['rest']}"
    return urlunsplit((parts.scheme, parts.netloc, path, "", fragment))


#: The folder of the pages every user's server serves (an analyst's has no ``admin/``): shared links open there.
SHARED_FOLDER = "home"


def notebook_for(view: str, folder: Path | None = None, extra: tuple[str, ...] = ()) -> str:
    """The notebook that opens ``view``, relative to this kernel's notebook folder; "" when there is none.

    ``extra``: more folders to look in, relative to that one (an admin's page opened from ``home/`` finds the
    admin pages in ``../admin``).
    """
    folder = Path.cwd() if folder is None else folder
    for relative in (f"{view}.ipynb", f"../{view}.ipynb", *(f"{x.rstrip('/')}/{view}.ipynb" for x in extra)):
        if (folder / relative).is_file():
            return relative
    return ""


def shared_notebook(view: str, folder: Path | None = None) -> str:
    """The notebook a shared link to ``view`` names, relative to this kernel's notebook folder: the one in
    ``SHARED_FOLDER`` (an admin's ``admin/analysis.ipynb`` does not exist on an analyst's server), else the
    view's own."""
    folder = Path.cwd() if folder is None else folder
    relative = f"../{SHARED_FOLDER}/{view}.ipynb"
    return relative if (folder / relative).is_file() else notebook_for(view, folder)


class PageLocation(anywidget.AnyWidget):
    """An invisible widget keeping the address bar on the current view's notebook."""

    _esm = LOCATION_JS
    path = t.Unicode("").tag(sync=True)
    #: The current view's state as an address fragment ("" for none), kept in the address bar.
    state = t.Unicode("").tag(sync=True)
    #: The browser tab's title (the current view's).
    title = t.Unicode("").tag(sync=True)

    def __init__(self, on_navigate: Callable[[str], Any], folder: Path | None = None,
                 on_state: Callable[[str], Any] | None = None, on_open: Callable[[str], Any] | None = None,
                 extra: tuple[str, ...] = (), **kwargs: Any):
        super().__init__(**kwargs)
        self.layout.display = "none"
        self.folder = Path.cwd() if folder is None else folder
        #: More folders holding this user's views (``notebook_for``).
        self.extra = extra
        self.on_navigate = on_navigate
        self.on_state = on_state
        #: Called with the address's state when the page shows (before that state is handed over): a kernel
        #: prepared before the page asked for it re-reads what depends on the request there.
        self.on_open = on_open
        #: The address the page was opened with (no fragment): shared links are built from it.
        self.opened = ""
        self.on_msg(lambda _w, content, _buffers: self.handle(content))

    def show(self, view: str) -> None:
        """The app now shows ``view``: point the address at its notebook (no change if it has none)."""
        self.state = ""  # the view sets its own state, if it has one, once shown
        path = notebook_for(view, self.folder, self.extra)
        if path:
            self.path = path

    def reload(self) -> None:
        """Make the browser load the page again (a new kernel)."""
        self.send({"type": "reload"})

    def view_at(self, path: str) -> str | None:
        """The view whose notebook is ``path`` (as given by ``show``), if any."""
        name = Path(path).name
        if not name.endswith(".ipynb") or notebook_for(name[:-len(".ipynb")], self.folder, self.extra) != path:
            return None
        return name[:-len(".ipynb")]

    def handle(self, content: dict[str, Any]) -> None:
        """Back/Forward in the browser: switch to the view of the address it went to; a state in the address
        (a shared link, or one pasted in the address bar): hand it to the view."""
        kind = content.get("type")
        if kind in ("opened", "state"):
            if kind == "opened":
                self.opened = str(content.get("href", ""))[:4000]
                if self.on_open is not None and self.on_open(str(content.get("state", ""))) is False:
                    return  # the page is being replaced
            state = str(content.get("state", ""))
            if state and state != self.state and self.on_state is not None:
                self.on_state(state)
            return
        if kind != "navigate":
            return
        view = self.view_at(str(content.get("path", "")))
        if view is not None:
            self.path = str(content["path"])  # the address is already there: nothing to push
            self.on_navigate(view)
