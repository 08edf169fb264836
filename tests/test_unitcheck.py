"""Unit tests need no server: the plugin fails one that asks for the database, and no unit test imports a client."""

from __future__ import annotations

import ast
from pathlib import Path

pytest_plugins = ["pytester"]

UNIT = Path(__file__).resolve().parent / "unit"
#: Modules that talk to a server; ``pymongo.errors`` (exception classes only) is fine.
SERVER_CLIENTS = ("redis", "rq", "pika", "pymongo", "dallosh.db", "dallosh.queue", "dallosh.localservices",
                  "dallosh.bootstrap")
ALLOWED = ("pymongo.errors",)

CONFTEST = """
    import pytest

    @pytest.fixture(scope="session")
    def mongo_uri():
        return "mongodb://127.0.0.1:1"

    @pytest.fixture
    def services(mongo_uri):
        return object()
"""
NEEDS_DB = "def test_reads(services): assert services\n"
PURE = "def test_adds(): assert 1 + 1 == 2\n"


def write(pytester, path: str, source: str) -> None:
    target = pytester.path / path
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(source)


def test_a_unit_test_that_needs_the_database_fails(pytester):
    pytester.makeconftest(CONFTEST)
    write(pytester, "tests/unit/ui/test_view.py", NEEDS_DB + PURE)
    result = pytester.runpytest("-p", "tests.unitcheck")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*a unit test must not need a server (mongo_uri): move it to tests/integration/ui*"])


def test_the_same_test_under_integration_passes_and_is_marked(pytester):
    pytester.makeconftest(CONFTEST)
    write(pytester, "tests/integration/ui/test_view.py", NEEDS_DB + PURE)
    write(pytester, "tests/unit/test_pure.py", PURE)
    result = pytester.runpytest("-p", "tests.unitcheck", "-m", "integration")
    result.assert_outcomes(passed=2, deselected=1)  # the unit test is not marked


def server_imports(source: str) -> list[str]:
    """Modules of ``SERVER_CLIENTS`` that ``source`` imports."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
            [node.module] if isinstance(node, ast.ImportFrom) and node.module else [])
        for name in names:
            if name.startswith(ALLOWED):
                continue
            if any(name == client or name.startswith(client + ".") for client in SERVER_CLIENTS):
                found.append(name)
    return found


def test_the_import_check_recognises_server_clients():
    assert server_imports("import redis\nfrom dallosh.db.embedded import spawn_embedded\n") == [
        "redis", "dallosh.db.embedded"]
    assert server_imports("def f():\n    import pika\n") == ["pika"]
    assert server_imports("from pymongo.errors import PyMongoError\nimport redistools\nimport dallosh.dbx\n") == []


def test_no_unit_test_imports_a_server_client():
    offenders = {str(path.relative_to(UNIT)): found for path in sorted(UNIT.rglob("*.py"))
                 if (found := server_imports(path.read_text(encoding="utf-8")))}
    assert offenders == {}, "unit tests must not reach a server: move these to tests/integration"
