"""The one way the dashboards build HTML: Jinja2 templates with autoescape.

File names, emails, role names, log texts, model names, settings and tweets all reach HTML widgets, and all of
them are user input. With f-strings and a hand-called escape every new call site was one forgotten call away from
running someone's script; here escaping is the default. A template escapes every value it is given unless the
value is already ``Markup`` made by another template (a badge inside a table cell), so views never write ``|safe``.

``render`` fills a template file of ``templates/``; ``fragment`` fills a one-line inline template (compiled once);
``macro`` calls one of the repeated pieces of ``templates/macros.html`` (badges, chips, cards, KPIs, alerts...).
Widgets show the result through ``components.HTML``, which shows any plain ``str`` as text.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import jinja2
from markupsafe import Markup, escape

__all__ = ["Markup", "escape", "fragment", "macro", "render"]

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("dallosh.ui", "templates"),
    autoescape=True,
    # A misspelt value fails loudly in the tests instead of silently rendering as an empty string.
    undefined=jinja2.StrictUndefined,
    # Block tags on their own lines leave no blank lines behind, so templates can be laid out for reading.
    trim_blocks=True,
    lstrip_blocks=True,
    # Templates are package data: they change with a release, never while a kernel runs.
    auto_reload=False,
)


def render(name: str, /, **values: Any) -> Markup:
    """The template file ``templates/<name>`` filled with ``values`` (each escaped unless it is Markup).

    Leading and trailing whitespace is dropped, so a template's layout never adds space where it is embedded.
    """
    return Markup(_env.get_template(name).render(**values)).strip()


@lru_cache(maxsize=256)
def _compiled(source: str) -> jinja2.Template:
    return _env.from_string(source)


def fragment(source: str, /, **values: Any) -> Markup:
    """A one-line inline template filled with ``values``: for the small pieces a file would only hide."""
    return Markup(_compiled(source).render(**values))


def macro(name: str, /, *args: Any, **kwargs: Any) -> Markup:
    """One of the repeated pieces of ``templates/macros.html``, called from Python (templates import them)."""
    return Markup(getattr(_env.get_template("macros.html").module, name)(*args, **kwargs))
