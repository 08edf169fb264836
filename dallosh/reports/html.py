"""A report as one HTML document that e-mail clients show as is: every style inline, no script, no SVG; the
bars are table cells of a given width.

Rendered through a Jinja2 environment with autoescape (tweets and file names are user input), like the
dashboards' ``dallosh.ui.html``; the templates live in ``dallosh/reports/templates``.
"""

from __future__ import annotations

from pathlib import Path

import jinja2

from dallosh.reports import layout
from dallosh.reports.content import ReportContent

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("dallosh.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a misspelt value fails in the tests, not as a silent blank
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def render_html(report: ReportContent) -> str:
    """The report as a standalone, e-mail-friendly HTML document."""
    return _env.get_template("report.html").render(r=report, c=layout.COLORS, layout=layout,
                                                   priority_names=layout.PRIORITY_NAMES)


def write_html(report: ReportContent, path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8")
