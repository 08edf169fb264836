"""The HTML and PDF renderers on a real report: same words and numbers, e-mail-safe HTML, readable PDF text."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader

from dallosh.reports import Period, build_report
from dallosh.reports.html import render_html
from dallosh.reports.pdf import render_pdf
from tests.integration.reports.analysed import add_analysed, analysed_csv

WEEK = Period(date(2025, 10, 15), date(2025, 10, 21))
#: A critical tweet with markup and an emoji, on the 21st.
HOSTILE = "1210099,2025-10-21 12:00:00,<script>alert(1)</script> réseau coupé 😡🤬,pirate,negative,2,Réseau,False," \
          "False,999,\n"


@pytest.fixture
def report(services, analyst):
    add_analysed(services, analyst, text=analysed_csv() + HOSTILE)
    return build_report(services, analyst, WEEK)


def pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def test_html_is_email_friendly_and_escapes_tweets(report):
    html = render_html(report)
    assert "<script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<svg" not in html and "<style" not in html and "<link" not in html  # inline styles only
    assert "😡🤬" in html  # e-mail clients draw emoji
    assert "Key figures" in html and "69" in html  # 68 customer tweets + the hostile one
    assert "Spike on 2025-10-20 (all tweets)" in html and "#pannefree" in html
    assert "▲ +13 (+23 %) vs the previous 7 days" in html


def test_pdf_has_the_same_numbers_accents_and_a_note_for_the_emoji(report):
    text = pdf_text(render_pdf(report))
    volume = next(c for c in report.cards if c.key == "volume")
    negative = next(c for c in report.cards if c.key == "negative_share")
    assert volume.value in text and negative.value in text and volume.change in text
    assert "Réseau" in text and "réseau coupé" in text and "<script>alert(1)</script>" in text
    assert "Spike on 2025-10-20 (all tweets)" in text and "#pannefree" in text
    # DejaVu Sans draws 😡 (its emoticons block), not 🤬: left out, and said so.
    assert "coupé 😡" in text and "🤬" not in text
    assert re.search(r"1 emoji or symbol\(s\) the PDF font cannot draw", text)


def test_report_links_are_built_from_the_tweet_id_never_from_the_uploaded_url():
    from dallosh.reports.layout import tweet_url

    assert tweet_url({"id": "1790000000000000001", "url": "https://evil.example/login"}) == \
        "https://x.com/i/status/1790000000000000001"
    assert tweet_url({"id": "not-a-number", "url": "https://x.com/i/status/1"}) == ""  # no id: no link
