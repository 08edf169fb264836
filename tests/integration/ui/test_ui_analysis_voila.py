"""The analysis pages in standalone Voilà and headless Chromium, on datasets processed by a real worker.

An analyst filters, clicks a chart segment (the table follows), exports the rows, corrects a label and sees the
KPI change. Screenshots of both pages in light and dark land in ``tests/e2e/screenshots/analysis-*.png``.
"""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from playwright.sync_api import expect

from tests.integration.ui.harness import (
    SCREENSHOTS,
    full_screenshot,
    new_page,
    newest_kernel,
    set_theme,
    visible_errors,
    wait_for_view,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN, ANALYST = "admin@free.com", "analyst@free.com"
ROWS = ".dl-analysis-grid .ag-center-cols-container .ag-row"
#: True once the table shows rows and every one is negative (``arg``: the rows' selector).
ALL_NEGATIVE = ("(rows) => { const cells = [...document.querySelectorAll(rows + \" [col-id='sentiment']\")];"
                " return cells.length > 0 && cells.every((c) => c.textContent.trim() === 'negative'); }")


def open_analysis(browser, server, area: str, requests: list[str] | None = None):
    page = new_page(browser, requests, accept_downloads=True)
    page.goto(server.url(f"{area}/analysis"))
    wait_for_view(page, "analysis")
    page.wait_for_selector(".dl-chart-timeline .main-svg", timeout=60_000)  # plotly.js arrived and drew
    page.wait_for_selector(ROWS, timeout=60_000)
    return page



def negative_tweets_of_the_first_topic(page) -> None:
    """Filter on negative tweets, click the first topic bar, and wait until the address carries both."""
    page.locator(".dl-filter select").nth(2).select_option(label="negative")
    expect(page.locator(".dl-kpi-negative-share .dl-kpi-value")).to_have_text("100.0 %", timeout=15_000)
    click_bar(page, "topics", 0)
    expect(page.locator(".dl-chips .dl-chip-button")).to_have_count(1, timeout=15_000)
    page.wait_for_function("() => location.hash.includes('sent=negative') && location.hash.includes('f=')",
                           timeout=15_000)  # the address follows the view (a reload restores it)


def kpi(page, key: str) -> str:
    return page.inner_text(f".dl-kpi-{key} .dl-kpi-value").strip()


def number(text: str) -> int:
    return int(re.sub(r"\D", "", text))


def grid_column(page, column: str) -> list[str]:
    return [c.inner_text().strip() for c in page.query_selector_all(f"{ROWS} [col-id='{column}']")]


def click_bar(page, chart: str, index: int) -> None:
    """Hover then click the middle of a bar: plotly picks the point under the mouse, as for a user."""
    bar = page.query_selector_all(f".dl-chart-{chart} .bars .point path")[index]
    bar.scroll_into_view_if_needed()
    box = bar.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.evaluate("""(chart) => { window.__hovered = false;
        document.querySelector(chart).on('plotly_hover', () => { window.__hovered = true; }); }""",
                  f".dl-chart-{chart} .js-plotly-plot")
    page.mouse.move(x, y)
    page.wait_for_function("() => window.__hovered")  # plotly found the point under the mouse
    page.mouse.click(x, y)


def watch_redraw(page, chart: str) -> str:
    """Start noting when ``chart`` is drawn again (plotly's afterplot event); returns what ``redrawn`` waits on."""
    selector = f".dl-chart-{chart} .js-plotly-plot"
    page.evaluate("""(sel) => { const gd = document.querySelector(sel); gd.__redrawn = false;
        gd.on('plotly_afterplot', () => { gd.__redrawn = true; }); }""", selector)
    return selector


def redrawn(page, selector: str) -> None:
    page.wait_for_function("(sel) => document.querySelector(sel).__redrawn === true", arg=selector)


def no_row_with_id(tweet: str) -> str:
    return (f"() => ![...document.querySelectorAll(\"{ROWS} [col-id='id']\")]"
            f".some((c) => c.textContent.trim() === '{tweet}')")


@pytest.mark.parametrize("area,user", [("admin", ADMIN), ("home", ANALYST)])
def test_analysis_renders_in_light_and_dark_without_errors(ui_env, voila, browser, area, user):
    requests: list[str] = []
    server = voila(user)
    page = open_analysis(browser, server, area, requests)
    try:
        expect(page.locator(".dl-view-analysis .js-plotly-plot")).to_have_count(10)  # every chart drew
        expect(page.locator(".dl-kpi-volume .dl-kpi-value")).not_to_have_text("…")
        assert visible_errors(page) == []
        external = [u for u in requests if not u.startswith((server.base, "data:", "blob:"))]
        assert external == [], "plotly.js and the grid come from the server, never from a CDN"
        assert number(kpi(page, "volume")) > 0
        ids = grid_column(page, "id")
        assert ids and all(re.fullmatch(r"\d{19}", i) for i in ids)  # 19-digit ids intact in the browser
        assert page.locator(".dl-sidebar .dl-nav-item", has_text="Analysis").count() == 1
        set_theme(page, "light")
        full_screenshot(page, SCREENSHOTS / f"analysis-{area}-light.png")
        set_theme(page, "dark")
        full_screenshot(page, SCREENSHOTS / f"analysis-{area}-dark.png")
        set_theme(page, "light")  # the choice is saved per user: leave it as found
    finally:
        page.close()


def test_analyst_filters_clicks_a_chart_exports_and_corrects_a_label(ui_env, voila, browser, tmp_path):
    page = open_analysis(browser, voila(ANALYST), "home")
    try:
        # 1. filter: negative tweets only (every KPI and chart follows)
        total = number(kpi(page, "volume"))
        topics_chart = watch_redraw(page, "topics")
        page.locator(".dl-filter select").nth(2).select_option(label="negative")
        expect(page.locator(".dl-kpi-negative-share .dl-kpi-value")).to_have_text("100.0 %", timeout=15_000)
        redrawn(page, topics_chart)  # the bars clicked below are the filtered ones
        negatives = number(kpi(page, "volume"))
        assert 0 < negatives < total

        # 2. click the first topic bar (redrawn for the filter): a chip, and every number narrows to that topic
        click_bar(page, "topics", 0)
        chip = page.locator(".dl-chips .dl-chip-button")
        expect(chip).to_have_count(1, timeout=15_000)
        topic = re.search(r"Topic = (.+?)\s+✕", chip.inner_text()).group(1).strip()
        page.wait_for_function(f"() => [...document.querySelectorAll(\"{ROWS} [col-id='topic']\")]"
                               f".every((c) => c.textContent.trim() === '{topic}')", timeout=15_000)
        assert set(grid_column(page, "sentiment")) == {"negative"}
        shown = number(re.search(r"of ([\d\u202f ]+) tweets", page.inner_text(".dl-analysis-table")).group(1))
        expect(page.locator(".dl-kpi-volume .dl-kpi-value")).to_have_text(f"{shown:,}".replace(",", "\u202f"))
        assert shown < negatives  # the KPIs follow the click too
        negatives = shown

        # 3. export the table's rows as CSV
        with page.expect_download(timeout=60_000) as download:
            page.click(".dl-analysis-table button:has-text('Export CSV')")
        saved = tmp_path / "export.csv"
        download.value.save_as(saved)
        exported = pd.read_csv(io.BytesIO(saved.read_bytes()), dtype=str, keep_default_na=False)
        assert download.value.suggested_filename.endswith(".csv") and len(exported) == shown
        assert set(exported["main_topic"]) == {topic} and set(exported["sentiment"]) == {"negative"}
        assert exported["id"].str.fullmatch(r"\d{19}").all()
        full_screenshot(page, SCREENSHOTS / "analysis-drill-light.png")

        # 4. correct the first row's sentiment from its side panel: it leaves the "negative" selection
        first = page.locator(ROWS).first
        tweet = first.locator("[col-id='id']").inner_text().strip()
        first.locator("[col-id='text']").click()
        expect(page.locator(".dl-analysis-corrections input").first).to_have_value(tweet, timeout=10_000)
        panel = page.locator(".dl-tweet-panel")
        expect(panel).to_be_visible(timeout=10_000)
        expect(panel).to_contain_text("Replies from the operator")
        form = panel.locator("select")
        form.nth(0).select_option(label="Sentiment")
        form.nth(1).select_option(label="positive")
        page.click("button:has-text('Save correction')")
        expect(page.locator(".dl-alert-success")).to_contain_text("negative → positive", timeout=15_000)
        expected = f"{negatives - 1:,}".replace(",", "\u202f")
        expect(page.locator(".dl-kpi-volume .dl-kpi-value")).to_have_text(expected, timeout=15_000)
        expect(page.locator(".dl-analysis-corrections")).to_contain_text(tweet)
        page.wait_for_function(no_row_with_id(tweet), timeout=15_000)
        full_screenshot(page, SCREENSHOTS / "analysis-corrected-light.png")

        # stored with who and when; shown as corrected once it is in the table again
        analyst = ui_env.services.auth.login(ANALYST, "123456")
        file_id = ui_env.tasks["octobre.csv"].data.file_id
        history = ui_env.services.corrections.history(analyst, file_id)
        assert [(h["tweet_id"], h["new_value"], h["by"]) for h in history] == [(tweet, "positive", ANALYST)]
        page.locator(".dl-filter select").nth(2).select_option(label="positive")
        page.click(".dl-tweet-panel button:has-text('Close')")
        expect(panel).to_be_hidden()
        page.click(".dl-chips button:has-text('Clear all')")
        expect(page.locator(".dl-chips")).to_be_hidden(timeout=15_000)
        header = page.locator(".dl-analysis-grid .ag-header-cell[col-id='corrected']")
        header.click()
        expect(header).to_have_attribute("aria-sort", "ascending")  # the grid took the first click
        header.click()  # descending: corrected rows first, across every filtered row (sorted by the kernel)
        expect(page.locator(ROWS).first.locator("[col-id='id']")).to_have_text(tweet, timeout=15_000)
        expect(page.locator(ROWS).first.locator("[col-id='corrected']")).to_have_text("✎")
    finally:
        page.close()


def test_cross_filters_and_period_comparison_in_the_browser(ui_env, voila, browser):
    page = open_analysis(browser, voila(ANALYST), "home")
    try:
        total = number(kpi(page, "volume"))
        # two clicks of different charts combine; their chips show; removing one widens again
        topics_chart = watch_redraw(page, "topics")
        click_bar(page, "priority", 2)  # priority 2
        expect(page.locator(".dl-chips .dl-chip-button")).to_have_count(1, timeout=15_000)
        redrawn(page, topics_chart)
        high = number(kpi(page, "volume"))
        assert 0 < high < total
        click_bar(page, "topics", 0)
        expect(page.locator(".dl-chips .dl-chip-button")).to_have_count(2, timeout=15_000)
        page.wait_for_function("(n) => Number(document.querySelector('.dl-kpi-volume .dl-kpi-value')"
                               ".textContent.replace(/\\D/g, '')) < n", arg=high, timeout=15_000)
        page.wait_for_function(f"() => [...document.querySelectorAll(\"{ROWS} [col-id='priority']\")]"
                               ".every((c) => c.textContent.trim() === '2 · high')", timeout=15_000)
        full_screenshot(page, SCREENSHOTS / "analysis-crossfilter-light.png")
        page.locator(".dl-chips .dl-chip-button", has_text="Priority").click()
        expect(page.locator(".dl-chips .dl-chip-button")).to_have_count(1, timeout=15_000)
        page.click(".dl-chips button:has-text('Clear all')")
        expect(page.locator(".dl-kpi-volume .dl-kpi-value")).to_have_text(f"{total:,}".replace(",", "\u202f"),
                                                                          timeout=15_000)
        # a period preset: every card compares with the previous period of the same length
        page.locator(".dl-filter select").first.select_option(label="Last 7 days of data")
        expect(page.locator(".dl-kpi-volume .dl-kpi-change")).to_contain_text("vs the previous 7 days",
                                                                              timeout=15_000)
        expect(page.locator(".dl-kpi-change")).to_have_count(6)
        title = page.locator(".dl-kpi-negative-share .dl-kpi-inner").get_attribute("title")
        assert "out of the tweets that have a sentiment" in title  # the glossary tooltip
        set_theme(page, "dark")
        full_screenshot(page, SCREENSHOTS / "analysis-period-dark.png")
        set_theme(page, "light")
    finally:
        page.close()


def test_a_shared_link_opens_the_same_view_for_another_user(ui_env, voila, browser):
    """The admin shares a view; the analyst opens the link on their own server and sees the same numbers."""
    admin_server, analyst_server = voila(ADMIN), voila(ANALYST)
    page = open_analysis(browser, admin_server, "admin")
    other = None
    try:
        negative_tweets_of_the_first_topic(page)
        volume = kpi(page, "volume")
        page.click("button:has-text('Share this view')")
        link = page.locator(".dl-share-link input").input_value()
        assert "#" in link and "sent=negative" in link
        # Under JupyterHub the link goes through /hub/user-redirect/ to the reader's own server; here each
        # user has their own Voilà server, so the reader's server takes the place of the hub's redirect.
        path_and_state = link.split("/voila/", 1)[1]
        other = new_page(browser)
        started = __import__("time").perf_counter()
        other.goto(f"{analyst_server.base}/voila/{path_and_state}")
        wait_for_view(other, "analysis")
        expect(other.locator(".dl-chips .dl-chip-button")).to_have_count(1, timeout=60_000)
        expect(other.locator(".dl-kpi-volume .dl-kpi-value")).to_have_text(volume, timeout=60_000)
        print(f"shared view opened in {__import__('time').perf_counter() - started:.1f} s")
        assert other.locator(".dl-filter select").nth(2).input_value() == "negative"
        # the table is painted after the KPIs: wait for its rows of the shared view
        other.wait_for_function(ALL_NEGATIVE, arg=ROWS, timeout=15_000)
        full_screenshot(other, SCREENSHOTS / "analysis-shared-light.png")
        # a reload keeps the view too
        other.reload()
        wait_for_view(other, "analysis")
        expect(other.locator(".dl-kpi-volume .dl-kpi-value")).to_have_text(volume, timeout=60_000)
    finally:
        page.close()
        if other is not None:
            other.close()


def test_a_dead_kernel_reloads_into_the_same_analysis_with_its_filters(ui_env, voila, browser):
    server = voila(ANALYST)
    page = open_analysis(browser, server, "home")
    try:
        negative_tweets_of_the_first_topic(page)
        volume, chip = kpi(page, "volume"), page.locator(".dl-chips .dl-chip-button").inner_text()
        newest_kernel(server).kill()
        banner = page.locator("#dl-connection-lost")
        expect(banner).to_be_visible(timeout=60_000)
        banner.locator("button").click()
        wait_for_view(page, "analysis")  # a new kernel, the same address: the same view and filters
        expect(page.locator(".dl-chips .dl-chip-button")).to_have_text(chip, timeout=60_000)
        expect(page.locator(".dl-kpi-volume .dl-kpi-value")).to_have_text(volume, timeout=60_000)
        assert page.locator(".dl-filter select").nth(2).input_value() == "negative"
        expect(page.locator("#dl-connection-lost")).to_have_count(0)
    finally:
        page.close()
