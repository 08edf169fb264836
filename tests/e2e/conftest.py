"""A real JupyterHub (with its node proxy and per-user Voilà servers) on free ports, and Chromium via Playwright.

One hub per test module, with its own database, storage, queue and exchange; a real worker processes tasks.
Screenshots go to tests/e2e/screenshots/ (git-ignored) to be looked at.
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dallosh.bootstrap import bootstrap
from dallosh.config import PROJECT_ROOT, load_config
from dallosh.processes import stop_pid_file, stop_tree
from dallosh.services import Services
from dallosh.storage import Storage
from hub import sysusers
from hub.config import free_public_port

SCREENSHOTS = Path(__file__).resolve().parent / "screenshots"
CHROMIUM = "/usr/bin/chromium"

pytestmark = pytest.mark.e2e


class Hub:
    def __init__(self, env: dict[str, str], url: str, services: Services, storage_root: Path):
        self.env, self.url, self.services, self.storage_root = env, url, services, storage_root

    def log(self) -> str:
        path = self.storage_root / "logs" / "e2e-hub.log"
        return path.read_text(errors="replace") if path.exists() else ""


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)  # polling: a starting server has no other way to say it listens
    raise RuntimeError(f"{url} did not answer")


@pytest.fixture(scope="module")
def hub(mongo_uri) -> Iterator[Hub]:
    # Users' servers run as their own accounts when the tests run as root: they must reach the storage (a folder
    # of /tmp they may pass through, not pytest's private one).
    root = Path(tempfile.mkdtemp(prefix="dallosh-e2e-"))
    root.chmod(0o711)
    port = free_public_port()  # the hub derives its internal ports from the public one: all three are free
    suffix = uuid.uuid4().hex[:8]
    env = {**os.environ,
           "DALLOSH_MONGODB_URI": mongo_uri, "DALLOSH_MONGODB_DATABASE": f"e2e_{suffix}",
           "DALLOSH_STORAGE_ROOT": str(root / "storage"), "DALLOSH_HUB_PORT": str(port),
           "DALLOSH_QUEUE_NAME": f"e2e-{suffix}", "DALLOSH_EVENTS_EXCHANGE": f"e2e-tasks-{suffix}",
           "NO_PROXY": "127.0.0.1,localhost"}
    config = load_config(env, env_file=Path("/nonexistent"))
    services = Services.from_config(config)
    bootstrap(services)
    (config.storage_root / "logs").mkdir(parents=True, exist_ok=True)
    log = open(config.storage_root / "logs" / "e2e-hub.log", "wb")  # noqa: SIM115
    hub_proc = subprocess.Popen([sys.executable, "-m", "hub"], cwd=config.storage_root / "run", env=env,
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    worker_log = open(config.storage_root / "logs" / "e2e-worker.log", "wb")  # noqa: SIM115
    worker = subprocess.Popen([sys.executable, "-m", "worker"], cwd=PROJECT_ROOT, env=env, stdout=worker_log,
                              stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + "/hub/health")
        yield Hub(env, url, services, config.storage_root)
    finally:
        for proc in (hub_proc, worker):
            stop_tree(proc.pid)
        stop_pid_file(Storage(config.storage_root).proxy_pid_file, "configurable-http-proxy")  # if the hub died first
        remove_server_accounts(config.storage_root)
        services.db.drop_database()
        shutil.rmtree(root, ignore_errors=True)


def remove_server_accounts(storage_root: Path) -> None:
    """The system accounts the hub created for this run's users (their homes are in this run's storage)."""
    for name in sysusers.accounts():
        if Path(pwd.getpwnam(name).pw_dir).is_relative_to(storage_root):
            sysusers.remove_account(name)


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail("Chromium is missing: run the README's test command (it installs Debian's chromium).")
    with sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield instance
        instance.close()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    item.stash.setdefault(_FAILED, False)
    if report.when == "call" and report.failed:
        item.stash[_FAILED] = True
    return report


_FAILED = pytest.StashKey[bool]()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1366, "height": 900})
    page = context.new_page()
    yield page
    if request.node.stash.get(_FAILED, False):  # what the page showed when the test failed, for the reader
        shot(page, f"failed-{request.node.name}")
        print("alerts on the page:", page.evaluate(
            "() => [...document.querySelectorAll('.dl-alert')].map(e => [e.className, e.innerHTML.slice(0, 200), "
            "getComputedStyle(e).display])"))
    context.close()


def shot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def login(page, hub: Hub, email: str, password: str) -> None:
    page.goto(hub.url + "/hub/login")
    page.fill("#username_input", email)
    page.fill("#password_input", password)
    page.click("#login_submit")
