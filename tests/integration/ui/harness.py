"""Standalone Voilà servers and a headless Chromium for the dashboard tests and ``bench/bench_ui.py``.

Each server runs ``voila notebooks/`` with the project's ``dallosh`` template (``JUPYTER_PATH`` includes
``jupyter/``) and the environment of one test user (``DALLOSH_LOCAL_USER``), pointed at the test database,
storage, queue and exchange through ``DALLOSH_*`` variables, exactly as the hub's single-user servers are.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from hub.pages import VOILA_EXTENSION_DENYLIST

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOKS = ROOT / "hub" / "notebooks"
JUPYTER_DIR = ROOT / "hub" / "jupyter"
SCREENSHOTS = ROOT / "tests" / "e2e" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
BROWSER_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu"]
#: The longest a page may take to show what its kernel sent back, on a loaded 2-core machine (a CPU burner beside
#: the suite). Replies measured there take well under a second (a view switch ~0.2 s, a kernel start ~10 s); a page
#: still unchanged after this means the kernel never answered.
KERNEL_REPLY_MS = 60_000
#: Pages and the view each one opens (admin pages for admins, home pages for analysts).
PAGES: dict[str, str] = {"admin/overview": "overview", "admin/datasets": "datasets", "admin/tasks": "tasks",
                         "home/overview": "overview", "home/datasets": "datasets", "home/tasks": "tasks",
                         "profile": "profile"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dallosh_env(config: Any, user: str) -> dict[str, str]:
    """The environment a kernel of ``user`` needs to reach the test database, storage, queue and bus."""
    paths = [str(JUPYTER_DIR), *filter(None, os.environ.get("JUPYTER_PATH", "").split(os.pathsep))]
    return {**os.environ, "DALLOSH_MONGODB_URI": config.mongodb_uri,
            "DALLOSH_MONGODB_DATABASE": config.mongodb_database, "DALLOSH_STORAGE_ROOT": str(config.storage_root),
            "DALLOSH_QUEUE_NAME": config.queue_name, "DALLOSH_EVENTS_EXCHANGE": config.events_exchange,
            "DALLOSH_HEARTBEAT_S": str(config.heartbeat_s), "DALLOSH_ORPHAN_AFTER_S": str(config.orphan_after_s),
            "DALLOSH_EMBEDDED_DB": "never", "DALLOSH_LOCAL_USER": user, "JUPYTER_PATH": os.pathsep.join(paths),
            "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}


class VoilaServer:
    """``voila notebooks/ --template=dallosh`` on a free port, as one user."""

    def __init__(self, config: Any, user: str, log_dir: Path, *, preheat: int = 0, hub_server: bool = False,
                 admin: bool | None = None):
        self.config, self.user, self.log_path = config, user, Path(log_dir) / f"voila-{user.split('@')[0]}.log"
        self.port = free_port()
        self.preheat = preheat
        #: Run the users' server of the hub instead (jupyter_server + the Voilà extension, configured by
        #: hub/singleuser_config.py: lockdown, preheated kernels), without the hub's sign-in.
        self.hub_server = hub_server
        self.admin = user.startswith("admin@") if admin is None else admin
        self.proc: subprocess.Popen | None = None

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def url(self, page: str) -> str:
        return f"{self.base}/voila/render/{page}.ipynb"

    def start(self, timeout: float = 60.0) -> VoilaServer:
        env = dallosh_env(self.config, self.user)
        if self.hub_server:
            from hub.spawner import SINGLEUSER_CONFIG

            cmd = [sys.executable, "-m", "jupyter_server", f"--config={SINGLEUSER_CONFIG}",
                   f"--ServerApp.root_dir={NOTEBOOKS}", f"--ServerApp.port={self.port}", "--ServerApp.ip=127.0.0.1",
                   "--ServerApp.port_retries=0", "--ServerApp.open_browser=False", "--IdentityProvider.token="]
            if os.geteuid() == 0:
                cmd.append("--allow-root")  # a container's root; the hub runs servers as the users' accounts
            env.update({"DALLOSH_NOTEBOOKS": "0", "DALLOSH_IS_ADMIN": "1" if self.admin else "0",
                        "DALLOSH_PREHEAT_KERNELS": str(self.preheat),
                        "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))})
        else:
            cmd = [sys.executable, "-m", "voila", str(NOTEBOOKS), "--no-browser", f"--port={self.port}",
                   "--Voila.ip=127.0.0.1", "--template=dallosh", "--VoilaConfiguration.show_tracebacks=True",
                   *(f"--VoilaConfiguration.extension_denylist={name}" for name in VOILA_EXTENSION_DENYLIST)]
            if self.preheat:
                cmd += ["--preheat_kernel=True", f"--pool_size={self.preheat}"]
        log = open(self.log_path, "wb")  # noqa: SIM115 - lives as long as the server
        self.proc = subprocess.Popen(cmd, cwd=NOTEBOOKS, env=env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"voila exited with {self.proc.returncode}:\n{self.logs()[-3000:]}")
            try:
                with urllib.request.urlopen(f"{self.base}/", timeout=2):
                    return self
            except urllib.error.HTTPError:  # answering at all is enough
                return self
            except OSError:
                time.sleep(0.2)  # polling: a starting server has no other way to say it listens
        raise RuntimeError(f"voila did not answer within {timeout} s:\n{self.logs()[-3000:]}")

    def wait_for_log(self, text: str, count: int = 1, timeout: float = 120.0) -> None:
        """Until the server's log holds ``text`` ``count`` times (a pool kernel ready, say)."""
        deadline = time.monotonic() + timeout
        while self.logs().count(text) < count:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"the server exited:\n{self.logs()[-3000:]}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{text!r} not logged {count}x within {timeout} s:\n{self.logs()[-3000:]}")
            time.sleep(0.2)  # polling: the log file is the server's only report

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def stop(self) -> None:
        """Stop the server and its kernels (they share the server's process group)."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.terminate()  # Voilà shuts its kernels down on SIGTERM
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # any kernel that outlived its server
        except (ProcessLookupError, PermissionError):
            pass


def delete_exchange(config: Any) -> None:
    """Remove a test's private (durable) exchange from the shared broker."""
    import pika

    try:
        connection = pika.BlockingConnection(pika.URLParameters(config.rabbitmq_url))
        try:
            connection.channel().exchange_delete(exchange=config.events_exchange)
        finally:
            connection.close()
    except pika.exceptions.AMQPError:
        pass


def launch_browser(playwright):
    """Chromium from apt, never a downloaded browser."""
    return playwright.chromium.launch(executable_path=CHROMIUM, args=BROWSER_ARGS, headless=True)


def new_page(browser, requests: list[str] | None = None, dialogs: list[str] | None = None, **options: Any):
    """A browser page whose waits default to ``KERNEL_REPLY_MS``; ``requests`` collects every URL it loads,
    ``dialogs`` the message of every dialog it opens (each dismissed: an XSS payload's ``alert`` lands there)."""
    page = browser.new_page(viewport={"width": 1400, "height": 900}, **options)
    page.set_default_timeout(KERNEL_REPLY_MS)
    if requests is not None:
        page.on("request", lambda r: requests.append(r.url))
    if dialogs is not None:
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    return page


def wait_for_view(page, view: str, timeout_ms: int = KERNEL_REPLY_MS) -> None:
    page.wait_for_selector(f".dl-app .dl-view-{view}", timeout=timeout_ms)


#: Per view, a JavaScript condition on its root (``root``, ``text``) that holds once the view shows what its first
#: refresh read, background checks included (the admin overview's health rows end with the built-in analyzer).
FILLED: dict[str, str] = {
    "overview": "root.querySelector('.dl-kpi') && ![...root.querySelectorAll('.dl-kpi-value')]"
                ".some((e) => e.textContent.includes('…')) && !text.includes('checking…')"
                " && (!text.includes('Health') || text.includes('Built-in analyzer'))",
    "datasets": "text.includes('.csv')",
    "tasks": "root.querySelector('.dl-task-item') && root.querySelector('.dl-task-detail .dl-log')",
    "profile": "[...root.querySelectorAll('input')].some((i) => i.value.includes('@'))",
    "users": "root.querySelector('.dl-user-row')",
    "logs": "root.querySelector('.dl-log-table td') || text.includes('No activity')",
    "settings": "[...root.querySelectorAll('input[type=text]')].some((i) => i.value.trim())",
}


def wait_until_filled(page, view: str, timeout_ms: int = KERNEL_REPLY_MS) -> None:
    """Until ``view`` is shown with the data its kernel read for it (``FILLED``), not just its empty frame."""
    page.wait_for_function(f"""() => {{
        const root = document.querySelector('.dl-app .dl-view-{view}');
        if (!root || !root.offsetParent) return false;
        const text = root.textContent;
        return Boolean({FILLED[view]});
    }}""", timeout=timeout_ms)


def painted(page) -> None:
    """Until the browser has laid out and painted what the page holds now (two animation frames)."""
    page.evaluate("() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)))")


def set_theme(page, theme: str) -> None:
    """Switch the App to ``theme`` with the navbar toggle (no-op when already there)."""
    if page.query_selector(f".dl-app.dl-{theme}") is None:
        page.click(".dl-theme-toggle")
        page.wait_for_selector(f".dl-app.dl-{theme}", timeout=KERNEL_REPLY_MS)
        painted(page)


def full_screenshot(page, path: Path) -> None:
    """Voilà's lab shell scrolls inside a panel, so grow the viewport to the content before the shot."""
    height = page.evaluate("""() => {
        let h = document.documentElement.scrollHeight;
        for (const el of document.querySelectorAll('.lm-BoxPanel-child, #rendered_cells')) {
            h = Math.max(h, el.scrollHeight);
        }
        return h;
    }""")
    width = page.viewport_size["width"]
    page.set_viewport_size({"width": width, "height": min(max(int(height), 700), 4000)})
    painted(page)  # laid out at the new size
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=True)
    page.set_viewport_size({"width": width, "height": 900})


def visible_errors(page) -> list[str]:
    """Red alerts and any traceback or stderr output the page shows."""
    texts = [el.inner_text() for el in page.query_selector_all(".dl-alert-error") if el.is_visible()]
    for el in page.query_selector_all("[data-mime-type='application/vnd.jupyter.stderr'], .jp-RenderedText"):
        if el.is_visible() and el.inner_text().strip():
            texts.append(el.inner_text()[:500])
    body = page.inner_text("body")
    if "Traceback" in body:
        texts.append("Traceback shown on the page")
    return texts


def newest_kernel(server):
    """The kernel process a page just started (the server's youngest ipykernel child)."""
    import psutil

    kernels = [p for p in psutil.Process(server.proc.pid).children(recursive=True)
               if "ipykernel_launcher" in " ".join(p.cmdline())]
    return max(kernels, key=lambda p: p.create_time())


def shoot_widths_and_themes(page, folder: Path, stem: str, widths: tuple[int, ...] = (1280, 1920)) -> None:
    """Full-page screenshots ``<stem>-<width>-<theme>.png`` at each width in light and dark, to be looked at;
    the theme (saved per user) and the viewport are left as found."""
    for width in widths:
        page.set_viewport_size({"width": width, "height": 900})
        for theme in ("light", "dark"):
            set_theme(page, theme)
            full_screenshot(page, folder / f"{stem}-{width}-{theme}.png")
    set_theme(page, "light")
    page.set_viewport_size({"width": 1400, "height": 900})
