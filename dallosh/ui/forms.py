"""The admin views' form kit (users, settings): labelled fields with errors, a confirmation bar, a table with one
inline panel, and tab buttons.

Kept apart from any one view so that views share one look and one way of showing a service's ValidationError
under the field it concerns.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import ipywidgets as w

from dallosh.errors import ValidationError, field_key
from dallosh.ui.base import Guard, View
from dallosh.ui.components import HTML, box, button, html_widget, set_visible
from dallosh.ui.html import Markup, fragment


class Form:
    """Labelled inputs with a hint and an error line each; a service ValidationError lands under its field."""

    def __init__(self, fields: dict[str, tuple[str, w.Widget, str]]):
        self.widgets: dict[str, w.Widget] = {}
        self.labels: dict[str, str] = {}
        self.hints: dict[str, HTML] = {}
        self.errors: dict[str, HTML] = {}
        self.rows: dict[str, w.Box] = {}
        for key, (label, widget, hint) in fields.items():
            error = html_widget("", "dl-field-error")
            set_visible(error, False)
            self.hints[key] = html_widget("", "dl-field-hint")
            self.set_hint(key, hint)
            row = box([html_widget(fragment("<label>{{ label }}</label>", label=label), "dl-field-label"),
                       box([widget, self.hints[key], error], "dl-field-input")], "dl-field", vertical=False)
            self.widgets[key], self.labels[key], self.errors[key], self.rows[key] = widget, label, error, row
        self.root = box(self.rows.values(), "dl-fields")

    def __getitem__(self, key: str) -> Any:
        return self.widgets[key]

    def set_hint(self, key: str, text: str) -> None:
        self.hints[key].value = text
        set_visible(self.hints[key], bool(text))

    def show_row(self, key: str, visible: bool) -> None:
        set_visible(self.rows[key], visible)

    def clear_errors(self) -> None:
        for key, error in self.errors.items():
            error.value = ""
            set_visible(error, False)
            self.rows[key].remove_class("dl-invalid")

    def set_error(self, key: str, message: str) -> None:
        self.errors[key].value = fragment('<span role="alert">{{ message }}</span>', message=message)
        set_visible(self.errors[key], True)
        self.rows[key].add_class("dl-invalid")

    def report(self, view: View, g: Guard) -> None:
        """After a failed guard: a ValidationError about one of these fields is shown under it, and the alert
        names the field by its label instead of its stored path."""
        exc = g.error
        if isinstance(exc, ValidationError):
            key = field_key(exc.field)
            if key in self.errors:
                self.set_error(key, exc.message)
                view.alert.error(f"{self.labels[key]}: {exc.message}")


class ConfirmBar:
    """The confirmation step of a destructive action: a sentence, a red button, and Cancel."""

    def __init__(self, confirm_label: str = "Delete for good"):
        self.text = html_widget("")
        self.action: Callable[[], None] | None = None
        self.confirm_button = button(confirm_label, self.confirm, "dl-confirm", style="danger")
        self.cancel_button = button("Cancel", self.cancel)
        self.root = box([self.text, box([self.confirm_button, self.cancel_button], "dl-row", vertical=False)],
                        "dl-confirm-bar")

    def ask(self, html: Markup | str, action: Callable[[], None], confirm_label: str | None = None) -> None:
        self.text.value = html
        self.action = action
        if confirm_label:
            self.confirm_button.description = confirm_label

    def confirm(self) -> None:
        action, self.action = self.action, None
        if action is not None:
            action()

    def cancel(self) -> None:
        self.action = None


class InlineTable:
    """Rows in a box, plus at most one inline panel (an editor or a confirmation) shown under a given row."""

    def __init__(self, header: w.Widget | None = None):
        self.header = header
        self.rows: list[tuple[str, w.Widget]] = []
        self.inline: tuple[str | None, w.Widget] | None = None
        self.root = box([], "dl-table")

    def set_rows(self, rows: list[tuple[str, w.Widget]]) -> None:
        self.rows = rows
        if self.inline and self.inline[0] is not None and self.inline[0] not in {k for k, _ in rows}:
            self.inline = None  # its row left the page
        self._layout()

    def open(self, after: str | None, panel: w.Widget) -> None:
        """Show ``panel`` under row ``after`` (at the top when None), closing any other panel."""
        self.inline = (after, panel)
        self._layout()

    def close(self) -> None:
        self.inline = None
        self._layout()

    def is_open(self, panel: w.Widget) -> bool:
        return self.inline is not None and self.inline[1] is panel

    def _layout(self) -> None:
        children: list[w.Widget] = [self.header] if self.header is not None else []
        if self.inline and self.inline[0] is None:
            children.append(self.inline[1])
        for key, root in self.rows:
            children.append(root)
            if self.inline and self.inline[0] == key:
                children.append(self.inline[1])
        if tuple(children) != self.root.children:
            self.root.children = children


class Tabs:
    """Tab buttons over panels (ToggleButtons: themed like every other button, no Lumino tab bar to restyle)."""

    def __init__(self, panels: dict[str, tuple[str, w.Widget]], on_change: Callable[[str], None] | None = None):
        self.panels = panels
        self.buttons = w.ToggleButtons(options=[(label, key) for key, (label, _) in panels.items()],
                                       style={"button_width": "auto"})
        self.buttons.add_class("dl-tabs")
        self.on_change = on_change
        self.buttons.observe(lambda change: self.select(change["new"]), "value")
        self.root = box([self.buttons, *(panel for _, panel in panels.values())], "dl-tabbed")
        self.select(self.buttons.value)

    @property
    def current(self) -> str:
        return self.buttons.value

    def select(self, key: str) -> None:
        if self.buttons.value != key:
            self.buttons.value = key  # observed: comes back here
            return
        for name, (_, panel) in self.panels.items():
            set_visible(panel, name == key)
        if self.on_change is not None:
            self.on_change(key)


def header_row(parts: list[tuple[Markup | str, str]]) -> w.Box:
    """The table's column titles (text or Markup, and a width); the last one (actions) is right-aligned."""
    cells = [html_widget(html, "dl-td", width=width) for html, width in parts]
    cells[-1].add_class("dl-th-right")
    return box(cells, "dl-tr", "dl-th", vertical=False)
