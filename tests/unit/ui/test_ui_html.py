"""HTML in the dashboards goes through one autoescaping path (``dallosh.ui.html``): checked on the code.

The checks fail when a module of ``dallosh/ui`` builds markup with an f-string (a ``<`` in its text and a ``{}``
placeholder: one forgotten escape away from an XSS), or uses an ipywidgets HTML widget other than
``components.HTML`` (which shows any plain ``str`` as text). The checks on the views (on the real services) are in
``tests/integration/ui/test_ui_html.py``.
"""

from __future__ import annotations

import ast
from pathlib import Path

import jinja2
import pytest
from markupsafe import escape

import dallosh.ui
from dallosh.ui.components import html_widget
from dallosh.ui.html import fragment, render

#: Both set ``document.title`` when they run: an attribute handler, and a tag that closes an attribute first.
PAYLOADS = ("<img src=x onerror=\"document.title='X'\">", "\"><script>document.title='X'</script>")
UI_PACKAGE = Path(dallosh.ui.__file__).parent
#: f-strings allowed to hold markup, as "module.py:line" → why a template cannot do. Keep it empty.
ALLOWED_MARKUP_FSTRINGS: dict[str, str] = {}
#: ipywidgets classes that show a str as HTML: only ``components.HTML`` (which escapes a str) may build on them.
RAW_HTML_WIDGETS = frozenset({"HTML", "HTMLMath"})


# -- the code ---------------------------------------------------------------------------------------------------


def ui_sources() -> dict[str, str]:
    return {str(path.relative_to(UI_PACKAGE)): path.read_text(encoding="utf-8")
            for path in sorted(UI_PACKAGE.rglob("*.py"))}


def markup_fstrings(source: str) -> list[int]:
    """Lines of the f-strings whose literal text holds a ``<`` and that have at least one placeholder."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.JoinedStr):
            text = "".join(part.value for part in node.values if isinstance(part, ast.Constant))
            if "<" in text and any(isinstance(part, ast.FormattedValue) for part in node.values):
                lines.append(node.lineno)
    return sorted(lines)


def raw_html_widgets(source: str) -> list[int]:
    """Lines that name an ipywidgets HTML widget (other than as the base of ``class HTML``) or let a description
    render HTML."""
    tree = ast.parse(source)
    escaping_base = {id(base) for node in ast.walk(tree) if isinstance(node, ast.ClassDef) and node.name == "HTML"
                     for base in node.bases}
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and node.attr in RAW_HTML_WIDGETS and id(node) not in escaping_base:
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith(("ipywidgets", "IPython")):
            lines.extend(node.lineno for alias in node.names if alias.name in RAW_HTML_WIDGETS)
        elif isinstance(node, ast.keyword) and node.arg == "description_allow_html":
            lines.append(node.value.lineno)
    return sorted(lines)


def test_the_checks_recognise_what_they_look_for():
    assert markup_fstrings('a = f"<b>{name}</b>"\nb = f"<i>" f"{x}"') == [1, 2]
    assert markup_fstrings('a = f"{n} rows"\nb = "<b>"\nc = f"{n:<8}"\nd = fragment("<b>{{ n }}</b>", n=n)') == []
    assert raw_html_widgets("x = w.HTML(v)\ny: w.HTMLMath\nfrom ipywidgets import HTML\nw.Checkbox("
                            "description_allow_html=True)") == [1, 2, 3, 4]
    assert raw_html_widgets("class HTML(w.HTML):\n    pass\nx = HTML(v)") == []


def test_no_ui_module_builds_html_with_an_f_string():
    found = {f"{name}:{line}" for name, source in ui_sources().items() for line in markup_fstrings(source)}
    assert found <= set(ALLOWED_MARKUP_FSTRINGS), (
        f"HTML built with f-strings at {sorted(found - set(ALLOWED_MARKUP_FSTRINGS))}: render it through "
        "dallosh.ui.html (render, fragment, macro) so that every value is escaped")


def test_every_html_widget_escapes_a_plain_str():
    found = [f"{name}:{line}" for name, source in ui_sources().items() for line in raw_html_widgets(source)]
    assert not found, f"use components.html_widget / components.HTML, never ipywidgets' HTML, at {found}"


def test_the_html_widget_shows_a_str_as_text_and_markup_as_html():
    widget = html_widget(PAYLOADS[0])
    assert widget.value == str(escape(PAYLOADS[0]))
    widget.value = fragment("<b>{{ name }}</b>", name=PAYLOADS[1])
    assert widget.value == f"<b>{escape(PAYLOADS[1])}</b>"


def test_templates_escape_values_keep_markup_and_refuse_unknown_names():
    cell = fragment("<b>{{ text }}</b>", text="<i>")
    assert fragment("<td>{{ cell }}</td>", cell=cell) == "<td><b>&lt;i&gt;</b></td>"  # built once, escaped once
    log = render("tasks_log.html", lines=[("10:00", PAYLOADS[1], True)], truncated=False, limit=1)
    assert str(escape(PAYLOADS[1])) in log and "<script" not in log
    with pytest.raises(jinja2.UndefinedError):
        fragment("<b>{{ missing }}</b>")


