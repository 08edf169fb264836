"""Fixtures of the dashboard tests, all on the real services (nx-27017 test database).

Two kinds of tests use them:

- view tests (``test_ui_<view>.py``) build a view on a ``live=False`` context and drive it through its handler
  methods: background work runs inline and no thread or subscriber starts, so every assertion sees the state a
  user would see once the handler finished;
- browser tests (``test_ui_*_voila.py``, ``test_ui_live.py``) share a seeded app per module (database, storage, a
  real worker, queue and exchange of its own), seeded through the services and a real ``dallosh worker`` process,
  so the pages show real documents, real stored events and real analysed files.
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
from dallosh.services import SYSTEM, Services
from dallosh.storage import DATASETS
from dallosh.ui.base import UIContext
from tests.conftest import wait_status
from tests.factories import make_csv
from tests.integration.ui.harness import (
    CHROMIUM,
    KERNEL_REPLY_MS,
    ROOT,
    VoilaServer,
    dallosh_env,
    delete_exchange,
    launch_browser,
)

# -- view tests: handler-level, no browser ----------------------------------------------------------------------


@pytest.fixture
def make_actor(services):
    """An active user whose role has exactly ``permissions`` (to check that views hide what it may not do)."""

    def make(*permissions: str, email: str = "viewer@free.com"):
        role = services.roles.create(SYSTEM, f"role-{email.split('@')[0]}", list(permissions))
        services.users.create(SYSTEM, email, "s3cret-pass", role.uid)
        return services.auth.login(email, "s3cret-pass")

    return make


@pytest.fixture
def ctx(services):
    def make(actor, **kwargs):
        return UIContext(services, actor, live=False, **kwargs)

    return make


@pytest.fixture
def upload(services):
    """Writes a CSV where the uploader would (storage/tmp) and returns its path."""

    def make(content: bytes | int = 5, name: str = "upload.csv") -> Path:
        path = services.storage.tmp_dir / f"upload-test-{name}"
        path.write_bytes(content if isinstance(content, bytes) else make_csv(content))
        return path

    return make


@pytest.fixture
def added(services, analyst):
    """One dataset added by the analyst: (file record, task record)."""
    return services.files.add(analyst, "octobre.csv", make_csv(6))


@pytest.fixture
def finish(services):
    """Walk a task through the lifecycle as a worker would (no worker needed), with per-step stats."""
    from dallosh.lifecycle import STEPS

    def walk(task_uid: str, rows: int = 6) -> None:
        if services.tasks.find(task_uid).data.status == "added":
            services.tasks.transition(SYSTEM, task_uid, "in_queue")
        for step in STEPS:
            services.tasks.transition(SYSTEM, task_uid, step)
            services.tasks.transition(SYSTEM, task_uid, step, changes={"last_completed_step": step,
                                                                       f"stats.{step}": {"rows": rows}})
        services.tasks.transition(SYSTEM, task_uid, "done")

    return walk


@pytest.fixture
def analysed(services):
    """Writes an analysed CSV (sentiment, priority, main_topic per row) for a file uid."""
    from dallosh.storage import ANALYSED

    def write(file_uid: str, rows: list[tuple[str, str, str]]) -> Path:
        path = services.storage.path(ANALYSED, file_uid)
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = ["id,full_text,sentiment,priority,main_topic"]
        lines += [f"{i},texte {i},{s},{p},{t}" for i, (s, p, t) in enumerate(rows)]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


# -- browser tests: a seeded app and Voilà servers per module --------------------------------------------------

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
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=KERNEL_REPLY_MS)  # what the page shows after a click is a kernel reply too
    with sync_playwright() as playwright:
        chromium = launch_browser(playwright)
        yield chromium
        chromium.close()
