"""``dallosh report`` on a 1M-row analysed dataset: the report's content, its HTML and its PDF (target ≤ 30 s).

Runs against a private nx-27017 database and storage with the real services; the analysed CSV is built like
``bench_analytics.py`` does (synthetic export → real cleaning → random labels skewed like real ones) and
registered like ``bench_analysis_view.py`` does. Measured in this process, cold (fresh services: nothing cached):

- **floor**: reading and typing the analysed file (``analytics.load_analysed``), which any report must do;
- **content**: ``reports.build_report`` for the last 30 days of the data (read + corrections + filters + KPIs of
  both periods + distributions + spikes of every scope + their explanations + critical tweets), and the cost of
  explaining one spike on the busiest day (``explain_spike`` with the term index built);
- **render**: the HTML and the PDF of that content;
- **command**: ``dallosh report --to FILE.pdf`` as a subprocess (interpreter start included).

    .venv/bin/python bench/bench_report.py [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

from _common import PROJECT_ROOT, PYTHON, Section, child_env, private_database, report, seconds
from bench_analysis_view import make_analysed, register, services_for

sys.path.insert(0, str(PROJECT_ROOT))

REPORT_TARGET_S = 30.0
#: The report's period: the last 30 days of the data (a monthly report, drawn per day).
DAYS = 30


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    args = parser.parse_args(argv)

    from dallosh import analytics
    from dallosh.bootstrap import bootstrap
    from dallosh.reports import Period, build_report
    from dallosh.reports.html import render_html
    from dallosh.reports.pdf import render_pdf

    section = Section("report", f"Report of a {args.rows:,}-row dataset (last {DAYS} days) to HTML and PDF")
    with tempfile.TemporaryDirectory() as tmp, \
            private_database(Path(tmp), "bench_report", DALLOSH_LOCAL_USER="admin@free.com") as env:
        base = Path(tmp)
        bootstrap(services_for(env))
        csv = base / "analysed.csv"
        print(f"setup: analysed csv of {args.rows:,} rows in {make_analysed(args.rows, csv, 1):.1f} s "
              f"({csv.stat().st_size / 1e6:.0f} MB)")
        uid = register(services_for(env), "tweets-1m.csv", csv)

        frame, floor = seconds(lambda: analytics.load_analysed(csv))
        tz = services_for(env).settings.general().timeZone
        first, last = analytics.data_range(frame, tz)
        period = Period(max(first, last - timedelta(days=DAYS - 1)), last)
        rows_in_period = len(analytics.apply_filters(frame, analytics.Filters(date_from=period.start,
                                                                              date_to=period.end, tz=tz)))
        del frame
        section.add("floor_s", "floor: read + type the analysed CSV (load_analysed)", floor, "{} s")

        services = services_for(env)  # fresh: its results cache is empty
        admin = services.auth.login("admin@free.com", "123456")
        content, build = seconds(lambda: build_report(services, admin, period, datasets=[uid]))
        section.add("content_s", f"build_report, cold ({rows_in_period:,} tweets in {period.label}; "
                    f"{len(content.spikes)} spike(s) explained)", build, "{} s")
        warm_content, warm = seconds(lambda: build_report(services, admin, period, datasets=[uid]))
        section.add("content_warm_s", "build_report again (the file's frame cached by services.results)", warm,
                    "{} s")
        rows = services.results.corrected(admin, [uid])
        if warm_content.spikes:  # the largest spike of the report, explained again with the index given
            spike = warm_content.spikes[0]
            day, scope = spike.start, spike.scope
        else:  # no spike: the busiest day (an empty explanation costs less: a lower bound)
            line = analytics.timeline(analytics.apply_filters(rows, analytics.Filters(
                date_from=period.start, date_to=period.end, tz=tz)), tz, "day")
            day, scope = line.loc[line["volume"].idxmax(), "day"], "all"
        index, index_s = seconds(lambda: analytics.build_term_index(rows["full_text"]))
        _, explain_s = seconds(lambda: analytics.explain_spike(rows, tz, day, "day", scope=scope, index=index))
        section.add("term_index_s", "  term index of every row (build_term_index)", index_s, "{} s")
        section.add("explain_s", f"  explain_spike of {day:%Y-%m-%d} ({scope}), index given", explain_s, "{} s")
        html, html_s = seconds(lambda: render_html(warm_content))
        pdf, pdf_s = seconds(lambda: render_pdf(warm_content))
        section.add("html_s", f"render_html ({len(html.encode()) / 1e3:.0f} kB)", html_s, "{} s")
        section.add("pdf_s", f"render_pdf ({len(pdf) / 1e3:.0f} kB)", pdf_s, "{} s")
        from dallosh.reports.email import report_message

        mail, mail_s = seconds(lambda: report_message(warm_content, ["bench@example.com"]).to_mime(
            "reports@example.com").as_bytes())
        section.add("email_s", f"the report e-mail (HTML, timeline PNG, PDF attached; {len(mail) / 1e3:.0f} kB)",
                    mail_s, "{} s")
        total = round(build + html_s + pdf_s, 3)
        section.add("report_s", "content (cold) + HTML + PDF", total, "{} s")

        out = base / "report.pdf"
        started = time.perf_counter()
        command = subprocess.run([PYTHON, "-m", "dallosh", "report", "--datasets", uid, "--period",
                                  f"{period.start}..{period.end}", "--to", str(out)],
                                 env=child_env(**env), capture_output=True, text=True, cwd=PROJECT_ROOT)
        command_s = round(time.perf_counter() - started, 3)
        if command.returncode != 0:
            raise RuntimeError(command.stderr)
        section.add("command_s", "`dallosh report --to FILE.pdf` (subprocess, interpreter included)", command_s,
                    "{} s")
        section.line("  its summary", command.stdout.strip())
        section.target(f"report ≤ {REPORT_TARGET_S:.0f} s (content + HTML + PDF)", f"{total:.2f} s",
                       total <= REPORT_TARGET_S)
        section.target(f"command ≤ {REPORT_TARGET_S:.0f} s", f"{command_s:.2f} s", command_s <= REPORT_TARGET_S)
        section.notes.append(f"cpu count {os.cpu_count()}; the floor is what reading the file alone costs")
    report([section], "report.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
