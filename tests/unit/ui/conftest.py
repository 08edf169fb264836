"""Views built on the real services (nx-27017 test database), driven through their handler methods.

``live=False`` contexts run background work inline and start no threads or subscribers, so every assertion
sees the state a user would see once the handler finished.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from dallosh.services import SYSTEM
from dallosh.ui.base import UIContext
from tests.factories import make_csv


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
