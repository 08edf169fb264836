"""JupyterHub benchmarks (issue 4): landing page load, login → first dashboard interactive (cold and warm),
and memory with N logged-in users; plus the Voilà-notebook alternative for the landing page.

Runs its own embedded database, hub, proxy and per-user servers on free ports, drives Debian's Chromium with
Playwright, then stops everything. Targets: landing < 1 s, cold ≤ 5 s, warm ≤ 2 s.

    .venv/bin/python bench/bench_hub.py [--users 10]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import psutil
from _common import PROJECT_ROOT, Section, print_sections

from dallosh.processes import stop_pid_file, stop_tree
from dallosh.storage import Storage
from hub.config import free_public_port

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update"]
APP = ".dl-app"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer")


def _tree_rss(pid: int) -> int:
    try:
        root = psutil.Process(pid)
        return sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
    except psutil.NoSuchProcess:
        return 0


def _login(page, url: str, email: str, password: str = "123456") -> float:
    page.goto(url + "/hub/login")
    page.fill("#username_input", email)
    page.fill("#password_input", password)
    start = time.perf_counter()
    page.click("#login_submit")
    page.wait_for_selector(APP, timeout=180_000)
    return time.perf_counter() - start


def voila_landing_seconds(browser, workdir: Path) -> float:
    """The alternative the issue asks to compare: a Voilà notebook rendering the same pitch, served standalone."""
    notebook = workdir / "landing.ipynb"
    html = (PROJECT_ROOT / "hub" / "templates" / "landing.html").read_text()
    body = html.split("{% block main %}")[1].split("{% endblock main %}")[0]
    notebook.write_text(json.dumps({"cells": [{"cell_type": "code", "execution_count": None, "id": "c1",
                                               "metadata": {}, "outputs": [],
                                               "source": f"from IPython.display import HTML\nHTML({body!r})"}],
                                    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                                "language": "python"}},
                                    "nbformat": 4, "nbformat_minor": 5}))
    port = _free_port()
    proc = subprocess.Popen([str(Path(sys.executable).with_name("voila")), str(notebook), "--no-browser",
                             f"--port={port}", "--Voila.ip=127.0.0.1"], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait(f"http://127.0.0.1:{port}/", 60)
        page = browser.new_page()
        start = time.perf_counter()
        page.goto(f"http://127.0.0.1:{port}/")
        page.wait_for_selector("#landing", timeout=60_000)
        seconds = time.perf_counter() - start
        page.close()
        return seconds
    finally:
        stop_tree(proc.pid)


def run(users: int = 10) -> Section:
    from playwright.sync_api import sync_playwright

    section = Section("hub", f"JupyterHub: landing, login → dashboard, memory with {users} users")
    with tempfile.TemporaryDirectory(prefix="dallosh-bench-hub-") as tmp:
        work = Path(tmp)
        # Run as root, the hub starts users' servers as their own accounts: they pass through this folder to the
        # storage (as tests/e2e/conftest.py does); a private temporary folder made every spawn fail.
        work.chmod(0o711)
        port = free_public_port()
        db_port = _free_port()
        env = {**os.environ, "DALLOSH_MONGODB_URI": f"mongodb://127.0.0.1:{db_port}",
               "DALLOSH_STORAGE_ROOT": str(work / "storage"), "DALLOSH_HUB_PORT": str(port),
               "DALLOSH_QUEUE_NAME": f"bench-{port}", "DALLOSH_EVENTS_EXCHANGE": f"bench-{port}",
               "NO_PROXY": "127.0.0.1,localhost"}
        dallosh = [sys.executable, "-m", "dallosh"]
        subprocess.run([*dallosh, "bootstrap", "--start-db"], env=env, check=True, capture_output=True)
        script = ("from dallosh.services import get_services\ns = get_services()\n"
                  "admin = s.auth.login('admin@free.com', '123456')\nrole = s.roles.by_name('analyst')\n"
                  f"for i in range({users}):\n"
                  "    s.users.create(admin, f'user{i}@bench.io', 'Bench-pass1', role.uid)\n")
        subprocess.run([sys.executable, "-c", script], env=env, check=True, capture_output=True)
        (work / "storage" / "run").mkdir(parents=True, exist_ok=True)
        hub = subprocess.Popen([sys.executable, "-m", "hub"], cwd=work / "storage" / "run", env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
        url = f"http://127.0.0.1:{port}"
        try:
            _wait(url + "/hub/health")
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page()
                page.goto(url + "/hub/landing")  # warm the template cache once
                samples = []
                for _ in range(5):
                    start = time.perf_counter()
                    page.goto(url + "/hub/landing")
                    page.wait_for_load_state("load")
                    samples.append(time.perf_counter() - start)
                landing = sorted(samples)[len(samples) // 2]
                section.add("landing_hub_s", "landing (hub page), median of 5", round(landing, 3), "{} s")
                section.target("landing < 1 s", f"{landing:.2f} s", landing < 1)
                voila = voila_landing_seconds(browser, work)
                section.add("landing_voila_s", "landing as a Voilà notebook (standalone)", round(voila, 2), "{} s")
                page.close()

                cold, warm = [], []
                hub_rss_before = _tree_rss(hub.pid)
                for i in range(users):
                    context = browser.new_context()
                    page = context.new_page()
                    cold.append(_login(page, url, f"user{i}@bench.io", "Bench-pass1"))
                    if i < 3:
                        page.goto(url + "/hub/logout")
                        warm.append(_login(page, url, f"user{i}@bench.io", "Bench-pass1"))
                    context.close()
                total = _tree_rss(hub.pid)
                browser.close()
            cold_med = sorted(cold)[len(cold) // 2]
            warm_med = sorted(warm)[len(warm) // 2]
            section.add("login_cold_s", "login → dashboard, cold (median)", round(cold_med, 2), "{} s")
            section.add("login_cold_all_s", "  every cold login", [round(c, 1) for c in cold])
            section.add("login_warm_s", "login → dashboard, warm (median)", round(warm_med, 2), "{} s")
            section.target("cold ≤ 5 s", f"{cold_med:.1f} s", cold_med <= 5)
            section.target("warm ≤ 2 s", f"{warm_med:.1f} s", warm_med <= 2)
            section.add("hub_rss_mb", "hub + proxy before logins", round(hub_rss_before / 2**20), "{} MB")
            section.add("total_rss_mb", f"hub + proxy + {users} servers and their kernels", round(total / 2**20),
                        "{} MB")
            section.add("per_user_mb", "per logged-in user", round((total - hub_rss_before) / users / 2**20),
                        "{} MB")
        finally:
            stop_tree(hub.pid)
            stop_pid_file(Storage(work / "storage").proxy_pid_file, "configurable-http-proxy")  # if the hub died
            subprocess.run([*dallosh, "db", "stop"], env=env, capture_output=True)
    section.notes.append(f"load average at the end: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    return section


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=10)
    args = parser.parse_args()
    print_sections([run(args.users)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
