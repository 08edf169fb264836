"""The dashboards' widgets. A Voilà page is one cell: ``from dallosh.ui import show; show("datasets")``.

Importing this package is cheap on purpose (nothing heavy at import): ``show`` imports the App and the one view
it opens, so each notebook starts fast.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dallosh.ui.app import App

log = logging.getLogger(__name__)


#: The App shown last in this kernel (for power users and benchmarks; ``show`` returns None so that a notebook
#: cell ending in ``show(...)`` does not display the widget a second time).
current_app: App | None = None


def show(view: str = "overview", **params: Any) -> None:
    """Display the App for this kernel's user at ``view``; an account problem is shown as a message."""
    global current_app
    import ipywidgets as w
    from IPython.display import display

    from dallosh.ui.components import error_message, html_widget
    from dallosh.ui.html import macro
    from dallosh.ui.theme import style_html

    try:
        from dallosh.session import app_services, current_actor
        from dallosh.ui.app import App

        services = app_services()
        app = App(services, current_actor(services), view=view, **params)
    except Exception as exc:  # noqa: BLE001 - the page shows a sentence, never a traceback
        from dallosh.errors import DalloshError

        if not isinstance(exc, DalloshError):
            log.exception("the dashboard could not start")
        page = w.VBox([html_widget(style_html(), display="none"), html_widget(macro("alert", error_message(exc)))])
        page.add_class("dl-app")
        page.add_class("dl-light")
        page.children[1].add_class("dl-alert")
        page.children[1].add_class("dl-alert-error")
        display(page)
        return
    current_app = app
    display(app)


__all__ = ["show"]
