"""The Reports page in standalone Voilà and headless Chromium: an analyst creates a daily report (a field error
first), previews the e-mail (in a sandboxed frame) and sends it now; a dataset named like an XSS payload stays
text. Screenshots at 1280 and 1920 px, light and dark, go to /work/shots/subscriptions/ (or
``DALLOSH_SHOTS``)."""

from __future__ import annotations

import io
import os
import shutil
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from playwright.sync_api import expect
from rq.registry import ScheduledJobRegistry

from dallosh.config import Config, load_config
from dallosh.services import Services
from tests.integration.reports.analysed import add_analysed, analysed_csv
from tests.integration.ui.harness import (
    VoilaServer,
    new_page,
    painted,
    shoot_widths_and_themes,
    visible_errors,
    wait_for_view,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ANALYST = "analyst@free.com"
HOSTILE = "<img src=x onerror=alert(1)>.csv"
SHOTS = Path(os.environ.get("DALLOSH_SHOTS", "/work/shots/subscriptions"))


def recent_csv() -> str:
    """The report tests' analysed tweets moved so that their 21st is yesterday: a run now has a day to report."""
    frame = pd.read_csv(io.StringIO(analysed_csv()), dtype=str)
    shift = pd.Timedelta(days=(date.today() - date(2025, 10, 22)).days)
    frame["created_at"] = (pd.to_datetime(frame["created_at"]) + shift).dt.strftime("%Y-%m-%d %H:%M:%S")
    return frame.to_csv(index=False)


@dataclass
class ReportsEnv:
    config: Config
    services: Services
    server: VoilaServer
    dataset: str


@pytest.fixture(scope="module")
def reports_env(mongo_uri, tmp_path_factory) -> Iterator[ReportsEnv]:
    """A bootstrapped app with two analysed datasets of the analyst (one with a hostile name) and the analyst's
    Voilà server; runs are scheduled on a notify queue of this module's own."""
    from dallosh.bootstrap import bootstrap

    base = tmp_path_factory.mktemp("reports-ui")
    suffix = uuid.uuid4().hex[:8]
    env = {"DALLOSH_MONGODB_URI": mongo_uri, "DALLOSH_MONGODB_DATABASE": f"test_ui_{suffix}",
           "DALLOSH_STORAGE_ROOT": str(base / "storage"), "DALLOSH_QUEUE_NAME": f"test-ui-{suffix}",
           "DALLOSH_NOTIFY_QUEUE_NAME": f"test-ui-notify-{suffix}", "DALLOSH_EMBEDDED_DB": "never"}
    config = load_config(env, env_file=Path("/nonexistent"))
    services = Services.from_config(config)
    bootstrap(services)
    analyst = services.auth.login(ANALYST, "123456")
    file = add_analysed(services, analyst, "octobre.csv", recent_csv())
    add_analysed(services, analyst, HOSTILE, recent_csv())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DALLOSH_NOTIFY_QUEUE_NAME", config.notify_queue_name)  # the kernel's queue
        server = VoilaServer(config, ANALYST, base).start()
    queue = services.subscriptions.scheduler.queue
    try:
        yield ReportsEnv(config, services, server, file.uid)
    finally:
        server.stop()
        registry = ScheduledJobRegistry(queue=queue)
        for job_id in registry.get_job_ids():
            queue.connection.delete(f"rq:job:{job_id}")
        queue.connection.delete(registry.key)
        for job in queue.jobs:
            job.delete()
        queue.empty()
        services.db.drop_database()
        services.db.close()
        shutil.rmtree(base / "storage", ignore_errors=True)


def field(label: str) -> str:
    return f".dl-view-reports .dl-field:has(.dl-field-label label:text-is('{label}')) .dl-field-input"


def settle(page) -> None:
    """Until the preview frame has loaded its e-mail and the page has painted: a click while the sandboxed frame
    is still loading was sometimes not delivered (headless Chromium, under load)."""
    page.wait_for_function("() => [...document.querySelectorAll('iframe.dl-report-preview')]"
                           ".every((f) => f.contentDocument === null || f.contentDocument.readyState === 'complete')")
    painted(page)


def test_create_preview_and_send_now(reports_env, browser):
    services = reports_env.services
    dialogs: list[str] = []
    page = new_page(browser, dialogs=dialogs)
    view = ".dl-view-reports"
    try:
        page.goto(reports_env.server.url("home/reports"))
        wait_for_view(page, "reports")
        expect(page.locator(view)).to_contain_text("No scheduled report yet")
        page.click(f"{view} button:has-text('New scheduled report')")
        page.fill(f"{field('At')} input", "7h")
        page.click(f"{view} button:has-text('Save')")
        expect(page.locator(f"{field('At')} .dl-field-error")).to_contain_text("HH:MM")
        shoot_widths_and_themes(page, SHOTS, "reports-form")
        page.fill(f"{field('At')} input", "07:00")
        page.click(f"{field('Datasets')} input[type=checkbox]")  # not every dataset: choose
        options = page.locator(f"{field('Datasets')} select option")
        expect(options).to_have_count(2)
        assert HOSTILE in [t.replace("\xa0", " ") for t in options.all_inner_texts()]  # text, not an element
        page.select_option(f"{field('Datasets')} select", label="octobre.csv")
        page.select_option(f"{field('Sentiments')} select", label="negative")
        page.click(f"{view} button:has-text('Save')")
        expect(page.locator(f"{view} .dl-alert-success")).to_contain_text("Every day at 07:00 (Europe/Paris)")
        (sub,) = services.subscriptions.list(services.auth.login(ANALYST, "123456"))
        assert sub.data.datasets == [reports_env.dataset] and sub.data.filters.sentiments == ["negative"]
        row = page.locator(f"{view} .dl-subscription-row")
        expect(row).to_contain_text("octobre.csv")
        expect(row).to_contain_text("sentiment negative")
        assert visible_errors(page) == []
        shoot_widths_and_themes(page, SHOTS, "reports")

        row.locator("button:has-text('Preview')").click()
        frame_el = page.locator(f"{view} iframe.dl-report-preview")
        expect(frame_el).to_be_visible()
        assert frame_el.get_attribute("sandbox") == ""
        frame = page.frame_locator(f"{view} iframe.dl-report-preview")
        expect(frame.locator("body")).to_contain_text("octobre.csv")
        expect(frame.locator("body")).to_contain_text("Unsubscribe")
        shoot_widths_and_themes(page, SHOTS, "reports-preview")

        settle(page)
        page.click(f"{view} button:has-text('Close preview')")
        expect(frame_el).to_have_count(0)

        # The form's preview with every dataset: the hostile file name is text inside the sandboxed e-mail.
        page.click(f"{view} button:has-text('New scheduled report')")
        page.click(f"{view} button:has-text('Preview')")
        expect(frame.locator("body")).to_contain_text(HOSTILE)
        assert frame.locator("img[src='x']").count() == 0
        settle(page)
        page.click(f"{view} button:has-text('Close preview')")
        expect(frame_el).to_have_count(0)
        page.click(f"{view} button:has-text('Cancel')")
        expect(page.locator(f"{view} .dl-subscription-form")).to_be_hidden()
        painted(page)
        row.locator("button:has-text('Send now')").click()
        expect(page.locator(f"{view} .dl-alert-success")).to_contain_text("on its way to analyst@free.com")
        queue = services.subscriptions.scheduler.queue
        assert any(j.args[:2] == (sub.uid, 0) for j in queue.jobs)
        assert dialogs == [], "a script ran"
    except AssertionError:
        print(reports_env.server.logs()[-4000:])
        page.screenshot(path=str(SHOTS / "failed-reports.png"), full_page=True)
        raise
    finally:
        page.close()
