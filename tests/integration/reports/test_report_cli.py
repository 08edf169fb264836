"""``dallosh report`` as a cron job runs it: a real subprocess, a real embedded database, a dataset processed by
the real pipeline; the PDF is read back and its numbers are the Analysis page's."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from pypdf import PdfReader

from dallosh import analytics
from dallosh.config import load_config
from dallosh.services import SYSTEM, Services
from dallosh.storage import ANALYSED
from dallosh.ui.analysis.kpis import format_kpis
from tests.conftest import free_port
from tests.factories import make_csv
from tools.synthetic import generate_tweets


def run(env: dict[str, str], *args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dallosh", *args], env=env, capture_output=True, text=True,
                          timeout=timeout)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    """A bootstrapped app on its own embedded database with one processed dataset of the analyst's."""
    tmp = tmp_path_factory.mktemp("report-cli")
    env = {**os.environ, "DALLOSH_MONGODB_URI": f"mongodb://127.0.0.1:{free_port()}",
           "DALLOSH_MONGODB_DATABASE": "report_cli", "DALLOSH_STORAGE_ROOT": str(tmp / "storage"),
           "DALLOSH_LOCAL_USER": "analyst@free.com"}
    assert run(env, "bootstrap", "--start-db").returncode == 0
    try:
        source = tmp / "octobre.csv"
        generate_tweets(400, seed=11).to_csv(source, index=False)
        processed = run(env, "process", str(source), "--out", str(tmp / "analysed.csv"))
        assert processed.returncode == 0, processed.stderr
        services = Services.from_config(load_config(env, env_file=Path("/nonexistent")))
        analyst = services.auth.login("analyst@free.com", "123456")
        file, _ = services.files.add(analyst, "octobre.csv", make_csv(3))
        target = services.storage.path(ANALYSED, file.uid)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp / "analysed.csv", target)
        yield env, services, analyst, file, tmp
    finally:
        run(env, "db", "stop", timeout=60)


def test_pdf_and_html_reports_carry_analysis_numbers(app):
    env, services, analyst, file, tmp = app
    frame = services.results.corrected(analyst, [file.uid])
    tz = services.settings.general().timeZone
    first, last = analytics.data_range(frame, tz)
    start = last - timedelta(days=13)  # two weeks, compared with the two before
    first_tweet = frame["id"].iloc[0]
    services.corrections.correct(analyst, file.uid, first_tweet, "sentiment", "negative")
    frame = services.results.corrected(analyst, [file.uid])
    rows = analytics.apply_filters(frame, analytics.Filters(date_from=start, date_to=last, tz=tz))
    shown = format_kpis(analytics.kpis(rows, replies_from=frame), len(frame))  # what the Analysis cards show
    period = f"{start}..{last}"

    pdf, html = tmp / "report.pdf", tmp / "report.html"
    result = run(env, "report", "--datasets", "octobre.csv", "--period", period, "--to", str(pdf))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Wrote {pdf}: ") and f"{len(rows)} tweets" in result.stdout
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    for key in ("volume", "negative_share", "net_sentiment", "high_priority_count", "engagement_median"):
        assert shown[key][0] in text, f"{key}: {shown[key][0]!r} is not in the PDF"
    top_topic = analytics.topic_counts(rows)["main_topic"].iloc[0]
    assert "octobre.csv" in text and top_topic in text

    result = run(env, "report", "--all", "--period", period, "--to", str(html), "--as", "analyst@free.com")
    assert result.returncode == 0, result.stderr
    page = html.read_text(encoding="utf-8")
    assert all(shown[key][0] in page for key in ("volume", "negative_share", "net_sentiment"))

    # The whole data range: the report's count is Overview's headline (services.results), corrections included.
    whole = run(env, "report", "--all", "--period", f"{first}..{last}", "--to", str(tmp / "all.html"))
    assert f" {services.results.headline(analyst, file.uid)['rows']} tweets" in whole.stdout


def test_errors_are_sentences_with_exit_code_2(app):
    env, services, analyst, file, tmp = app
    role = services.roles.create(SYSTEM, "no-read", ["use_notebooks"])
    services.users.create(SYSTEM, "noread@free.com", "s3cret-pass-1", role.uid)
    out = tmp / "refused.pdf"
    cases = {
        "No dataset is named 'septembre.csv'": ["--datasets", "septembre.csv", "--period", "last-7-days"],
        "is not understood": ["--datasets", "octobre.csv", "--period", "last week"],
        "must end in .pdf or .html": ["--all", "--period", "last-7-days", "--to", str(tmp / "r.txt")],
        "No active account for 'nobody@free.com'": ["--all", "--period", "yesterday", "--as", "nobody@free.com"],
    }
    for message, args in cases.items():
        result = run(env, "report", *args, *([] if "--to" in args else ["--to", str(out)]))
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert "Traceback" not in result.stderr and not out.exists()
    refused = run(env, "report", "--all", "--period", "yesterday", "--to", str(out), "--as", "noread@free.com")
    assert refused.returncode == 2 and "lacks the permission" in refused.stderr and not out.exists()
    assert "Traceback" not in refused.stderr
    # Positive control: the same command for a user who may read datasets.
    allowed = run(env, "report", "--all", "--period", "yesterday", "--to", str(out), "--as", "analyst@free.com")
    assert allowed.returncode == 0 and out.exists(), allowed.stderr
