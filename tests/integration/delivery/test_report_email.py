"""The report e-mail through a real SMTP server and a real notify worker: subject, recipients, HTML with the
timeline inline, plain text, and the PDF attachment opening with the report's numbers; user data escaped."""

from __future__ import annotations

import io
from datetime import date

import pytest
from PIL import Image
from pypdf import PdfReader

from dallosh.reports import Period, build_report
from dallosh.reports.email import report_message
from tests.integration.delivery.conftest import wait_for
from tests.integration.reports.analysed import SPIKE_DAY, add_analysed, analysed_csv

WEEK = Period(date(2025, 10, 15), date(2025, 10, 21))
HOSTILE = ("1210099,2025-10-21 12:00:00,<img src=x onerror=alert(1)> réseau coupé,pirate,negative,2,Réseau,False,"
           "False,999,\n")
UNSUBSCRIBE = "https://dallosh.example.com/hub/unsubscribe?token=abc&x=1"


@pytest.fixture
def report(services, analyst):
    add_analysed(services, analyst, filename="<em onclick=x>octobre.csv", text=analysed_csv() + HOSTILE)
    return build_report(services, analyst, WEEK)


def test_report_has_a_timeline_with_the_spike(report):
    days = {p.start.date(): p for p in report.timeline}
    assert min(days) == WEEK.start and max(days) == WEEK.end and len(days) == 7
    spike = days[date(2025, 10, SPIKE_DAY)]
    assert spike.spike and spike.volume == 20 and spike.negative == 4 + 12
    assert sum(p.volume for p in report.timeline) == report.kpis["volume"]
    assert not any(p.spike for d, p in days.items() if d.day != SPIKE_DAY)


def test_report_message_parts(report):
    message = report_message(report, ["a@example.com"], unsubscribe_url=UNSUBSCRIBE,
                             app_url="https://dallosh.example.com/", footer_note="You subscribed to this report.")
    assert message.subject == report.title and message.to == ["a@example.com"]
    assert 'src="cid:timeline"' in message.html and "data:image" not in message.html
    assert "&lt;img src=x onerror=alert(1)&gt;" in message.html and "<img src=x" not in message.html
    assert "&lt;em onclick=x&gt;octobre.csv" in message.html and "<em onclick" not in message.html
    assert 'href="https://dallosh.example.com/hub/unsubscribe?token=abc&amp;x=1"' in message.html
    assert UNSUBSCRIBE in message.text and "<img src=x onerror=alert(1)> réseau coupé" in message.text
    (image,) = message.inline
    png = Image.open(io.BytesIO(image.png))
    assert image.cid == "timeline" and png.format == "PNG" and png.size == (1360, 500)
    (pdf,) = message.attachments
    assert pdf.filename == "dallosh-report-2025-10-15_2025-10-21.pdf" and pdf.data.startswith(b"%PDF")


def test_report_email_arrives_whole(services, admin, report, smtp_plain, notify_workers):
    services.delivery.update(admin, **smtp_plain.settings, publicUrl="https://dallosh.example.com")
    message = report_message(report, ["team@example.com"], unsubscribe_url=UNSUBSCRIBE)
    (uid,) = services.delivery.enqueue(admin, message, emails=["team@example.com"], webhooks=[], payload=None,
                                       origin={"subscription": "S1"})
    notify_workers.start()
    (got,) = smtp_plain.inbox.wait(1)
    mail = got.message
    assert mail["Subject"] == report.title and mail["To"] == "team@example.com"
    assert got.rcpt_tos == ["team@example.com"] and mail["From"] == "reports@example.com"
    html = mail.get_body(("html",)).get_content()
    text = mail.get_body(("plain",)).get_content()
    assert 'src="cid:timeline"' in html and "&lt;img src=x onerror=alert(1)&gt;" in html
    volume = next(c for c in report.cards if c.key == "volume")
    negative = next(c for c in report.cards if c.key == "negative_share")
    for part in (html, text):
        assert volume.value in part and negative.value in part and volume.change in part
        assert "Spike on 2025-10-20 (all tweets)" in part
    related = [p for p in mail.walk() if p.get_content_type() == "image/png"]
    assert len(related) == 1 and related[0]["Content-ID"] == "<timeline>"
    assert Image.open(io.BytesIO(related[0].get_content())).size == (1360, 500)
    (attachment,) = list(mail.iter_attachments())
    assert attachment.get_content_type() == "application/pdf"
    assert attachment.get_filename() == "dallosh-report-2025-10-15_2025-10-21.pdf"
    reader = PdfReader(io.BytesIO(attachment.get_content()))
    pdf = "\n".join(page.extract_text() for page in reader.pages)
    assert volume.value in pdf and negative.value in pdf and volume.change in pdf and "Timeline" in pdf
    assert "Spike on 2025-10-20 (all tweets)" in pdf and "<em onclick=x>octobre.csv" in pdf
    assert any(page.images for page in reader.pages)  # the timeline chart is drawn in the PDF
    wait_for(lambda: services.db.get("deliveries", uid)["data"]["status"] == "sent", 30, "the record sent")
