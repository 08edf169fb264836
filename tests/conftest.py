"""Fixtures that start real services on free ports and clean up after themselves.

The database is a real nx-27017 server (MongoDB wire protocol) started once per test session; set
``DALLOSH_TEST_MONGODB_URI`` to run the same tests against a real MongoDB instead. Every test gets its own
database name and storage folder, so tests never see each other's data.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dallosh.config import Config, load_config
from dallosh.db import MongoAdapter
from dallosh.db.embedded import spawn_embedded, terminate, wait_until_answers
from dallosh.llm import formats
from dallosh.storage import Storage
from tests.mocking import FakeLLMServer

pytest_plugins = ["tests.skipcheck", "tests.unitcheck"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_status(services, task_uid: str, statuses: set[str], timeout: float = 120) -> str:
    """Poll a task until its status is one of ``statuses``; fail with the status it stayed in."""
    from dallosh.services import SYSTEM

    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        status = services.tasks.get(SYSTEM, task_uid).data.status
        if status in statuses:
            return status
        time.sleep(0.1)  # polling the database, where the worker stores the task's status
    raise AssertionError(f"task stayed {status}, expected one of {statuses}")


class FakeClock:
    """A settable wall clock for throttling windows and other time rules."""

    def __init__(self, start: float = 1_800_000_000.0):
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="session")
def mongo_uri(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """URI of the session's database server: ``DALLOSH_TEST_MONGODB_URI`` or a fresh nx-27017."""
    external = os.environ.get("DALLOSH_TEST_MONGODB_URI")
    if external:
        yield external
        return
    port = free_port()
    data_dir = tmp_path_factory.mktemp("nx-data")
    proc = spawn_embedded(port, data_dir, data_dir / "nx.log")
    uri = f"mongodb://127.0.0.1:{port}"
    try:
        wait_until_answers(uri, proc=proc)
        yield uri
    finally:
        terminate(proc.pid)


@pytest.fixture
def db_name() -> str:
    return f"test_{uuid.uuid4().hex[:12]}"


@pytest.fixture
def db(mongo_uri: str, db_name: str) -> Iterator[MongoAdapter]:
    adapter = MongoAdapter(mongo_uri, db_name)
    try:
        yield adapter
    finally:
        adapter.drop_database()
        adapter.close()


@pytest.fixture
def storage(tmp_path: Path) -> Storage:
    store = Storage(tmp_path / "storage")
    store.ensure()
    return store


#: This run's own RQ queues (tasks and notify) and RabbitMQ exchange. With the app's default names, a test's jobs
#: reached the workers of an app running on the same machine (seen: its notify worker took a test's e-mail and
#: failed it), and the app's could reach the tests'.
RUN_NAMES = {"DALLOSH_QUEUE_NAME": f"test-run-{uuid.uuid4().hex[:8]}"}
RUN_NAMES["DALLOSH_EVENTS_EXCHANGE"] = f"{RUN_NAMES['DALLOSH_QUEUE_NAME']}-events"
_run_names_used: list[Config] = []


@pytest.fixture
def config(mongo_uri: str, db_name: str, storage: Storage) -> Config:
    config = load_config({"DALLOSH_MONGODB_URI": mongo_uri, "DALLOSH_MONGODB_DATABASE": db_name,
                          "DALLOSH_STORAGE_ROOT": str(storage.root), **RUN_NAMES}, env_file=Path("/nonexistent"))
    if not _run_names_used:
        _run_names_used.append(config)
    return config


@pytest.fixture(scope="session", autouse=True)
def _run_names_removed() -> Iterator[None]:
    """At the end of the run, this run's queues (and the jobs left in them: no worker serves most tests) and its
    exchange are removed from the shared Redis and RabbitMQ."""
    yield
    if not _run_names_used:
        return
    config = _run_names_used[0]
    try:
        from redis import Redis
        from rq import Queue

        redis = Redis.from_url(config.redis_url, socket_connect_timeout=3)
        for name in (config.queue_name, config.notify_queue_name):
            Queue(name, connection=redis).delete(delete_jobs=True)
    except Exception:  # noqa: BLE001 - cleanup of a shared server: never fails the run
        pass
    from tests.integration.ui.harness import delete_exchange

    delete_exchange(config)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def services(db: MongoAdapter, storage: Storage, config: Config, clock: FakeClock):
    """Bootstrapped services: default roles, settings and the two default accounts exist."""
    from dallosh.bootstrap import bootstrap
    from dallosh.services import Services

    svc = Services(db, storage, config, clock=clock)
    bootstrap(svc)
    return svc


@pytest.fixture
def admin(services):
    return services.auth.login("admin@free.com", "123456")


@pytest.fixture
def analyst(services):
    return services.auth.login("analyst@free.com", "123456")


@pytest.fixture
def fake_llm(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeLLMServer]:
    """A running fake LLM server (behaviour ``ok``; change it with ``fake_llm.set_behaviour(...)``), shared by the
    LLM, pipeline and processing tests; it fails the test if a labelling request was malformed."""
    monkeypatch.delenv("OLLAMA_API_KEY", raising=False)  # the ollama client would send it otherwise
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    formats.forget_all()
    with FakeLLMServer() as server:
        yield server
    assert not server.shape_errors, f"malformed labelling requests: {server.shape_errors}"
