"""The delivery's own e-mails (the test e-mail), rendered from Jinja2 templates with autoescape."""

from __future__ import annotations

from typing import Any

import jinja2

_env = jinja2.Environment(loader=jinja2.PackageLoader("dallosh.delivery", "templates"), autoescape=True,
                          undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
_text_env = jinja2.Environment(loader=jinja2.PackageLoader("dallosh.delivery", "templates"), autoescape=False,
                               undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)


def render(name: str, **values: Any) -> tuple[str, str]:
    """``(html, text)`` of template ``name`` (``name.html`` autoescaped, ``name.txt`` plain)."""
    return _env.get_template(f"{name}.html").render(**values), _text_env.get_template(f"{name}.txt").render(**values)
