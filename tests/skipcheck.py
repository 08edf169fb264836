"""A pytest plugin (loaded by tests/conftest.py): a skipped test fails the run unless its reason is declared.

A broken import or fixture must not hide as a quiet skip in a green run. The only skips allowed are services a
developer declares missing on purpose, listed here.
"""

from __future__ import annotations

import pytest

#: Reasons a test may be skipped for (a substring of the skip message).
DECLARED_SKIP_REASONS: tuple[str, ...] = (
    "broker restart disabled",  # DALLOSH_SKIP_BROKER_RESTART=1: a shared RabbitMQ that must not be restarted
)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    skipped = reporter.stats.get("skipped", []) if reporter is not None else []
    unexpected = [report for report in skipped
                  if not any(reason in str(report.longrepr) for reason in DECLARED_SKIP_REASONS)]
    if unexpected and exitstatus == pytest.ExitCode.OK:
        lines = "\n".join(f"  {report.nodeid}: {report.longrepr}" for report in unexpected)
        reporter.write_line(f"FAILED: {len(unexpected)} test(s) skipped for an undeclared reason "
                            f"(declare it in tests/skipcheck.py or fix the cause):\n{lines}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
