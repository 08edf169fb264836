"""Reports: the content of a report as data (``content``), its period (``period``) and its renderers (``html``,
``pdf``); ``dallosh report`` (``cli``) writes one from the command line, and alerts and scheduled e-mails reuse
the same content and renderers."""

from dallosh.reports.content import ReportContent, build_report, resolve_datasets
from dallosh.reports.period import Period, parse_period

__all__ = ["Period", "ReportContent", "build_report", "parse_period", "resolve_datasets"]
