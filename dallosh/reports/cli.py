"""``dallosh report``: one report to a file, for power users and cron jobs.

It acts as a user of the app (``--as EMAIL``, default the kernel's user: ``JUPYTERHUB_USER`` or
``DALLOSH_LOCAL_USER``), whose permissions the services check on every call, like a dashboard does. Every
problem is one sentence on stderr and exit code 2 (nothing written); success prints one line.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.errors import DalloshError, PermissionDenied
from dallosh.reports.period import PERIOD_FORMS

if TYPE_CHECKING:
    from dallosh.analytics import Filters

#: Exit code of a report that could not be written (argparse's own usage errors are 2 as well).
FAILED = 2
#: Output formats, by file suffix.
FORMATS = {".pdf": "pdf", ".html": "html", ".htm": "html"}


def add_parser(sub: argparse._SubParsersAction) -> None:
    """Register ``dallosh report`` on the main parser's sub-commands."""
    report = sub.add_parser("report", help="write a report (KPIs vs the previous period, spikes explained, critical "
                                           "tweets) to a PDF or HTML file")
    which = report.add_mutually_exclusive_group(required=True)
    which.add_argument("--datasets", nargs="+", metavar="NAME_OR_ID", help="datasets by file name or id")
    which.add_argument("--all", action="store_true", help="every analysed dataset you may read")
    report.add_argument("--period", required=True, help=PERIOD_FORMS + " (days in the app's time zone)")
    report.add_argument("--to", required=True, metavar="FILE", help="FILE.pdf or FILE.html")
    report.add_argument("--as", dest="as_user", metavar="EMAIL",
                        help="the user the report is written for (default: DALLOSH_LOCAL_USER)")
    chosen = report.add_argument_group("filters (the Analysis page's filter bar; default: every customer tweet)")
    chosen.add_argument("--sentiment", nargs="+", choices=SENTIMENTS, metavar="SENTIMENT",
                        help=f"keep these sentiments ({', '.join(SENTIMENTS)})")
    chosen.add_argument("--priority", nargs="+", type=int, choices=PRIORITIES, metavar="PRIORITY",
                        help=f"keep these priorities ({', '.join(map(str, PRIORITIES))}; 2 is the most urgent)")
    chosen.add_argument("--topic", nargs="+", metavar="TOPIC", help="keep these topics (as the settings name them)")
    chosen.add_argument("--search", default="", metavar="TEXT",
                        help="keep tweets containing TEXT (case and accents ignored)")
    chosen.add_argument("--include-operator", action="store_true",
                        help="count the operator's own replies too (left out by default)")
    chosen.add_argument("--no-retweets", action="store_true", help="leave retweets out")
    report.set_defaults(func=cmd_report)


def filters_from_args(args: argparse.Namespace) -> Filters | None:
    """The filter options as Analysis's ``analytics.Filters``; None when none is given (the default scope)."""
    from dallosh.analytics import Filters

    given = (args.sentiment, args.priority, args.topic, args.search.strip() or None)
    if all(v is None for v in given) and not args.include_operator and not args.no_retweets:
        return None
    return Filters(sentiments=args.sentiment, priorities=args.priority, topics=args.topic, search=args.search,
                   include_operator=args.include_operator, include_retweets=not args.no_retweets)


def _output(path_text: str) -> tuple[Path, str]:
    path = Path(path_text)
    kind = FORMATS.get(path.suffix.lower())
    if kind is None:
        raise DalloshError(f"--to {path} must end in .pdf or .html (the format is chosen by the suffix).")
    if path.is_dir() or not path.parent.is_dir():
        raise DalloshError(f"Cannot write {path}: the folder {path.parent} does not exist. Create it, or choose "
                           "another --to.")
    return path, kind


def _services():
    from dallosh.config import get_config
    from dallosh.db import embedded
    from dallosh.services import Services

    config = get_config()
    status = embedded.status(config)
    if status.kind == "down":
        raise DalloshError(f"{status.describe()}. Start the app (`dallosh up`) or its database (`dallosh db "
                           "start`) first.")
    return Services.from_config(config)


def _actor(services, email: str | None):
    from dallosh.session import current_user_name

    email = email or current_user_name()
    user = services.users.find_by_email(email)
    actor = services.users.actor(user.uid) if user else None
    if actor is None:
        raise PermissionDenied(f"No active account for {email!r}: give an existing user's email with --as.")
    return actor


def _write(path: Path, data: bytes) -> None:
    """Replace ``path`` at once, so a cron job never mails a half-written file."""
    with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", delete=False) as out:
        out.write(data)
    os.replace(out.name, path)


def cmd_report(args: argparse.Namespace) -> int:
    from dallosh.reports.content import build_report
    from dallosh.reports.period import parse_period

    try:
        path, kind = _output(args.to)
        services = _services()
        actor = _actor(services, args.as_user)
        today = services.settings.local_time(services.now()).date()
        period = parse_period(args.period, today)
        report = build_report(services, actor, period, datasets=None if args.all else args.datasets,
                              filters=filters_from_args(args))
        if kind == "pdf":
            from dallosh.reports.pdf import render_pdf

            data = render_pdf(report)
        else:
            from dallosh.reports.html import render_html

            data = render_html(report).encode("utf-8")
        _write(path, data)
    except DalloshError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return FAILED
    k = report.kpis
    negative = "–" if k["negative_share"] is None else f"{k['negative_share']:.1f} % negative"
    print(f"Wrote {path}: {period.label}, {len(report.datasets)} dataset(s), {k['volume']} tweets, {negative}, "
          f"{len(report.spikes)} spike(s), for {actor.email}.")
    return 0
