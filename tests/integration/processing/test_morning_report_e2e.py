"""Issue 18's end-to-end check, every part real: an analyst uploads an export with a spike, a real ``dallosh worker``
cleans and labels it with the built-in analyzer, the admin's alert rule fires, the e-mail (aiosmtpd) and the
Slack/Teams webhook (a local HTTP endpoint) arrive with the explanation; then the analyst's daily report, scheduled
with RQ's scheduler by the same worker, arrives at its time (the app's clock injected) with a PDF whose numbers are
the Analysis page's."""

from __future__ import annotations

import io
import time
from datetime import UTC, datetime

import pandas as pd
from pypdf import PdfReader

from dallosh import analytics
from dallosh.analytics.load import typed_copy_path
from dallosh.services import Services
from dallosh.storage import ANALYSED
from dallosh.ui.analysis.kpis import format_kpis
from tests.alerts_data import export_csv
from tests.conftest import wait_status
from tests.integration.delivery.conftest import hook, smtp_plain, wait_for  # noqa: F401 - shared fixtures
from tests.integration.subscriptions.conftest import AppClock

SPIKE_DAY = "2025-10-10"
#: The morning after the spike, ten seconds before the analyst's 07:00 report (Paris).
BEFORE_SEVEN = datetime.fromisoformat("2025-10-11T06:59:50+02:00")


def analysis_rows(services, actor, uid: str, **filters):
    """The rows the Analysis page counts for the spike day (its own calls: default filters, corrections applied)."""
    frame = services.results.corrected(actor, [uid])
    tz = services.settings.general().timeZone
    return frame, analytics.apply_filters(frame, analytics.Filters(tz=tz, date_from=SPIKE_DAY, date_to=SPIKE_DAY,
                                                                   **filters))


def test_upload_process_alert_and_morning_report_arrive(services, admin, analyst, runtime, workers,
                                                         smtp_plain, hook):  # noqa: F811 - the fixtures above
    public = "https://dallosh.example.com/"
    services.delivery.update(admin, **smtp_plain.settings, publicUrl=public)
    services.alerts.create_rule(admin, {"name": "Pic de plaintes", "metric": "negative_volume", "k": 2.0,
                                        "window": 7, "emails": ["noc@example.com"], "webhooks": [hook.url]})
    file, task = services.files.add(analyst, "pic.csv", export_csv())
    workers.start()  # one `dallosh worker`: the task worker and the notify worker with RQ's scheduler
    services.tasks.request(analyst, task.uid, "start")
    assert wait_status(services, task.uid, {"done", "on_error"}, timeout=180) == "done", workers.logs()[-3000:]

    # The worker typed the analysed file once, beside it: the first view, check or report maps that copy.
    analysed = services.storage.path(ANALYSED, file.uid)
    assert typed_copy_path(analysed).exists()
    from_copy = analytics.load_analysed(analysed, dataset_names=["pic.csv"])
    from_csv = analytics.load_analysed(io.BytesIO(analysed.read_bytes()), dataset_names=["pic.csv"])  # parsed
    pd.testing.assert_frame_equal(from_copy, from_csv)

    # The alert: stored with its explanation, e-mailed and posted, with the Analysis page's count.
    frame, negative = analysis_rows(services, analyst, file.uid, sentiments=["negative"])
    (received,) = smtp_plain.inbox.wait(1, timeout=90)
    (body,) = hook.wait(1, timeout=60)
    (firing,) = services.alerts.list_firings(analyst).items
    assert firing.data.period == SPIKE_DAY and firing.data.value == len(negative) > firing.data.threshold
    mail = received.message
    assert received.rcpt_tos == ["noc@example.com"] and SPIKE_DAY in mail["Subject"]
    html, text = mail.get_body(("html",)).get_content(), mail.get_body(("plain",)).get_content()
    for part in (html, text, body["text"]):
        assert f"{len(negative)} negative tweets" in part and "panne" in part  # the count and why
    assert "share of the rise" in html.lower() and "pic.csv" in html
    assert body["dallosh"]["data"]["period"] == SPIKE_DAY and body["@type"] == "MessageCard"

    # The morning report: the analyst subscribes at 06:59:50 (app time) for 07:00; it arrives ten seconds later.
    clock = AppClock(BEFORE_SEVEN)
    app = Services(services.db, services.storage, services.config, clock=clock)
    sub = app.subscriptions.create(analyst, time="07:00", allDatasets=False, datasets=[file.uid])
    assert sub.data.nextRunAt == datetime(2025, 10, 11, 5, 0, tzinfo=UTC)
    fires_at = time.time() + (sub.data.nextRunAt.timestamp() - clock())
    report_mail = next(r for r in smtp_plain.inbox.wait(2, timeout=90) if r.rcpt_tos == ["analyst@free.com"])
    assert time.time() >= fires_at - 1.5  # not before its time (RQ's scheduler counts whole seconds)
    (pdf,) = [p.get_content() for p in report_mail.message.iter_attachments()
              if p.get_content_type() == "application/pdf"]
    pdf_text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    _, day = analysis_rows(services, analyst, file.uid)
    shown = format_kpis(analytics.kpis(day, replies_from=frame), len(frame))
    for key in ("volume", "negative_share", "net_sentiment", "high_priority_count"):
        assert shown[key][0] in pdf_text, f"{key}: {shown[key][0]!r} is not in the PDF"
    assert "panne" in pdf_text.lower() and SPIKE_DAY in report_mail.message["Subject"]
    after = wait_for(lambda: (s := app.subscriptions.find(sub.uid)).data.lastOutcome and s, what="outcome")
    assert after.data.lastOutcome == "ok"
    app.subscriptions.delete(analyst, sub.uid)  # cancels the next run's job
