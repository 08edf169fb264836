"""A daily report arrives at its time through the real chain: RQ's scheduler in a real ``dallosh worker --queue
notify``, the report built as the analyst, the e-mail sent to a real SMTP server (aiosmtpd), the PDF attached
with the Analysis page's numbers; a run left from before an edit sends nothing."""

from __future__ import annotations

import io
import re
import time
from datetime import UTC, date, datetime, timedelta

from pypdf import PdfReader
from rq.job import Job

from dallosh import analytics
from dallosh.services.subscriptions import job_id, signing_key, token_uid
from dallosh.ui.analysis.kpis import format_kpis
from tests.integration.delivery.conftest import wait_for
from tests.integration.reports.analysed import add_analysed
from tests.integration.subscriptions.conftest import BEFORE_SEVEN

REPORTED_DAY = date(2025, 10, 21)  # the day before 22 October


def test_daily_report_arrives_at_its_time_with_analysis_numbers_and_stale_runs_send_nothing(
        services, admin, analyst, clock, smtp_plain, notify_workers, notify):
    services.delivery.update(admin, **smtp_plain.settings, publicUrl="https://dallosh.example.com/")
    file = add_analysed(services, analyst, "octobre.csv")
    notify_workers.start()
    clock.set(BEFORE_SEVEN + timedelta(seconds=2))  # 8 s before 07:00 in Paris (the worker is starting)
    sub = services.subscriptions.create(analyst, time="06:30", allDatasets=False, datasets=[file.uid],
                                        filters={"priorities": [1, 2]})
    old_due = sub.data.nextRunAt  # 23 October, 06:30: no e-mail should ever come from it
    sub = services.subscriptions.update(analyst, sub.uid, time="07:00")
    due = sub.data.nextRunAt
    assert due == datetime(2025, 10, 22, 5, 0, tzinfo=UTC)
    fires_at = time.time() + (due.timestamp() - clock())  # the machine's time of 07:00 in the app
    # A run of the first version that could not be cancelled (e.g. it was already queued): it must do nothing.
    stale = f"{job_id(sub.uid, 1, old_due)}-late"
    services.subscriptions.scheduler.now(stale, sub.uid, 1, old_due.isoformat())

    (received,) = smtp_plain.inbox.wait(1, timeout=90)
    arrived = time.time()
    assert fires_at - 0.5 <= arrived <= fires_at + 30, (arrived - fires_at, notify_workers.logs())
    assert Job.fetch(stale, connection=notify.connection).return_value().startswith("stale")

    mail = received.message
    assert received.rcpt_tos == ["analyst@free.com"] and "2025-10-21" in mail["Subject"]
    (pdf_part,) = [p for p in mail.iter_attachments() if p.get_content_type() == "application/pdf"]
    pdf = pdf_part.get_content()
    text = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)

    tz = services.settings.general().timeZone
    frame = services.results.corrected(analyst, [file.uid])
    rows = analytics.apply_filters(frame, analytics.Filters(date_from=REPORTED_DAY, date_to=REPORTED_DAY, tz=tz,
                                                            priorities=[1, 2]))
    assert 0 < len(rows) < len(analytics.apply_filters(frame, analytics.Filters(
        date_from=REPORTED_DAY, date_to=REPORTED_DAY, tz=tz)))  # the filter keeps some rows, not all
    shown = format_kpis(analytics.kpis(rows, replies_from=frame), len(frame))
    for key in ("volume", "negative_share", "net_sentiment", "high_priority_count", "engagement_median"):
        assert shown[key][0] in text, f"{key}: {shown[key][0]!r} is not in the PDF"
    assert "octobre.csv" in text

    html = mail.get_body(("html",)).get_content()
    link = re.search(r'href="(https://dallosh\.example\.com/hub/dallosh/unsubscribe\?token=[^"]+)"', html)
    assert link, "no unsubscribe link in the e-mail"
    token = link.group(1).split("token=")[1]
    assert token_uid(signing_key(services.config), token) == sub.uid

    after = wait_for(lambda: (s := services.subscriptions.find(sub.uid)).data.lastOutcome and s, what="outcome")
    assert after.data.lastOutcome == "ok" and after.data.lastSentAt is not None
    assert after.data.nextRunAt > due  # the next run is scheduled
    time.sleep(2)  # the stale run and any duplicate had time to send: still one e-mail
    assert len(smtp_plain.inbox.items) == 1


def test_a_dataset_no_longer_readable_is_left_out_and_said_so(services, admin, analyst, clock, smtp_plain,
                                                             notify_workers, notify):
    services.delivery.update(admin, **smtp_plain.settings)
    kept = add_analysed(services, analyst, "octobre.csv")
    gone = add_analysed(services, admin, "novembre.csv")
    sub = services.subscriptions.create(analyst, allDatasets=False, datasets=[kept.uid, gone.uid])
    services.files.delete(admin, gone.uid)
    notify_workers.start()
    services.subscriptions.send_now(analyst, sub.uid)
    (received,) = smtp_plain.inbox.wait(1, timeout=90)
    html = received.message.get_body(("html",)).get_content()
    assert "left out" in html and "octobre.csv" in html
    after = wait_for(lambda: (s := services.subscriptions.find(sub.uid)).data.lastOutcome and s, what="outcome")
    assert after.data.lastOutcome == "ok: 1 dataset(s) left out"
    assert after.data.nextRunAt == sub.data.nextRunAt  # "send now" leaves the schedule alone
