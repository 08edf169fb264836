"""A seeded app (database, storage, a real worker, queue and exchange of its own) shared by a module's tests.

Seeding goes through the services and a real ``dallosh worker`` process, so the pages show real documents,
real stored events and real analysed files.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from dallosh.config import Config, load_config
from dallosh.services import Services
from dallosh.storage import DATASETS
from tests.conftest import wait_status
from tests.integration.ui.harness import CHROMIUM, ROOT, VoilaServer, dallosh_env, delete_exchange, launch_browser


def ui_config(mongo_uri: str, storage_root: Path) -> Config:
    suffix = uuid.uuid4().hex[:8]
    return load_config({
        "DALLOSH_MONGODB_URI": mongo_uri, "DALLOSH_MONGODB_DATABASE": f"test_ui_{suffix}",
        "DALLOSH_STORAGE_ROOT": str(storage_root), "DALLOSH_QUEUE_NAME": f"test-ui-{suffix}",
        "DALLOSH_EVENTS_EXCHANGE": f"test-ui-tasks-{suffix}", "DALLOSH_HEARTBEAT_S": "0.5",
        "DALLOSH_ORPHAN_AFTER_S": "30", "DALLOSH_EMBEDDED_DB": "never",
    }, env_file=Path("/nonexistent"))


def start_worker(config: Config, log_dir: Path, name: str) -> subprocess.Popen:
    log = open(log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
    return subprocess.Popen([sys.executable, "-m", "worker", "--name", name], cwd=ROOT,
                            env=dallosh_env(config, "system"), stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)


def stop_process(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


@dataclass
class UIEnv:
    config: Config
    services: Services
    log_dir: Path
    servers: dict[str, VoilaServer] = field(default_factory=dict)
    tasks: dict[str, Any] = field(default_factory=dict)
    worker: subprocess.Popen | None = None


@pytest.fixture(scope="module")
def ui_env(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[UIEnv]:
    """Bootstrapped app + seeded datasets in every interesting state + one real worker."""
    from dallosh.bootstrap import bootstrap
    from dallosh.queue import connect_runtime

    base = tmp_path_factory.mktemp("ui")
    config = ui_config(mongo_uri, base / "storage")
    services = Services.from_config(config)
    bootstrap(services)
    dispatcher = connect_runtime(services)
    env = UIEnv(config, services, base)
    env.worker = start_worker(config, base, f"ui-{uuid.uuid4().hex[:6]}")
    try:
        try:
            admin = services.auth.login("admin@free.com", "123456")
            analyst = services.auth.login("analyst@free.com", "123456")
            # Tasks belong to their dataset's owner, who starts them; the live test starts decembre.csv as the analyst.
            owners = {"septembre.csv": analyst, "octobre.csv": admin, "novembre.csv": analyst, "decembre.csv": analyst}
            for name, rows, seed in (("septembre.csv", 600, 3), ("octobre.csv", 900, 4), ("novembre.csv", 300, 5),
                                     ("decembre.csv", 200, 6)):
                csv = base / name
                subprocess.run([sys.executable, "-m", "tools.synthetic", str(rows), str(csv), "--seed", str(seed)],
                               check=True, capture_output=True, cwd=ROOT)
                _, task = services.files.add(owners[name], name, csv)
                env.tasks[name] = task
            for name in ("septembre.csv", "octobre.csv"):
                services.tasks.request(owners[name], env.tasks[name].uid, "start")
            for name in ("septembre.csv", "octobre.csv"):
                wait_status(services, env.tasks[name].uid, {"done"})
            # A real failure: the stored original disappeared, so the worker stops with a message saying what to do.
            failed = env.tasks["novembre.csv"]
            services.storage.path(DATASETS, failed.data.file_id).unlink()
            services.tasks.request(analyst, failed.uid, "start")
            wait_status(services, failed.uid, {"on_error"})
        except Exception as exc:
            logs = "\n".join(p.read_text(errors="replace")[-2000:] for p in base.glob("ui-*.log"))
            raise RuntimeError(f"seeding the UI test app failed: {exc}\nworker log:\n{logs}") from exc
        yield env
    finally:
        for server in env.servers.values():
            server.stop()
        if env.worker is not None:
            stop_process(env.worker)
        dispatcher.events.publisher.close()
        delete_exchange(config)
        services.db.drop_database()
        services.db.close()
        shutil.rmtree(base / "storage", ignore_errors=True)


@pytest.fixture(scope="module")
def voila(ui_env: UIEnv):
    """``voila(user_email)`` → a running server for that user (started once per module)."""

    def get(user: str) -> VoilaServer:
        if user not in ui_env.servers:
            ui_env.servers[user] = VoilaServer(ui_env.config, user, ui_env.log_dir).start()
        return ui_env.servers[user]

    return get


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.fail("Chromium is missing: run the README's test command (it installs Debian's chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()
