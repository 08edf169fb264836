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

from tests.conftest import wait_status
from tests.integration.ui.harness import (
    SCREENSHOTS,
    VoilaServer,
    full_screenshot,
    new_page,
    newest_kernel,
    painted,
    set_theme,
    visible_errors,
    wait_for_view,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN, ANALYST = "admin@free.com", "analyst@free.com"
#: What a users' server logs once a pooled kernel has run its page (hub/preheat.py).
PREHEATED = "Preheated kernel "
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



def panel_in_window(page) -> dict:
    """The tweet panel's box and the window's size, with what the panel covers of "Share this view"."""
    return page.evaluate("""() => {
        const panel = document.querySelector('.dl-tweet-panel').getBoundingClientRect();
        const share = document.querySelector('.dl-share-button').getBoundingClientRect();
        const overlap = !(share.right <= panel.left || share.left >= panel.right || share.bottom <= panel.top
                          || share.top >= panel.bottom);
        return {top: panel.top, bottom: panel.bottom, left: panel.left, right: panel.right, width: innerWidth,
                height: innerHeight, covers_share: overlap};
    }""")


def open_panel_on(page, row) -> None:
    row.scroll_into_view_if_needed()
    tweet = row.locator("[col-id='id']").inner_text().strip()
    row.locator("[col-id='text']").click()
    expect(page.locator(".dl-analysis-corrections input").first).to_have_value(tweet, timeout=10_000)
    expect(page.locator(".dl-tweet-panel")).to_be_visible(timeout=10_000)
    painted(page)


@pytest.mark.parametrize("width", [1280, 1920])
def test_the_tweet_panel_opens_in_the_window_wherever_the_page_is_scrolled(ui_env, voila, browser, width):
    page = open_analysis(browser, voila(ADMIN), "admin")
    page.set_viewport_size({"width": width, "height": 800})
    try:
        rows = page.locator(ROWS)
        assert rows.count() >= 20
        scroller = "document.querySelector('.lm-BoxPanel-child')"
        for theme in ("light", "dark"):
            set_theme(page, theme)
            # the last row of the table, far down the page
            last = rows.nth(rows.count() - 1)
            open_panel_on(page, last)
            assert page.evaluate(f"() => {scroller}.scrollTop") > 1500  # the page really is scrolled
            box = panel_in_window(page)
            assert 0 <= box["top"] < box["bottom"] <= box["height"], box
            assert 0 <= box["left"] < box["right"] <= box["width"], box
            row_box = last.bounding_box()  # the row clicked is still in sight, beside the panel
            assert row_box["y"] >= 0 and row_box["y"] + row_box["height"] <= box["height"] + 1, row_box
            assert last.locator("[col-id='text']").bounding_box()["x"] + 50 < box["left"]
            page.screenshot(path=str(SCREENSHOTS / f"analysis-panel-{width}-{theme}.png"))
            # control: the top of the page with the panel open; "Share this view" stays free
            page.evaluate(f"() => {{ {scroller}.scrollTop = 0; }}")
            painted(page)
            box = panel_in_window(page)
            assert 0 <= box["top"] < box["bottom"] <= box["height"], box
            assert not box["covers_share"], box
            page.click("button:has-text('Share this view')")  # not under the panel: the click lands
            expect(page.locator(".dl-share-link input")).to_be_visible()
            page.click(".dl-tweet-panel button:has-text('Close')")
            expect(page.locator(".dl-tweet-panel")).to_be_hidden()
            expect(page.locator(".dl-view-analysis.dl-panel-open")).to_have_count(0)
        set_theme(page, "light")
    finally:
        page.close()


def test_the_tab_title_follows_the_view(ui_env, voila, browser):
    page = open_analysis(browser, voila(ADMIN), "admin")
    try:
        expect(page).to_have_title(re.compile(r"^Analysis · "))
        page.click(".dl-sidebar .dl-nav-item:has-text('Datasets')")
        wait_for_view(page, "datasets")
        expect(page).to_have_title(re.compile(r"^Datasets · "))
        page.go_back()  # Back: the Analysis view again, and its title
        expect(page).to_have_title(re.compile(r"^Analysis · "))
    finally:
        page.close()


def hub_server(ui_env, user: str, preheat: int = 1):
    """``user``'s server as the hub runs it (hub/singleuser_config.py: lockdown, preheated kernels), once per
    module."""
    key = f"hub:{user}"
    if key not in ui_env.servers:
        ui_env.servers[key] = VoilaServer(ui_env.config, user, ui_env.log_dir, preheat=preheat,
                                          hub_server=True).start()
    return ui_env.servers[key]


def test_a_preheated_page_restores_a_link_shared_by_another_user(ui_env, voila, browser):
    """The analyst's server has a kernel that ran the Analysis page before anyone asked; a dataset is analysed
    after that, the admin shares a view of it, and the analyst's link opens on the preheated kernel with the
    analyst's own account, the fresh dataset list and the shared filters."""
    import time

    server = hub_server(ui_env, ANALYST)
    server.wait_for_log(PREHEATED)
    assert server.logs().count(PREHEATED) == 1
    # a dataset the preheated kernel has never listed: analysed after the preheat
    services, task = ui_env.services, ui_env.tasks["decembre.csv"]
    analyst = services.auth.login(ANALYST, "123456")
    if services.tasks.find(task.uid).data.status != "done":
        services.tasks.request(analyst, task.uid, "start")
        wait_status(services, task.uid, {"done"})
    file_id = task.data.file_id
    page = open_analysis(browser, voila(ADMIN), "admin")
    other = None
    try:
        page.select_option(".dl-dataset-select select", value=page.locator(
            ".dl-dataset-select option", has_text="decembre.csv").first.get_attribute("value"))
        page.wait_for_function("() => document.querySelector('.dl-analysis-status')?.textContent"
                               ".includes('decembre.csv')")
        negative_tweets_of_the_first_topic(page)
        volume = kpi(page, "volume")
        page.click("button:has-text('Share this view')")
        link = page.locator(".dl-share-link input").input_value()
        assert "/render/home/analysis.ipynb#" in link, link  # the page every user's server has
        assert file_id in link
        requests: list[str] = []
        other = new_page(browser, requests)
        started = time.perf_counter()
        other.goto(f"{server.base}/voila/{link.split('/voila/', 1)[1]}")
        expect(other.locator(".dl-chips .dl-chip-button")).to_have_count(1)
        expect(other.locator(".dl-kpi-volume .dl-kpi-value")).to_have_text(volume)
        print(f"shared view on a preheated kernel: {time.perf_counter() - started:.1f} s")
        expect(other.locator(".dl-app.dl-preheated")).to_have_count(0)
        assert "Using preheated kernel" in server.logs()  # it was the pool's kernel, not a new one
        expect(other.locator(".dl-navbar .dl-user")).to_contain_text(ANALYST)  # the reader, not the sharer
        assert other.locator(".dl-filter select").nth(2).input_value() == "negative"
        assert "decembre.csv" in other.locator(".dl-dataset-select select").inner_text()
        other.wait_for_function(ALL_NEGATIVE, arg=ROWS, timeout=15_000)
        assert visible_errors(other) == []
        # the page loads the widgets' extensions, not plotly's JupyterLab one (hub/pages.py); the charts draw
        # with plotly.js's basic bundle, sent once by the kernel
        assert any("/labextensions/ipyaggrid/" in u for u in requests)
        assert not any("/labextensions/jupyterlab-plotly/" in u for u in requests)
        expect(other.locator(".dl-chart-timeline .main-svg").first).to_be_visible()
        full_screenshot(other, SCREENSHOTS / "analysis-shared-preheated-light.png")
        server.wait_for_log(PREHEATED, count=2)  # the pool refilled itself
    finally:
        page.close()
        if other is not None:
            other.close()
