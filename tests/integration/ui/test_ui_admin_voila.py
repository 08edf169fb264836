"""The admin pages (users, logs, settings) in standalone Voilà and headless Chromium, plus nbval on their notebooks.

End to end: an admin creates a user and a role, approves a registration, changes the AI settings and tests a
connection against the test suite's fake LLM server, then reads the activity log of those actions. Screenshots
of every view in light and dark land in ``tests/e2e/screenshots/admin-*.png`` (git-ignored) for review.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from playwright.sync_api import expect

from dallosh.config import Config
from dallosh.services import SYSTEM, Services
from tests.integration.ui.conftest import ui_config
from tests.integration.ui.harness import (
    KERNEL_REPLY_MS,
    NOTEBOOKS,
    ROOT,
    SCREENSHOTS,
    VoilaServer,
    dallosh_env,
    full_screenshot,
    new_page,
    set_theme,
    visible_errors,
    wait_for_view,
    wait_until_filled,
)
from tests.mocking import FAKE_MODEL, FakeLLMServer

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ADMIN = "admin@free.com"
ADMIN_PAGES = ("users", "logs", "settings")


@dataclass
class AdminEnv:
    config: Config
    services: Services
    server: VoilaServer
    llm: FakeLLMServer


@pytest.fixture(scope="module")
def admin_env(mongo_uri, tmp_path_factory) -> Iterator[AdminEnv]:
    """A bootstrapped app (no datasets, no worker: these pages do not need them) and one admin Voilà server."""
    from dallosh.bootstrap import bootstrap

    base = tmp_path_factory.mktemp("admin-ui")
    config = ui_config(mongo_uri, base / "storage")
    services = Services.from_config(config)
    bootstrap(services)
    server = VoilaServer(config, ADMIN, base)
    with FakeLLMServer() as llm:
        try:
            server.start()
            yield AdminEnv(config, services, server, llm)
        finally:
            server.stop()
            services.db.drop_database()
            services.db.close()
            shutil.rmtree(base / "storage", ignore_errors=True)


def shoot_both(page, stem: str) -> None:
    set_theme(page, "light")
    full_screenshot(page, SCREENSHOTS / f"{stem}-light.png")
    set_theme(page, "dark")
    full_screenshot(page, SCREENSHOTS / f"{stem}-dark.png")
    set_theme(page, "light")  # the choice is saved per user: leave it as found


def field(scope: str, label: str) -> str:
    """The input of a form field, by its label (``Form`` rows)."""
    return f"{scope} .dl-field:has(.dl-field-label label:text-is('{label}')) .dl-field-input"


@pytest.mark.parametrize("view", ADMIN_PAGES)
def test_admin_page_renders_without_errors_or_internet(admin_env, browser, view):
    requests: list[str] = []
    page = new_page(browser, requests)
    try:
        page.goto(admin_env.server.url(f"admin/{view}"))
        wait_until_filled(page, view)
        assert visible_errors(page) == []
        external = [u for u in requests if not u.startswith((admin_env.server.base, "data:", "blob:"))]
        assert external == [], "the page must not load anything from outside the server"
        labels = [b.inner_text() for b in page.query_selector_all(".dl-sidebar .dl-nav-item")]
        assert [x for x in labels if x in ("Users", "Logs", "Settings")] == ["Users", "Logs", "Settings"]
        shoot_both(page, f"admin-{view}")
    finally:
        page.close()


def test_admin_manages_users_roles_ai_settings_and_reads_the_log(admin_env, browser):
    services, llm = admin_env.services, admin_env.llm
    admin = services.auth.login(ADMIN, "123456")
    services.settings.update_general(admin, requireApproval=True)
    services.auth.register(None, "nouveau@free.com", "r3gister-me", name="Nouveau")  # the hub's register page
    page = new_page(browser)
    users = ".dl-view-users"
    try:
        page.goto(admin_env.server.url("admin/users"))
        wait_for_view(page, "users")
        expect(page.locator(f"{users} .dl-notice")).to_contain_text("1 registration is waiting")

        # a user, with a field error first (shown next to the field)
        page.click(f"{users} button:has-text('New user')")
        page.fill(f"{field(users, 'Email')} input", "awa@free.com")
        page.fill(f"{field(users, 'Password')} input", "short")
        page.select_option(f"{field(users, 'Role')} select", label="analyst")
        page.click(f"{users} button:has-text('Create user')")
        expect(page.locator(f"{field(users, 'Password')} .dl-field-error")).to_contain_text("10 characters")
        full_screenshot(page, SCREENSHOTS / "admin-users-editor-light.png")
        page.fill(f"{field(users, 'Password')} input", "s3cret-pass")
        page.click(f"{users} button:has-text('Create user')")
        expect(page.locator(f"{users} .dl-alert-success")).to_contain_text("awa@free.com was created")
        assert services.users.find_by_email("awa@free.com").data.status == "active"

        # a role with permission checkboxes
        page.click(f"{users} .dl-tabs button:has-text('Roles')")
        page.click(f"{users} button:has-text('New role')")
        page.fill(f"{field(users, 'Name')} input", "supervisor")
        page.fill(f"{field(users, 'Description')} input", "Reads users and tasks")
        for permission in ("read_users", "read_tasks"):
            page.check(f"{users} .dl-perm:has-text('{permission}') input[type=checkbox]")
        # No wait before saving: the checkboxes' changes go to the kernel before the click, on the same socket.
        shoot_both(page, "admin-users-roles-editor")
        page.click(f"{users} button:has-text('Create role')")
        expect(page.locator(f"{users} .dl-alert-success")).to_contain_text("supervisor was created")
        assert services.roles.by_name("supervisor").data.permissions == ["read_users", "read_tasks"]
        shoot_both(page, "admin-users-roles")

        # the last admin cannot be removed: the service's message is shown
        page.click(f"{users} .dl-tabs button:has-text('Users')")
        row = page.locator(f"{users} .dl-user-row", has_text="admin@free.com")
        row.locator("button:has-text('Delete')").click()
        page.click(f"{users} .dl-danger-panel button:has-text('Delete for good')")
        expect(page.locator(f"{users} .dl-alert-error")).to_contain_text("last active administrator")

        # the pending registration
        page.click(f"{users} .dl-notice button:has-text('Show them')")
        row = page.locator(f"{users} .dl-user-row", has_text="nouveau@free.com")
        row.locator("button:has-text('Approve')").click()
        expect(page.locator(f"{users} .dl-alert-success")).to_contain_text("nouveau@free.com was approved")
        assert services.auth.login("nouveau@free.com", "r3gister-me").email == "nouveau@free.com"

        # AI settings, in the same page (in-kernel navigation)
        settings = ".dl-view-settings"
        page.click(".dl-sidebar .dl-nav-item:has-text('Settings')")
        # The view may have been built in the background (App.prefetch) and only swapped in: wait until it shows
        # what its refresh read, then until the tab's panel is shown, each a kernel reply.
        wait_until_filled(page, "settings")
        page.click(f"{settings} .dl-tabs button:has-text('AI configs')")
        expect(page.locator(f"{settings} .dl-models-local")).to_be_visible(timeout=KERNEL_REPLY_MS)
        page.click(f"{settings} button:has-text('Add local model')")
        page.fill(f"{field(settings, 'Label')} input", "Fake Ollama")
        page.fill(f"{field(settings, 'Model')} input", FAKE_MODEL)
        page.fill(f"{field(settings, 'Base URL')} input", llm.ollama_url)
        page.click(f"{settings} .dl-inline-panel button:has-text('Add model')")
        expect(page.locator(f"{settings} .dl-alert-success")).to_contain_text("Fake Ollama was added")
        page.click(f"{settings} .dl-models-local button:has-text('Test connection')")
        expect(page.locator(f"{settings} .dl-check-ok")).to_contain_text("Connected", timeout=30_000)
        assert llm.chat_requests, "the kernel called the fake LLM server"

        page.click(f"{settings} button:has-text('Add external model')")
        page.fill(f"{field(settings, 'Model')} input", FAKE_MODEL)
        page.fill(f"{field(settings, 'Base URL')} input", llm.openai_url)
        page.fill(f"{field(settings, 'API key')} input", "sk-e2e-secret-key-0001")
        page.click(f"{settings} .dl-inline-panel button:has-text('Add model')")
        expect(page.locator(f"{settings} .dl-models-external .dl-model-row")).to_contain_text("••••0001")
        llm.set_behaviour("server_error", message="model is overloaded")
        page.click(f"{settings} .dl-models-external button:has-text('Test connection')")
        expect(page.locator(f"{settings} .dl-check-err")).to_contain_text("model is overloaded", timeout=30_000)
        assert "sk-e2e-secret-key-0001" not in page.content()
        llm.set_behaviour("ok")
        page.select_option(f"{field(settings, 'Mode')} select", label="Local: local models, then built-in")
        page.click(f"{settings} button:has-text('Save preferences')")
        expect(page.locator(f"{settings} .dl-alert-success")).to_contain_text("preferences saved")
        assert services.settings.ai_config(SYSTEM)["preferences"]["mode"] == "local"
        shoot_both(page, "admin-settings-ai")

        # the activity log of all that
        logs = ".dl-view-logs"
        page.click(".dl-sidebar .dl-nav-item:has-text('Logs')")
        wait_for_view(page, "logs")
        table = page.locator(f"{logs} .dl-log-table")
        for action in ("users.create", "roles.create", "users.approve", "users.delete", "settings.add_model",
                       "settings.check_model", "settings.set_preferences"):
            expect(table).to_contain_text(action)
        expect(table).to_contain_text("admin@free.com")
        expect(table).to_contain_text("user nouveau@free.com")  # uids shown as emails
        expect(table).to_contain_text("model is overloaded")  # the failed test, with its exact error
        page.fill(f"{logs} input[placeholder='Any action']", "settings")
        page.press(f"{logs} input[placeholder='Any action']", "Enter")
        expect(table).not_to_contain_text("users.create")
        expect(table).to_contain_text("settings.check_model")
        shoot_both(page, "admin-logs-filtered")
        assert visible_errors(page) == []
    finally:
        page.close()


def test_a_reader_sees_users_and_roles_without_actions(admin_env, browser, tmp_path):
    services = admin_env.services
    role = services.roles.create(SYSTEM, "auditor", ["read_users"])
    services.users.create(SYSTEM, "auditor@free.com", "aud1tor-pass", role.uid)
    server = VoilaServer(admin_env.config, "auditor@free.com", tmp_path).start()
    page = new_page(browser)
    try:
        page.goto(server.url("admin/users"))
        wait_for_view(page, "users")
        expect(page.locator(".dl-view-users .dl-user-row", has_text="admin@free.com")).to_be_visible()
        assert [b.inner_text() for b in page.query_selector_all(".dl-sidebar .dl-nav-item")] == ["Users"]
        for label in ("New user", "Edit", "Delete", "Password", "Disable"):
            assert page.locator(f".dl-view-users button:visible:has-text('{label}')").count() == 0, label
        page.click(".dl-view-users .dl-tabs button:has-text('Roles')")
        expect(page.locator(".dl-view-users .dl-role-row", has_text="auditor")).to_be_visible()
        assert page.locator(".dl-view-users button:visible:has-text('New role')").count() == 0
        page.click(".dl-view-users .dl-tabs button:has-text('Users')")
        assert visible_errors(page) == []
        shoot_both(page, "admin-users-readonly")
    finally:
        page.close()
        server.stop()


def test_nbval_runs_every_admin_notebook(admin_env):
    """nbval executes each notebook in a fresh kernel as the admin against the test database."""
    notebooks = [str(NOTEBOOKS / "admin" / f"{name}.ipynb") for name in ADMIN_PAGES]
    env = dallosh_env(admin_env.config, ADMIN)
    result = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-current-env", "-q",
                             "-p", "no:cacheprovider", *notebooks], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "3 passed" in result.stdout
