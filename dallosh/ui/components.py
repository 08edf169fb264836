"""Small building blocks shared by the views: alerts, badges, cards, formatting, and the error guard.

HTML comes from ``dallosh.ui.html`` (Jinja2 with autoescape) and is shown by :class:`HTML`, which shows any plain
``str`` as text: a value that did not go through a template is escaped, never run.

The guard is how "every service error is shown as its message, never a traceback" is kept everywhere: each
button handler runs inside ``View.guard()``, which turns a ``DalloshError`` into a red alert with its
user-facing message and anything unexpected into a short generic sentence (the traceback goes to the log).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import ipywidgets as w
import traitlets as t

from dallosh.errors import DalloshError
from dallosh.lifecycle import STATUS_WORDS, status_words
from dallosh.ui.html import Markup, escape, macro

log = logging.getLogger(__name__)

#: Colour family of every status badge (ok / running / warning / error / idle).
STATUS_FAMILY: dict[str, str] = {
    "added": "idle", "in_queue": "run", "reading_dataset": "run", "process_cleaning": "run",
    "sending_to_llm": "run", "appending_columns": "run", "saving_file": "run", "done": "ok", "on_error": "err",
    "retry_step": "run", "paused": "warn", "resumed": "run", "stopped": "warn", "missing": "err",
}
_FAMILY_CLASS = {"ok": "dl-b-ok", "run": "dl-b-run", "warn": "dl-b-warn", "err": "dl-b-err", "idle": "dl-b-idle"}


#: Statuses and steps in the analysts' words (the lifecycle's names are for code: no "llm" on a screen).
STATUS_LABELS = STATUS_WORDS


def status_label(status: str) -> str:
    return status_words(status)


def badge(text: str, family: str = "idle") -> Markup:
    return macro("badge", text, _FAMILY_CLASS.get(family, "dl-b-idle"))


def status_badge(status: str) -> Markup:
    return badge(status_label(status), STATUS_FAMILY.get(status, "idle"))


def card_title(title: str, note: str = "") -> Markup:
    """``<b>title</b>`` and a muted note: the first line of a card or an inline editor."""
    return macro("card_title", title, note)


def muted(text: str, *, inline: bool = False) -> Markup:
    """Muted text: a line of its own (empty states, short explanations) or an ``inline`` span."""
    return macro("muted", text, inline)


def name_cell(name: str, detail: str = "", *, hover: bool = False, note: str = "") -> Markup:
    """A name in bold, an optional muted ``note`` after it and ``detail`` under it; ``hover`` adds it as tooltip."""
    return macro("name_cell", name, detail, hover, note)


def text_cells(cells: Iterable[str], columns: Iterable[tuple[str, str]]) -> Markup:
    """The text cells of a widget table row; ``columns`` are (title, width) pairs, cells are text or Markup."""
    return macro("cells", list(cells), [width for _, width in columns])


def human_size(size: int | float | None) -> str:
    """Bytes in binary units, like the upload limit (``maxUploadMB`` counts 1024 × 1024 bytes per MB)."""
    if size is None:
        return "–"
    value = float(size)
    for unit in ("B", "KB", "MB"):
        if value < 1024:
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}".replace(".0 ", " ")
        value /= 1024
    return f"{value:.1f} GB".replace(".0 ", " ")


#: A space that does not break a line (inside a duration).
NBSP = "\u00a0"


def human_int(value: int | float | None) -> str:
    return "–" if value is None else f"{int(value):,}".replace(",", "\u202f")


#: Time zone of every displayed time: the settings' ``timeZone``, set by the App (one user per kernel).
_display_tz: tzinfo = UTC


def set_display_timezone(name: str) -> None:
    global _display_tz
    try:
        _display_tz = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        _display_tz = UTC


def display_timezone() -> str:
    return str(_display_tz)


def human_time(value: datetime | str | float | None) -> str:
    """A stored timestamp (UTC) as ``YYYY-MM-DD HH:MM:SS`` in the app's time zone."""
    if value is None or value == "":
        return ""
    if isinstance(value, int | float):
        value = datetime.fromtimestamp(value, UTC)
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return value.astimezone(_display_tz).strftime("%Y-%m-%d %H:%M:%S")


def human_duration(seconds: float | None) -> str:
    """A duration as people say it: ``< 1 s``, ``42 s``, ``3 min 05 s``, ``12 min``, ``1 h 05 min``.

    Its spaces do not break (a wrapped note never leaves "< 1" on one line and "s" on the next).
    """
    if seconds is None:
        return ""
    if seconds < 1:
        text = "< 1 s"
    elif (total := round(seconds)) < 60:
        text = f"{total} s"
    elif total < 600:
        text = f"{total // 60} min {total % 60:02d} s"
    elif (minutes := round(seconds / 60)) < 60:
        text = f"{minutes} min"
    else:
        text = f"{minutes // 60} h {minutes % 60:02d} min"
    return text.replace(" ", NBSP)


def time_left(seconds: float | None) -> str:
    """An estimate of the time left, rounded as coarsely as it is precise ("about 2 min 30 s left")."""
    if seconds is None:
        return ""
    if seconds < 5:
        return "almost done"
    step = 5 if seconds < 60 else 10 if seconds < 600 else 60 if seconds < 3600 else 300
    return f"about {human_duration(round(seconds / step) * step)} left"


def updated_now() -> str:
    """"Updated HH:MM:SS" at the current time in the app's time zone (the label of refreshing views)."""
    return f"Updated {human_time(datetime.now(UTC))[11:]}"


class HTML(w.HTML):
    """The dashboards' only HTML widget: ``Markup`` (from ``dallosh.ui.html``) is shown as HTML, a ``str`` as text.

    So a value that skipped the templates (an f-string, a concatenation) shows its tags instead of running them.
    """

    @t.validate("value")
    def _text_unless_markup(self, proposal: t.Bunch) -> str:
        value = proposal["value"]
        return value if isinstance(value, Markup) else escape(value)


def html_widget(value: str = "", *classes: str, **layout: Any) -> HTML:
    """An :class:`HTML` widget showing ``value`` (Markup from ``dallosh.ui.html``, or text) with CSS classes."""
    widget = HTML(value, layout=w.Layout(**layout))
    for cls in classes:
        widget.add_class(cls)
    return widget


def card_title_widget(title: str, note: str = "") -> HTML:
    """A card's title line as a widget."""
    return html_widget(card_title(title, note), "dl-h2")


def box(children: Iterable[w.Widget] = (), *classes: str, vertical: bool = True, **layout: Any) -> w.Box:
    widget = (w.VBox if vertical else w.HBox)(list(children), layout=w.Layout(**layout))
    for cls in classes:
        widget.add_class(cls)
    return widget


def button(description: str, on_click: Callable[[], None] | None = None, *classes: str, style: str = "",
           tooltip: str = "", disabled: bool = False) -> w.Button:
    """A Button whose handler takes no argument (handlers are view methods that tests call directly)."""
    btn = w.Button(description=description, button_style=style, tooltip=tooltip or description, disabled=disabled,
                   layout=w.Layout(width="auto"))
    for cls in classes:
        btn.add_class(cls)
    if on_click is not None:
        btn.on_click(lambda _b: on_click())
    return btn


class KPI(HTML):
    """One headline number in a card; ``help`` (how it is computed) shows as its tooltip."""

    def __init__(self, label: str, value: str = "…", sub: str = "", *, help: str = ""):
        super().__init__(macro("kpi", label, value, sub, help))
        self.label = label
        self.help = help
        self.add_class("dl-card")
        self.add_class("dl-kpi")
        self.number = value
        self.sub = sub
        self.change: dict[str, str] | None = None

    def set(self, value: str, sub: str = "", change: dict[str, str] | None = None) -> None:
        """``change``: ``{"arrow", "text", "tone" (good/bad/neutral), "title"}``, the comparison line (or None)."""
        self.number, self.sub, self.change = value, sub, change
        self.value = macro("kpi", self.label, value, sub, self.help, change)


class Alert(HTML):
    """A dismissable-by-next-action message box: error (red), success, info or warning; hidden when empty."""

    KINDS = ("error", "success", "info", "warning")

    def __init__(self) -> None:
        super().__init__("")
        self.add_class("dl-alert")
        self.kind = ""
        self.message = ""
        self.layout.display = "none"

    def show(self, kind: str, message: str, extra_html: Markup | str = "") -> None:
        """``extra_html`` follows the message: Markup from a template (a link, advice), or text."""
        for k in self.KINDS:
            self.remove_class(f"dl-alert-{k}")
        self.add_class(f"dl-alert-{kind}")
        self.kind, self.message = kind, message
        self.value = macro("alert", message, extra_html)
        self.layout.display = None

    def error(self, message: str) -> None:
        self.show("error", message)

    def success(self, message: str, extra_html: Markup | str = "") -> None:
        self.show("success", message, extra_html)

    def info(self, message: str) -> None:
        self.show("info", message)

    def warning(self, message: str) -> None:
        self.show("warning", message)

    def clear(self) -> None:
        self.kind, self.message, self.value = "", "", ""
        self.layout.display = "none"


UNEXPECTED = ("Something went wrong on our side ({name}). Try again; if it keeps happening, tell an administrator "
              "what you were doing and when.")


#: Infrastructure failures, recognised by the library that raised them (no import needed to check).
_INFRASTRUCTURE = {"pymongo": "The database is not reachable", "redis": "The task queue (Redis) is not reachable",
                   "rq": "The task queue (Redis) is not reachable", "pika": "The event bus (RabbitMQ) is not reachable"}


def error_message(exc: BaseException) -> str:
    """What the user reads for an exception: the typed message, or a plain sentence (never a traceback)."""
    if isinstance(exc, DalloshError):
        return str(exc)
    library = type(exc).__module__.split(".")[0]
    if library in _INFRASTRUCTURE:
        return (f"{_INFRASTRUCTURE[library]} right now. Try again in a minute; if it keeps happening, tell an "
                "administrator.")
    return UNEXPECTED.format(name=type(exc).__name__)


def set_visible(widget: w.Widget, visible: bool) -> None:
    widget.layout.display = None if visible else "none"


def is_visible(widget: w.Widget) -> bool:
    return widget.layout.display != "none"
