"""A report as one HTML document that e-mail clients show as is: every style inline, no script, no SVG; the
bars are table cells of a given width.

Rendered through a Jinja2 environment with autoescape (tweets and file names are user input), like the
dashboards' ``dallosh.ui.html``; the templates live in ``dallosh/reports/templates``.
"""

from __future__ import annotations

import base64
from pathlib import Path

import jinja2

from dallosh.reports import layout
from dallosh.reports.charts import report_charts, timeline_alt
from dallosh.reports.content import ReportContent

_env = jinja2.Environment(
    loader=jinja2.PackageLoader("dallosh.reports", "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,  # a misspelt value fails in the tests, not as a silent blank
    trim_blocks=True,
    lstrip_blocks=True,
    auto_reload=False,
)


def render_html(report: ReportContent, *, charts: dict[str, str] | None = None, app_url: str = "",
                unsubscribe_url: str = "", footer_note: str = "") -> str:
    """The report as a standalone, e-mail-friendly HTML document.

    ``charts`` maps a chart's name (``timeline``) to its image's address: by default the PNG itself as a
    ``data:`` URI (a file that needs nothing else); e-mails give ``cid:`` links to their inline images.
    ``app_url`` and ``unsubscribe_url`` add the footer's links (e-mails), ``footer_note`` says why the reader gets
    it.
    """
    if charts is None:
        charts = {name: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
                  for name, png in report_charts(report).items()}
    return _env.get_template("report.html").render(
        r=report, c=layout.COLORS, layout=layout, priority_names=layout.PRIORITY_NAMES, charts=charts,
        timeline_alt=timeline_alt(report), app_url=app_url, unsubscribe_url=unsubscribe_url, footer_note=footer_note)


def write_html(report: ReportContent, path: Path) -> None:
    path.write_text(render_html(report), encoding="utf-8")
