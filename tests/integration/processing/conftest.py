"""Real Redis + RQ forking workers, real RabbitMQ, the embedded database and the fake LLM server.

Each test gets its own queue name, exchange name, database and storage, so runs never see each other.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from dallosh.config import Config, load_config
from dallosh.events import Subscriber, routing_key_for
from dallosh.processes import kill_tree
from dallosh.queue import connect_runtime
from tests.waiting import Collector

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture
def config(mongo_uri: str, db_name: str, storage) -> Config:
    suffix = uuid.uuid4().hex[:8]
    return load_config({
        "DALLOSH_MONGODB_URI": mongo_uri, "DALLOSH_MONGODB_DATABASE": db_name,
        "DALLOSH_STORAGE_ROOT": str(storage.root), "DALLOSH_QUEUE_NAME": f"test-{suffix}",
        "DALLOSH_EVENTS_EXCHANGE": f"test-tasks-{suffix}", "DALLOSH_HEARTBEAT_S": "0.5",
        "DALLOSH_ORPHAN_AFTER_S": "3", "DALLOSH_LOG_LEVEL": "INFO",
    }, env_file=Path("/nonexistent"))


@pytest.fixture
def clock():
    """Processing tests use the real clock: heartbeats are compared across processes."""
    return time.time


@pytest.fixture
def runtime(services):
    """The services wired to the real queue and event bus (what the dashboards use)."""
    dispatcher = connect_runtime(services)
    yield dispatcher
    dispatcher.events.publisher.close()


def worker_env(config: Config) -> dict[str, str]:
    return {**os.environ, "DALLOSH_MONGODB_URI": config.mongodb_uri,
            "DALLOSH_MONGODB_DATABASE": config.mongodb_database, "DALLOSH_STORAGE_ROOT": str(config.storage_root),
            "DALLOSH_QUEUE_NAME": config.queue_name, "DALLOSH_EVENTS_EXCHANGE": config.events_exchange,
            "DALLOSH_HEARTBEAT_S": str(config.heartbeat_s), "DALLOSH_ORPHAN_AFTER_S": str(config.orphan_after_s),
            "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}


class Workers:
    """Starts real ``dallosh worker`` processes; kills them (and their work-horses) at teardown."""

    def __init__(self, config: Config, log_dir: Path):
        self.config, self.log_dir = config, log_dir
        self.procs: list[subprocess.Popen] = []

    def start(self, name: str | None = None) -> subprocess.Popen:
        name = name or f"w{len(self.procs)}-{uuid.uuid4().hex[:6]}"
        log = open(self.log_dir / f"{name}.log", "wb")  # noqa: SIM115 - closed with the process
        proc = subprocess.Popen([sys.executable, "-m", "worker", "--name", name], cwd=ROOT, env=worker_env(self.config),
                                stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        self.procs.append(proc)
        return proc

    def kill(self, proc: subprocess.Popen) -> None:
        """SIGKILL the worker and its work-horse, as a crash would (RQ puts the horse in its own session)."""
        kill_tree(proc.pid)
        proc.wait(10)

    def logs(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.log_dir.glob("*.log")))

    def stop_all(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                self.kill(proc)


@pytest.fixture
def workers(config, tmp_path) -> Iterator[Workers]:
    pool = Workers(config, tmp_path)
    yield pool
    pool.stop_all()


class Collected(Collector):
    """Events received by a subscriber (it calls the instance), with a wait helper."""

    def __init__(self) -> None:
        super().__init__("events")

    def __call__(self, message: dict) -> None:
        self.add(message)

    def wait_for(self, predicate: Callable[[list[dict]], bool], timeout: float = 60, failure=None) -> list[dict]:
        return super().wait_for(predicate, timeout, failure or (
            lambda items: f"timed out; events so far: {[e['event'] for e in items]}"))


@pytest.fixture
def subscribe(config):
    subs = []

    def make(file_id: str | None = None) -> Collected:
        collected = Collected()
        sub = Subscriber(collected, [routing_key_for(file_id)], config=config).start()
        subs.append(sub)
        return collected

    yield make
    for sub in subs:
        sub.stop()



