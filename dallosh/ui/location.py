"""The browser's address follows the view, so reload, bookmarks and Back/Forward work as on any web app.

Views switch inside the kernel, without loading a page. Every view also has its own notebook next to the one
the page opened (``home/datasets.ipynb``, ``../profile.ipynb``), so the address of the current view is that
notebook: each switch pushes it on the browser's history, a reload opens that view directly, and Back/Forward
send the page's address back to the kernel, which switches to the matching view.

Voilà starts a kernel in its notebook's folder, so the kernel finds the sibling notebooks in its working
directory. Where there is none (nbval, a notebook opened elsewhere) the address is simply left alone.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

LOCATION_JS = r"""
function render({ model, el }) {
  // Paths are relative to the notebook the page opened with, whatever address it shows now.
  const opened = location.href;
  const absolute = (path) => new URL(path, opened).pathname;
  const follow = () => {
    const path = model.get("path");
    if (path && absolute(path) !== location.pathname) {
      history.pushState({ dallosh: path }, "", absolute(path));
    }
  };
  history.replaceState({ dallosh: model.get("path") }, "");
  const back = (event) => {
    const path = event.state && event.state.dallosh;
    if (path) model.send({ type: "navigate", path });
  };
  window.addEventListener("popstate", back);
  model.on("change:path", follow);
  follow();
  return () => {
    window.removeEventListener("popstate", back);
    model.off("change:path", follow);
  };
}
export default { render };
"""


def notebook_for(view: str, folder: Path | None = None) -> str:
    """The notebook that opens ``view``, relative to this kernel's notebook folder; "" when there is none."""
    folder = Path.cwd() if folder is None else folder
    for relative in (f"{view}.ipynb", f"../{view}.ipynb"):
        if (folder / relative).is_file():
            return relative
    return ""


class PageLocation(anywidget.AnyWidget):
    """An invisible widget keeping the address bar on the current view's notebook."""

    _esm = LOCATION_JS
    path = t.Unicode("").tag(sync=True)

    def __init__(self, on_navigate: Callable[[str], Any], folder: Path | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.layout.display = "none"
        self.folder = Path.cwd() if folder is None else folder
        self.on_navigate = on_navigate
        self.on_msg(lambda _w, content, _buffers: self.handle(content))

    def show(self, view: str) -> None:
        """The app now shows ``view``: point the address at its notebook (no change if it has none)."""
        path = notebook_for(view, self.folder)
        if path:
            self.path = path

    def view_at(self, path: str) -> str | None:
        """The view whose notebook is ``path`` (as given by ``show``), if any."""
        name = Path(path).name
        if not name.endswith(".ipynb") or notebook_for(name[:-len(".ipynb")], self.folder) != path:
            return None
        return name[:-len(".ipynb")]

    def handle(self, content: dict[str, Any]) -> None:
        """Back/Forward in the browser: switch to the view of the address it went to."""
        if content.get("type") != "navigate":
            return
        view = self.view_at(str(content.get("path", "")))
        if view is not None:
            self.path = str(content["path"])  # the address is already there: nothing to push
            self.on_navigate(view)
