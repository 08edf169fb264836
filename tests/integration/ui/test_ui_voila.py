"""Every notebook rendered by standalone Voilà in headless Chromium: no errors, nothing from the internet,
in-kernel navigation, upload → preview → add, download, and live progress in two tabs.

Screenshots of every view in light and dark land in ``tests/e2e/screenshots/`` (git-ignored) for review.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from playwright.sync_api import expect

from tests.integration.ui.harness import (
    KERNEL_REPLY_MS,
    PAGES,
    SCREENSHOTS,
    full_screenshot,
    new_page,
    newest_kernel,
    set_theme,
    visible_errors,
    wait_for_view,
    wait_until_filled,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN, ANALYST = "admin@free.com", "analyst@free.com"


def user_for(page_name: str) -> str:
    return ADMIN if page_name.startswith("admin/") else ANALYST


@contextmanager
def opened(browser, server, notebook: str, view: str, requests: list[str] | None = None) -> Iterator:
    """A new browser page showing ``notebook`` once its App shows ``view``; closed afterwards."""
    page = new_page(browser, requests)
    try:
        page.goto(server.url(notebook))
        wait_for_view(page, view)
        yield page
    finally:
        page.close()


@pytest.mark.parametrize("page_name", list(PAGES))
def test_notebook_renders_without_errors_or_internet(ui_env, voila, browser, page_name):
    server = voila(user_for(page_name))
    requests: list[str] = []
    with opened(browser, server, page_name, PAGES[page_name], requests) as page:
        wait_until_filled(page, PAGES[page_name])  # late widgets too (health probes)
        assert visible_errors(page) == []
        external = [u for u in requests if not u.startswith((server.base, "data:", "blob:"))]
        assert external == [], "the page must not load anything from outside the server"
        assert page.query_selector(".dl-navbar") and page.query_selector(".dl-sidebar")
        stem = page_name.replace("/", "-")
        set_theme(page, "light")
        full_screenshot(page, SCREENSHOTS / f"{stem}-light.png")
        set_theme(page, "dark")
        full_screenshot(page, SCREENSHOTS / f"{stem}-dark.png")
        set_theme(page, "light")  # the choice is saved per user: leave it as found


def test_sidebar_switches_views_without_reloading(ui_env, voila, browser):
    with opened(browser, voila(ANALYST), "home/overview", "overview") as page:
        page.evaluate("window.__still_here = true")
        for label, view in (("Datasets", "datasets"), ("Tasks", "tasks"), ("Overview", "overview")):
            page.click(f".dl-sidebar .dl-nav-item:has-text('{label}')")
            page.wait_for_selector(f".dl-view-{view}", timeout=5000)
            page.wait_for_url(f"**/home/{view}.ipynb", timeout=5000)  # the address follows the view
        assert page.evaluate("window.__still_here") is True  # same document: no page load happened
        labels = [b.inner_text() for b in page.query_selector_all(".dl-sidebar .dl-nav-item")]
        assert labels == ["Overview", "Datasets", "Tasks", "Analysis", "Alerts", "Reports"]


def test_address_bar_follows_views_so_reload_and_back_work(ui_env, voila, browser):
    with opened(browser, voila(ANALYST), "home/overview", "overview") as page:
        page.click(".dl-sidebar .dl-nav-item:has-text('Datasets')")
        page.wait_for_url("**/home/datasets.ipynb", timeout=5000)
        page.click(".dl-profile-link")
        page.wait_for_url("**/voila/render/profile.ipynb", timeout=5000)  # the profile notebook is one level up
        for move, view in ((page.go_back, "datasets"), (page.go_back, "overview"), (page.go_forward, "datasets")):
            move()
            page.wait_for_url(f"**/home/{view}.ipynb", timeout=5000)
            page.wait_for_selector(f".dl-view-{view}", state="visible", timeout=5000)
        page.reload()  # a reload opens the view the address names
        wait_for_view(page, "datasets")
        assert page.url.endswith("home/datasets.ipynb")


def test_a_dead_kernel_shows_a_banner_and_reload_brings_the_view_back(ui_env, voila, browser):
    server = voila(ANALYST)
    with opened(browser, server, "home/overview", "overview") as page:
        page.click(".dl-sidebar .dl-nav-item:has-text('Datasets')")
        page.wait_for_url("**/home/datasets.ipynb", timeout=KERNEL_REPLY_MS)
        # positive control: a live kernel answers the page's pings (3 answered: past the banner's 2 missed)
        page.wait_for_function("() => Number(document.body.dataset.dlPongs || 0) >= 3", timeout=60_000)
        assert page.locator("#dl-connection-lost").count() == 0
        newest_kernel(server).kill()
        banner = page.locator("#dl-connection-lost")
        expect(banner).to_be_visible(timeout=60_000)  # two unanswered pings, 10 s apart
        expect(banner).to_contain_text("Reload the page")
        assert "kernel" not in banner.inner_text().lower()  # the analyst's words
        full_screenshot(page, SCREENSHOTS / "connection-lost-light.png")
        banner.locator("button").click()
        wait_for_view(page, "datasets")  # the same view as before, in a new kernel
        assert page.url.endswith("home/datasets.ipynb")
        expect(page.locator("#dl-connection-lost")).to_have_count(0)


def test_failed_task_explains_what_to_do(ui_env, voila, browser):
    with opened(browser, voila(ANALYST), "home/tasks", "tasks") as page:
        page.click(".dl-task-item button:has-text('novembre.csv')")
        page.wait_for_selector(".dl-task-detail:has-text('missing from storage')", timeout=10_000)
        expect(page.locator(".dl-action:has-text('Retry')")).to_be_enabled()  # widget updates arrive one by one
        expect(page.locator(".dl-action:has-text('Pause')")).to_be_disabled()
        full_screenshot(page, SCREENSHOTS / "home-tasks-error-light.png")
        page.click(".dl-task-item button:has-text('septembre.csv')")
        page.wait_for_selector(".dl-log:has-text('Done:')", timeout=10_000)
        full_screenshot(page, SCREENSHOTS / "home-tasks-done-light.png")


def test_upload_preview_add_and_download(ui_env, voila, browser, tmp_path):
    import subprocess
    import sys

    csv = tmp_path / "janvier.csv"
    subprocess.run([sys.executable, "-m", "tools.synthetic", "400", str(csv), "--seed", "11"], check=True,
                   capture_output=True)
    with opened(browser, voila(ANALYST), "home/datasets", "datasets") as page:
        page.set_input_files(".dl-uploader input[type=file]", str(csv))
        page.wait_for_selector(".dl-view-datasets .ag-root", timeout=30_000)
        page.wait_for_selector(".dl-view-datasets :text('Detected columns')")
        full_screenshot(page, SCREENSHOTS / "home-datasets-preview-light.png")
        set_theme(page, "dark")
        full_screenshot(page, SCREENSHOTS / "home-datasets-preview-dark.png")
        set_theme(page, "light")
        page.click("button:has-text('Add dataset')")
        page.wait_for_selector(".dl-alert-success:has-text('janvier.csv was added')", timeout=30_000)
        assert any(f.data.filename == "janvier.csv" for f in
                   (i["file"] for i in ui_env.services.files.list(ui_env.services.auth.login(ANALYST, "123456")
                                                                  ).items))
        row = page.locator(".dl-tr", has_text="janvier.csv")
        with page.expect_download(timeout=30_000) as download:
            row.locator("button:has-text('Original')").click()
        saved = tmp_path / "downloaded.csv"
        download.value.save_as(saved)
        assert download.value.suggested_filename == "janvier.csv"
        assert saved.read_bytes() == csv.read_bytes()


def test_two_tabs_follow_the_same_task_live(ui_env, voila, browser):
    server = voila(ANALYST)
    tabs = [new_page(browser), new_page(browser)]
    try:
        for tab in tabs:
            tab.goto(server.url("home/tasks"))
            wait_for_view(tab, "tasks")
            tab.click(".dl-task-item button:has-text('decembre.csv')")
            tab.wait_for_selector(".dl-task-detail:has-text('decembre.csv')")
        # No wait for the views' live subscribers: once its queue is bound each re-reads the tasks and the open
        # task's history (TasksView.start_live), so a Start clicked before that is followed all the same.
        tabs[0].click(".dl-action:has-text('Start')")
        for tab in tabs:  # both kernels receive the events and re-read the task
            tab.wait_for_selector(".dl-task-detail .dl-log:has-text('Done:')", timeout=60_000)
            tab.wait_for_selector(".dl-task-detail .dl-badge:has-text('done')", timeout=10_000)
            expect(tab.locator(".dl-action:has-text('Start again')")).to_be_enabled()
            expect(tab.locator(".dl-action:has-text('Pause')")).to_be_disabled()
        full_screenshot(tabs[1], SCREENSHOTS / "home-tasks-live-light.png")
    finally:
        for tab in tabs:
            tab.close()


def synthetic_csv(path, rows: int, seed: int):
    import subprocess
    import sys

    subprocess.run([sys.executable, "-m", "tools.synthetic", str(rows), str(path), "--seed", str(seed)], check=True,
                   capture_output=True)
    return path


def test_finished_tasks_are_notified_on_any_view_and_lead_onwards(ui_env, voila, browser, tmp_path):
    from dallosh.storage import DATASETS

    services = ui_env.services
    analyst = services.auth.login(ANALYST, "123456")
    _, ready = services.files.add(analyst, "fevrier.csv", synthetic_csv(tmp_path / "fevrier.csv", 150, 21))
    _, broken = services.files.add(analyst, "mars.csv", synthetic_csv(tmp_path / "mars.csv", 120, 22))
    services.storage.path(DATASETS, broken.data.file_id).unlink()  # a real failure: the original is gone
    with opened(browser, voila(ANALYST), "home/overview", "overview") as page:
        toasts = page.locator(".dl-toast")
        page.wait_for_selector(".dl-toasts.dl-live", state="attached")  # the page listens: events are not missed
        expect(toasts).to_have_count(0)
        set_theme(page, "dark")  # the toast in the dark theme (it would leave before a switch made afterwards)
        services.tasks.request(analyst, ready.uid, "start")
        done = toasts.filter(has_text="fevrier.csv")
        expect(done).to_be_visible(timeout=KERNEL_REPLY_MS)
        expect(done).to_contain_text("Analysis ready")
        expect(done).to_contain_text("tweets labelled")
        page.screenshot(path=str(SCREENSHOTS / "home-overview-toast-dark.png"))
        done.locator("button:has-text('Open the analysis')").click()
        expect(page.locator(".dl-view-analysis")).to_be_visible()
        expect(page.locator(".dl-view-analysis .dl-dataset-select option:checked")).to_contain_text("fevrier.csv")
        expect(done).to_have_count(0)  # acting on it closed it

        set_theme(page, "light")
        page.click(".dl-sidebar button:has-text('Datasets')")
        expect(page.locator(".dl-view-datasets")).to_be_visible()
        services.tasks.request(analyst, broken.uid, "start")
        failed = toasts.filter(has_text="mars.csv")
        expect(failed).to_be_visible(timeout=KERNEL_REPLY_MS)
        expect(failed).to_contain_text("could not be analysed")
        page.screenshot(path=str(SCREENSHOTS / "home-datasets-toast-light.png"))
        failed.locator("button:has-text('See what went wrong')").click()
        detail = page.locator(".dl-view-tasks .dl-task-detail", has_text="mars.csv")  # that task, opened
        expect(detail).to_be_visible()
        expect(detail).to_contain_text("missing from storage")
        assert all("missing from storage" in error for error in visible_errors(page))


def test_the_default_password_warning_shows_on_every_view(ui_env, voila, browser):
    with opened(browser, voila(ANALYST), "home/datasets", "datasets") as page:
        banner = page.locator(".dl-password-banner")
        expect(banner).to_be_visible()
        expect(banner).to_contain_text("default password")
        page.click(".dl-sidebar button:has-text('Tasks')")
        expect(page.locator(".dl-view-tasks")).to_be_visible()
        expect(banner).to_be_visible()
        banner.locator("button:has-text('Change it in your Profile')").click()
        expect(page.locator(".dl-view-profile")).to_be_visible()
        expect(page.locator(".dl-view-profile .dl-alert-warning")).to_contain_text("default password")
        expect(banner).to_be_hidden()  # the Profile says it beside the form


def test_lists_and_task_cards_fit_at_1280_px(ui_env, voila, browser):
    from dallosh.services import SYSTEM
    from tests.factories import make_csv

    services = ui_env.services
    analyst = services.auth.login(ANALYST, "123456")
    _, big = services.files.add(analyst, "tweets-free-mobile-service-client-export-complet-2025-10.csv", make_csv(9))
    # A 200 MB export holds about 500 000 tweets: the count the Rows cell must show whole. Written as the upload's
    # inspection would have (uploading that much would take minutes here).
    services.db.update("files", big.data.file_id, {"rows": 523456}, by=SYSTEM.uid)
    _, task = services.files.add(analyst, "erreurs.csv", make_csv(7))
    for status in ("in_queue", "reading_dataset"):  # as the worker moves it (no job: the test worker stays out)
        services.tasks.transition(SYSTEM, task.uid, status)
    error = ("The dataset could not be read: Expected 22 fields in line 1234, saw 23 in /srv/dallosh/storage/tmp/"
             + "export" * 30 + ".csv. Upload a valid UTF-8 CSV export.")
    services.tasks.transition(SYSTEM, task.uid, "on_error", changes={"error": error})
    page = new_page(browser)
    try:
        page.set_viewport_size({"width": 1280, "height": 900})
        page.goto(voila(ANALYST).url("home/datasets"))
        wait_until_filled(page, "datasets")
        page.wait_for_selector(".dl-view-datasets .dl-tr:has-text('523')")
        cells = page.evaluate("""() => [...document.querySelectorAll('.dl-view-datasets .dl-tr:not(.dl-th) .dl-cells')]
            .map((row) => [...row.querySelectorAll('.dl-cell')].map((c) => ({text: c.textContent, left: c.offsetLeft,
                                                                            cut: c.scrollWidth > c.clientWidth})))""")
        rows = {row[0]["text"]: row for row in cells if row}
        big_row = next(row for name, row in rows.items() if name.startswith("tweets-free"))
        assert big_row[2]["text"] == "523\u202f456" and not big_row[2]["cut"]  # the whole count
        assert big_row[0]["cut"]  # positive control: the long file name is cut (its tooltip has it whole)...
        assert len({row[1]["left"] for row in rows.values()}) == 1  # ...without pushing the other columns

        page.click(".dl-sidebar button:has-text('Tasks')")
        page.click(".dl-task-item button:has-text('erreurs.csv')")
        detail = page.locator(".dl-view-tasks .dl-task-detail", has_text="erreurs.csv")
        expect(detail).to_contain_text("Upload a valid UTF-8 CSV export")
        overflow = detail.evaluate("""(card) => {
            const box = card.getBoundingClientRect();
            return [...card.querySelectorAll('.dl-alert, .dl-log-line')].filter((el) => el.offsetParent)
                .map((el) => el.getBoundingClientRect().right - box.right).filter((over) => over > 1);
        }""")
        assert overflow == []  # the long error wraps inside the card (alert and activity log)
        assert detail.locator(".dl-alert").inner_text().count("export") >= 30  # whole, not cut
    finally:
        page.close()
