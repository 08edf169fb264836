"""``dallosh report`` with filter options, as a subprocess: the PDF's numbers are Analysis's for the same filters."""

from __future__ import annotations

import io
from datetime import timedelta

from pypdf import PdfReader

from dallosh import analytics
from dallosh.ui.analysis.kpis import format_kpis
from tests.integration.reports.test_report_cli import app, run  # noqa: F401 - the module's app fixture

__all__ = ["app"]


def test_filtered_report_has_the_filtered_analysis_numbers(app):  # noqa: F811
    env, services, analyst, file, tmp = app
    frame = services.results.corrected(analyst, [file.uid])
    tz = services.settings.general().timeZone
    _, last = analytics.data_range(frame, tz)
    start = last - timedelta(days=13)
    topic = analytics.topic_counts(frame)["main_topic"].iloc[0]
    chosen = analytics.Filters(date_from=start, date_to=last, tz=tz, sentiments=["negative"], priorities=[1, 2],
                               topics=[topic], include_operator=True)
    rows = analytics.apply_filters(frame, chosen)
    everything = analytics.apply_filters(frame, analytics.Filters(date_from=start, date_to=last, tz=tz))
    assert 0 < len(rows) < len(everything)  # the filters select something, and not everything
    shown = format_kpis(analytics.kpis(rows, replies_from=frame), len(frame))

    pdf = tmp / "filtered.pdf"
    result = run(env, "report", "--datasets", "octobre.csv", "--period", f"{start}..{last}", "--to", str(pdf),
                 "--sentiment", "negative", "--priority", "1", "2", "--topic", topic, "--include-operator")
    assert result.returncode == 0, result.stderr
    assert f"{len(rows)} tweets" in result.stdout
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    for key in ("volume", "high_priority_count"):
        assert shown[key][0] in text, f"{key}: {shown[key][0]!r} is not in the PDF"
    assert f"negative sentiment, priority 1 or 2, topic {topic}" in text.replace("\n", " ")  # what it counts

    unfiltered = run(env, "report", "--datasets", "octobre.csv", "--period", f"{start}..{last}", "--to",
                     str(tmp / "all.pdf"))
    assert unfiltered.returncode == 0 and f"{len(everything)} tweets" in unfiltered.stdout  # positive control
