"""A pytest plugin (loaded by tests/conftest.py): unit tests need no server, integration tests say they do.

A test under ``tests/unit`` that asks for a fixture reaching a server (the database, and through it ``db``,
``config``, ``services``, ``admin``, ``analyst``…) fails before that fixture starts anything: it belongs under
``tests/integration``, in the folder that mirrors its unit folder. Every test under ``tests/integration`` gets
the ``integration`` marker, so ``-m "not integration"`` runs what needs no server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

#: Fixtures that start or reach a server; every fixture that needs one depends on one of these.
SERVER_FIXTURES: frozenset[str] = frozenset({
    "mongo_uri",  # the session's nx-27017 (or DALLOSH_TEST_MONGODB_URI): db, config, services, admin, analyst
    "llama_server",  # llama.cpp's server with the test model
})
UNIT_DIR = ("tests", "unit")
INTEGRATION_DIR = ("tests", "integration")


def folder(item: pytest.Item) -> tuple[str, ...]:
    """The item's file path relative to the rootdir, as parts (empty when outside it)."""
    try:
        return Path(item.path).relative_to(item.config.rootpath).parts
    except ValueError:
        return ()


def servers_needed(item: pytest.Item) -> list[str]:
    return sorted(SERVER_FIXTURES.intersection(getattr(item, "fixturenames", ())))


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "integration: tests under tests/integration (they need real servers)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if folder(item)[:2] == INTEGRATION_DIR:
            item.add_marker(pytest.mark.integration)


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    parts = folder(item)
    needed = servers_needed(item) if parts[:2] == UNIT_DIR else []
    if needed:
        target = "/".join(INTEGRATION_DIR + parts[2:])
        pytest.fail(f"a unit test must not need a server ({', '.join(needed)}): move it to {target}",
                    pytrace=False)
