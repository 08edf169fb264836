"""Settings › Delivery in standalone Voilà and headless Chromium, and the report e-mail as a browser shows it.

End to end: the admin opens the Delivery tab (the SMTP password never reaches the page), sends a test e-mail to a
real SMTP server, and sees the recent deliveries, the failed one first with its Retry button. Screenshots at 1280
and 1920 px, light and dark, land in ``tests/e2e/screenshots/delivery-*.png`` (git-ignored) for review, with the
report e-mail's HTML (its inline images resolved as the mail client does).
"""

from __future__ import annotations

import base64
import shutil
from collections.abc import Iterator
from datetime import date

import pytest
from playwright.sync_api import expect

from dallosh.services import SYSTEM, Services
from tests.integration.delivery.conftest import SMTP_PASSWORD, smtp_plain  # noqa: F401 - fixture used by name
from tests.integration.ui.conftest import ui_config
from tests.integration.ui.harness import (
    SCREENSHOTS,
    VoilaServer,
    full_screenshot,
    new_page,
    shoot_widths_and_themes,
    visible_errors,
    wait_until_filled,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN = "admin@free.com"
WIDTHS = (1280, 1920)
TAB = ".dl-view-settings"


@pytest.fixture(scope="module")
def env(mongo_uri, tmp_path_factory) -> Iterator[tuple[Services, VoilaServer]]:
    from dallosh.bootstrap import bootstrap

    base = tmp_path_factory.mktemp("delivery-ui")
    config = ui_config(mongo_uri, base / "storage")
    services = Services.from_config(config)
    bootstrap(services)
    server = VoilaServer(config, ADMIN, base)
    try:
        server.start()
        yield services, server
    finally:
        server.stop()
        services.db.drop_database()
        services.db.close()
        shutil.rmtree(base / "storage", ignore_errors=True)


def _records(services: Services) -> None:
    rows = [("email", "ops@example.com", "Daily report — 2025-10-21", "sent", 1, ""),
            ("webhook", "https://hooks.slack.com/services/T0/B0/abcdefgh1234", "Negative spike", "retrying", 2,
             "The webhook answered 503: the receiving service had a problem; the app will try again. Check the "
             "address in the settings."),
            ("email", "former.colleague@example.com", "Daily report — 2025-10-21", "failed", 5,
             "The mail server refused the recipient former.colleague@example.com: check the address.")]
    for kind, target, subject, status, attempts, error in rows:
        services.db.insert("deliveries", {"kind": kind, "target": target, "subject": subject, "status": status,
                                          "attempts": attempts, "lastError": error, "origin": {"alert": "A1"},
                                          "message": "", "payload": {}, "jobId": ""}, by=SYSTEM.uid)


def test_delivery_tab(env, browser, smtp_plain):  # noqa: F811
    services, server = env
    admin = services.auth.login(ADMIN, "123456")
    # A password saved (shown masked in the shots); the test e-mail below goes through the relay without login.
    services.delivery.update(admin, **{**smtp_plain.settings, "smtpUser": "reports@example.com",
                                       "smtpPassword": SMTP_PASSWORD, "publicUrl": "https://dallosh.example.com"})
    _records(services)
    page = new_page(browser)
    try:
        page.goto(server.url("admin/settings"))
        wait_until_filled(page, "settings")
        page.click(f"{TAB} .dl-tabs button:has-text('Delivery')")
        expect(page.locator(f"{TAB} .dl-delivery-list")).to_contain_text("former.colleague@example.com")
        assert SMTP_PASSWORD not in page.content()
        rows = page.locator(f"{TAB} .dl-delivery-row")
        expect(rows.first).to_contain_text("failed")
        expect(rows.first.locator("button:has-text('Retry')")).to_be_visible()
        expect(rows.nth(2).locator("button:has-text('Retry')")).to_be_hidden()
        assert "T0/B0" not in page.locator(f"{TAB} .dl-delivery-list").inner_text()  # webhook address masked
        assert visible_errors(page) == []
        shoot_widths_and_themes(page, SCREENSHOTS, "delivery-tab", WIDTHS)
        services.delivery.update(admin, smtpUser="", smtpPassword="")  # the relay (aiosmtpd) offers no login
        page.click(f"{TAB} button:has-text('Send a test e-mail')")
        expect(page.locator(f"{TAB} .dl-delivery-tests .dl-check").first).to_contain_text("Sent.")
        (got,) = smtp_plain.inbox.wait(1)
        assert got.rcpt_tos == [ADMIN]
        full_screenshot(page, SCREENSHOTS / "delivery-tab-test-sent-light.png")
    finally:
        page.close()


def test_report_email_as_a_browser_shows_it(env, browser, tmp_path):
    from dallosh.reports import Period, build_report
    from dallosh.reports.email import report_message
    from tests.integration.reports.analysed import add_analysed

    services, _ = env
    analyst = services.auth.login("analyst@free.com", "123456")
    add_analysed(services, analyst)
    report = build_report(services, analyst, Period(date(2025, 10, 15), date(2025, 10, 21)))
    message = report_message(report, ["team@example.com"], app_url="https://dallosh.example.com/",
                             unsubscribe_url="https://dallosh.example.com/unsubscribe?t=x",
                             footer_note="You get this report because you subscribed to it.")
    html = message.html
    for image in message.inline:  # what a mail client does with cid: links
        html = html.replace(f"cid:{image.cid}", "data:image/png;base64," + base64.b64encode(image.png).decode())
    (tmp_path / "email.html").write_text(html, encoding="utf-8")
    (SCREENSHOTS / "delivery-report.pdf").write_bytes(message.attachments[0].data)
    for width in WIDTHS:
        for scheme in ("light", "dark"):
            page = browser.new_page(viewport={"width": width, "height": 900}, color_scheme=scheme)
            try:
                page.goto((tmp_path / "email.html").as_uri())
                expect(page.locator("img[alt^='Timeline']")).to_be_visible()
                assert page.evaluate("() => document.querySelector('img').naturalWidth") == 1360
                page.screenshot(path=str(SCREENSHOTS / f"delivery-report-email-{width}-{scheme}.png"), full_page=True)
            finally:
                page.close()
