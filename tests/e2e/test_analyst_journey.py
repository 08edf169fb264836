"""A new analyst's first session, through the real hub, proxy, Voilà server, worker, Redis and RabbitMQ:
register, log in, upload a real-looking CSV, preview, add, start and watch it to done, pause and resume another
task, switch the theme, change the password."""

from __future__ import annotations

import re
import subprocess
import sys
import time
import uuid

from dallosh.services import SYSTEM
from tests.e2e.conftest import login, shot
from tests.mocking import FAKE_MODEL, FakeLLMServer

APP = ".dl-app"


def open_view(page, label: str, view: str) -> None:
    page.click(f".dl-sidebar .dl-nav-item:has-text('{label}')")
    page.wait_for_selector(f".dl-app .dl-view-{view}", timeout=30_000)


def upload(page, path) -> None:
    page.set_input_files(".dl-uploader input[type=file]", str(path))
    page.wait_for_selector(".dl-view-datasets .ag-root", timeout=60_000)
    page.wait_for_selector(".dl-view-datasets :text('Detected columns')")
    page.click("button:has-text('Add dataset')")
    page.wait_for_selector(f".dl-alert-success:has-text('{path.name} was added')", timeout=60_000)


def select_task(page, name: str) -> None:
    page.click(f".dl-task-item button:has-text('{name}')")
    page.wait_for_selector(f".dl-task-detail:has-text('{name}')", timeout=30_000)
    # No wait for the view's live subscriber: once its queue is bound it re-reads the tasks and the open task's
    # history (TasksView.start_live), so events of a Start clicked before that are shown all the same.


def test_new_analyst_first_session(hub, page, tmp_path):
    email = f"journey-{uuid.uuid4().hex[:6]}@example.com"
    admin = hub.services.auth.login("admin@free.com", "123456")
    hub.services.settings.update_general(admin, requireApproval=False)  # this team lets analysts sign up
    page.goto(hub.url + "/hub/register")
    page.fill("#email_input", email)
    page.fill("#password_input", "Journ3y-pass")
    page.fill("#confirm_input", "Journ3y-pass")
    page.click("#register_submit")
    login(page, hub, email, "Journ3y-pass")
    page.wait_for_selector(APP, timeout=120_000)

    # a slow model, so that a second task can be paused mid-way
    with FakeLLMServer() as llm:
        entry = hub.services.settings.add_model(admin, "local", {"model": FAKE_MODEL, "baseUrl": llm.ollama_url,
                                                                 "paginateRowsLimit": 20})
        hub.services.settings.set_preferences(admin, mode="local", default_local_model_id=entry["uid"],
                                              hybrid_threshold=1.0)
        try:
            first, second = tmp_path / "janvier.csv", tmp_path / "fevrier.csv"
            for path, rows, seed in ((first, 300, 21), (second, 400, 22)):
                subprocess.run([sys.executable, "-m", "tools.synthetic", str(rows), str(path), "--seed",
                                str(seed)], check=True, capture_output=True)
            open_view(page, "Datasets", "datasets")
            upload(page, first)
            shot(page, "journey-datasets")

            open_view(page, "Tasks", "tasks")
            select_task(page, "janvier.csv")
            page.click(".dl-action:has-text('Start')")
            page.wait_for_selector(".dl-task-detail .dl-badge:has-text('done')", timeout=120_000)
            page.wait_for_selector(".dl-task-detail .dl-log:has-text('Done:')", timeout=30_000)
            shot(page, "journey-task-done")

            # the reason for all of it: the KPIs, charts and tweets of the dataset just processed
            open_view(page, "Analysis", "analysis")
            page.wait_for_selector(".dl-chart-timeline .main-svg", timeout=60_000)  # plotly.js drew
            rows = ".dl-analysis-grid .ag-center-cols-container .ag-row"
            page.wait_for_selector(rows, timeout=60_000)
            volume = int(re.sub(r"\D", "", page.inner_text(".dl-kpi-volume .dl-kpi-value")))
            assert 0 < volume <= 300
            links = page.eval_on_selector_all(f"{rows} a.dl-tweet-link", "els => els.map(e => e.href)")
            assert links and all(re.fullmatch(r"https://x\.com/i/status/\d+", href) for href in links)
            shot(page, "journey-analysis")

            llm.set_behaviour("slow", seconds=0.4)
            open_view(page, "Datasets", "datasets")
            upload(page, second)
            open_view(page, "Tasks", "tasks")
            select_task(page, "fevrier.csv")
            page.click(".dl-action:has-text('Start')")
            page.wait_for_selector(".dl-task-detail .dl-log:has-text('page 2')", timeout=120_000)
            page.click(".dl-action:has-text('Pause')")
            page.wait_for_selector(".dl-task-detail .dl-badge:has-text('paused')", timeout=60_000)
            shot(page, "journey-task-paused")
            llm.set_behaviour("ok")
            page.click(".dl-action:has-text('Resume')")
            page.wait_for_selector(".dl-task-detail .dl-badge:has-text('done')", timeout=120_000)
            user = hub.services.users.find_by_email(email)
            task = next(t for t in hub.services.tasks.list(SYSTEM).items if t.data.filename == "fevrier.csv"
                        and t.createdBy == user.uid)
            assert task.data.status == "done" and task.data.stats["sending_to_llm"]["pages_resumed"] >= 1
        finally:
            hub.services.settings.delete_model(admin, "local", entry["uid"])

    page.click(".dl-theme-toggle")
    page.wait_for_selector(".dl-app.dl-dark", timeout=10_000)
    shot(page, "journey-dark")
    deadline = time.monotonic() + 10
    while hub.services.users.find_by_email(email).data.theme != "dark" and time.monotonic() < deadline:
        time.sleep(0.2)  # polling the database: saving the theme shows nothing on the page
    assert hub.services.users.find_by_email(email).data.theme == "dark"  # saved in the profile

    page.click("button:has-text('Profile')")
    page.wait_for_selector(".dl-app .dl-view-profile", timeout=30_000)
    profile = page.locator(".dl-view-profile")
    profile.get_by_label("Current", exact=True).fill("Journ3y-pass")
    profile.get_by_label("New", exact=True).fill("N3w-journey-pass")
    profile.get_by_label("Confirm new", exact=True).fill("N3w-journey-pass")
    page.click("button:has-text('Change password')")
    page.wait_for_selector(".dl-view-profile .dl-alert-success >> visible=true", timeout=30_000)
    shot(page, "journey-profile")
    page.goto(hub.url + "/hub/logout")
    login(page, hub, email, "N3w-journey-pass")
    page.wait_for_selector(APP, timeout=120_000)
    assert page.query_selector(".dl-app.dl-dark") is not None  # the theme follows the user
