"""A report as an e-mail: the HTML report with its timeline inline (``cid:``), a plain-text part saying the same,
and the PDF of the same content attached.

Tweets, dataset and file names are user input: the HTML goes through the reports' autoescaping Jinja2
environment; the plain text cannot carry markup; the subject is one line (``Message`` folds it). The caller gives
the links of the footer: the app's address (``publicUrl`` of the delivery settings) and an unsubscribe link for
subscriptions.
"""

from __future__ import annotations

import jinja2

from dallosh.delivery.message import Attachment, InlineImage, Message
from dallosh.reports import layout
from dallosh.reports.charts import report_charts, timeline_alt
from dallosh.reports.content import ReportContent
from dallosh.reports.html import render_html
from dallosh.reports.pdf import render_pdf

_text = jinja2.Environment(loader=jinja2.PackageLoader("dallosh.reports", "templates"), autoescape=False,
                           undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                           keep_trailing_newline=True)


def pdf_filename(report: ReportContent) -> str:
    """``dallosh-report-2025-10-01_2025-10-21.pdf``: dates only, nothing a user typed."""
    span = str(report.period.start) if report.period.days == 1 else f"{report.period.start}_{report.period.end}"
    return f"dallosh-report-{span}.pdf"


def render_text(report: ReportContent, *, app_url: str = "", unsubscribe_url: str = "",
                footer_note: str = "") -> str:
    """The plain-text part."""
    return _text.get_template("report.txt").render(
        r=report, layout=layout, priority_names=layout.PRIORITY_NAMES, timeline_alt=timeline_alt(report),
        app_url=app_url, unsubscribe_url=unsubscribe_url, footer_note=footer_note)


def report_message(report: ReportContent, to: list[str], *, subject: str | None = None, app_url: str = "",
                   unsubscribe_url: str = "", footer_note: str = "") -> Message:
    """The report e-mail for ``to``: HTML with the timeline inline, plain text, the PDF attached.

    ``subject`` defaults to the report's title; ``app_url`` adds an "Open Dallosh Analysis" link,
    ``unsubscribe_url`` an unsubscribe link after ``footer_note`` (e.g. "You get this daily report because you
    subscribed to it.").
    """
    charts = report_charts(report)
    html = render_html(report, charts={name: f"cid:{name}" for name in charts}, app_url=app_url,
                       unsubscribe_url=unsubscribe_url, footer_note=footer_note)
    text = render_text(report, app_url=app_url, unsubscribe_url=unsubscribe_url, footer_note=footer_note)
    return Message(subject or report.title, list(to), html, text,
                   [Attachment(pdf_filename(report), render_pdf(report), "application/pdf")],
                   [InlineImage(name, png) for name, png in charts.items()])
