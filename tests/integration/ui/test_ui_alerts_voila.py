"""The "Alert rules" tab of Settings and the Alerts page in standalone Voilà and headless Chromium.

An admin creates a rule through the form (a field error first, shown under its field); an analyst reads a firing
with its explanation and opens Analysis on that day. A rule name and a tweet holding ``<img src=x onerror=…>`` are
shown as text (no such element in the page, no dialog). Screenshots at 1280 and 1920 px, light and dark, land in
``/work/shots/alerts/`` (``DALLOSH_ALERT_SHOTS`` moves them) for review.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from dallosh.config import Config
from dallosh.services import SYSTEM, Services
from dallosh.storage import ANALYSED
from tests.alerts_data import HOSTILE, write_analysed
from tests.factories import make_csv
from tests.integration.ui.conftest import ui_config
from tests.integration.ui.harness import (
    KERNEL_REPLY_MS,
    NOTEBOOKS,
    ROOT,
    VoilaServer,
    dallosh_env,
    new_page,
    shoot_widths_and_themes,
    visible_errors,
    wait_for_view,
    wait_until_filled,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SHOTS = Path(os.environ.get("DALLOSH_ALERT_SHOTS", "/work/shots/alerts"))


@dataclass
class AlertsEnv:
    config: Config
    services: Services
    admin: VoilaServer
    analyst: VoilaServer
    file_uid: str


@pytest.fixture(scope="module")
def alerts_env(mongo_uri, tmp_path_factory) -> Iterator[AlertsEnv]:
    """A bootstrapped app with one analysed dataset (a spike on 2025-10-10), two rules and one firing."""
    from dallosh.bootstrap import bootstrap

    base = tmp_path_factory.mktemp("alerts-ui")
    config = ui_config(mongo_uri, base / "storage")
    services = Services.from_config(config)
    bootstrap(services)
    admin = services.auth.login("admin@free.com", "123456")
    file, task = services.files.add(admin, "octobre.csv", make_csv(3))
    write_analysed(services.storage.path(ANALYSED, file.uid))
    services.alerts.create_rule(admin, {"name": f"Panne {HOSTILE}", "metric": "negative_volume", "k": 2.0,
                                        "window": 7, "emails": ["noc@example.com"]})
    services.alerts.create_rule(admin, {"name": "Humeur du soir", "metric": "net_sentiment", "grain": "hour",
                                        "threshold": "fixed", "value": -0.5, "direction": "below",
                                        "in_app": False, "enabled": False})
    services.alerts.evaluate_after_task(SYSTEM, task)
    servers = [VoilaServer(config, user, base) for user in ("admin@free.com", "analyst@free.com")]
    try:
        for server in servers:
            server.start()
        yield AlertsEnv(config, services, servers[0], servers[1], file.uid)
    finally:
        for server in servers:
            server.stop()
        services.db.drop_database()
        services.db.close()
        shutil.rmtree(base / "storage", ignore_errors=True)


def field(label: str) -> str:
    return f".dl-rule-editor .dl-field:has(.dl-field-label label:text-is('{label}')) .dl-field-input"


def no_hostile_markup(page, dialogs: list[str]) -> None:
    assert page.locator("img[src='x']").count() == 0, "a user's <img> became an element"
    assert dialogs == [], f"a script ran: {dialogs}"


def test_admin_creates_a_rule_in_the_settings_tab(alerts_env, browser):
    services = alerts_env.services
    dialogs: list[str] = []
    page = new_page(browser, dialogs=dialogs)
    settings = ".dl-view-settings"
    try:
        page.goto(alerts_env.admin.url("admin/settings"))
        wait_until_filled(page, "settings")
        page.click(f"{settings} .dl-tabs button:has-text('Alert rules')")
        rows = page.locator(f"{settings} .dl-rule-row")
        expect(rows).to_have_count(2)
        expect(rows.first).to_contain_text(f"Panne {HOSTILE}")  # the name as text
        no_hostile_markup(page, dialogs)
        shoot_widths_and_themes(page, SHOTS, "rules")

        page.click(f"{settings} button:has-text('New rule')")
        page.fill(f"{field('Name')} input", "Réseau > 40 par jour")
        page.select_option(f"{field('Watch')} select", label="Tweets about a topic")
        expect(page.locator(field("Topic"))).to_be_visible()
        page.select_option(f"{field('Topic')} select", label="Réseau")
        page.select_option(f"{field('Threshold')} select", label="A fixed number")
        page.fill(f"{field('Fixed value')} input", "40")
        page.press(f"{field('Fixed value')} input", "Tab")
        page.fill(f"{field('E-mails')} textarea", "ops@example.com\nnot-an-address")
        page.press(f"{field('E-mails')} textarea", "Tab")
        page.click(f"{settings} .dl-rule-editor button:has-text('Create rule')")
        expect(page.locator(f"{field('E-mails')} .dl-field-error")).to_contain_text("not an e-mail address")
        expect(page.locator(f"{settings} .dl-alert-error")).to_contain_text("E-mails:")
        shoot_widths_and_themes(page, SHOTS, "rules-editor")
        page.fill(f"{field('E-mails')} textarea", "ops@example.com")
        page.press(f"{field('E-mails')} textarea", "Tab")
        page.click(f"{settings} .dl-rule-editor button:has-text('Create rule')")
        expect(page.locator(f"{settings} .dl-alert-success")).to_contain_text("Réseau > 40 par jour was created")
        expect(rows).to_have_count(3)
        created = next(r for r in services.alerts.list_rules(SYSTEM) if r.data.name == "Réseau > 40 par jour")
        assert (created.data.metric, created.data.topic, created.data.threshold, created.data.value) == (
            "topic_volume", "Réseau", "fixed", 40.0)
        assert created.data.emails == ["ops@example.com"]
        assert visible_errors(page) == []
        no_hostile_markup(page, dialogs)
    finally:
        page.close()


def test_an_analyst_reads_an_alert_and_opens_analysis_on_that_day(alerts_env, browser):
    dialogs: list[str] = []
    page = new_page(browser, dialogs=dialogs)
    try:
        page.goto(alerts_env.analyst.url("home/alerts"))
        wait_for_view(page, "alerts")
        card = page.locator(".dl-view-alerts .dl-firing")
        expect(card).to_have_count(1, timeout=KERNEL_REPLY_MS)
        expect(card).to_contain_text("negative tweets above the threshold on 2025-10-10")
        expect(card).to_contain_text("34 negative tweets against a threshold of 8.")
        expect(card).to_contain_text("share of the rise")
        expect(card.locator(".dl-thread-item")).to_have_count(3)
        expect(card).to_contain_text(HOSTILE)  # the rule's name and the tweet, as text
        no_hostile_markup(page, dialogs)
        labels = [b.inner_text() for b in page.query_selector_all(".dl-sidebar .dl-nav-item")]
        assert "Alerts" in labels
        shoot_widths_and_themes(page, SHOTS, "alerts-page")

        card.locator("button:has-text('Open Analysis on that day')").click()
        wait_for_view(page, "analysis")
        expect(page.locator(".dl-view-analysis .dl-kpi-value").first).to_have_text("34", timeout=KERNEL_REPLY_MS)
        assert visible_errors(page) == []
        no_hostile_markup(page, dialogs)
    finally:
        page.close()


def test_nbval_runs_the_alerts_notebooks(alerts_env):
    """Both Alerts notebooks (home and admin) run top to bottom in a fresh kernel against the test database."""
    notebooks = [str(NOTEBOOKS / folder / "alerts.ipynb") for folder in ("home", "admin")]
    env = dallosh_env(alerts_env.config, "analyst@free.com")
    result = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q",
                             "-p", "no:cacheprovider", *notebooks], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "2 passed" in result.stdout


def test_a_firing_shows_a_toast_on_any_page_that_leads_to_the_alert(alerts_env, browser):
    services = alerts_env.services
    admin = services.auth.login("admin@free.com", "123456")
    page = new_page(browser)
    try:
        page.goto(alerts_env.analyst.url("home/datasets"))
        wait_until_filled(page, "datasets")
        page.wait_for_selector(".dl-toasts.dl-live", state="attached")  # the page listens: events are not missed
        toasts = page.locator(".dl-toast")
        expect(toasts).to_have_count(0)
        # a new rule over the data already processed: its first check fires (the bus → the page's kernel → a toast)
        services.alerts.create_rule(admin, {"name": "Réseau en feu", "metric": "topic_volume", "topic": "Réseau"})
        task = services.tasks.find_by_file(alerts_env.file_uid)
        (fired,) = services.alerts.evaluate_after_task(SYSTEM, task)
        toast = toasts.filter(has_text="Alert: Réseau en feu")
        expect(toast).to_be_visible(timeout=KERNEL_REPLY_MS)
        expect(toast).to_contain_text("2025-10-10: 33 tweets about Réseau against a threshold of 6.5.")
        page.screenshot(path=str(SHOTS / "toast-1400-light.png"))
        toast.locator("button:has-text('See why')").click()
        wait_for_view(page, "alerts")
        first = page.locator(".dl-view-alerts .dl-firing").first
        expect(first).to_contain_text("Réseau en feu: tweets about Réseau above the threshold on 2025-10-10")
        assert services.alerts.get_firing(admin, fired.uid).data.in_app
        assert visible_errors(page) == []
    finally:
        page.close()
