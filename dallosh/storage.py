"""Paths inside the shared storage folder. Names chosen by users never become paths: files are ``<uid>.csv``."""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from dallosh.config import Config, get_config

#: Sub-folders of the storage root; the pipeline writes cleaned/ and analysed/ from datasets/.
DATASETS, CLEANED, ANALYSED = "datasets", "cleaned", "analysed"
KINDS = (DATASETS, CLEANED, ANALYSED)
#: An analysed CSV's typed copy beside it (``analytics.load``): ``<uid>.csv`` + this suffix.
TYPED_COPY_SUFFIX = ".arrow"

_UID = re.compile(r"^[0-9a-f]{32}$")


#: The storage root's mode when users' servers run as their own accounts: they may pass through to their home
#: and the notebooks folder, not list the root; every sub-folder stays 0700.
TRAVERSE_ONLY = 0o711


def private_files(folder: Path) -> None:
    """The files directly in ``folder`` are accessible to their owner only."""
    for child in Path(folder).iterdir():
        if child.is_file() and not child.is_symlink():
            child.chmod(0o600)


def private(path: Path) -> None:
    """Make ``path`` (and, for a folder, what is directly in it) accessible to its owner only."""
    path = Path(path)
    if path.is_dir():
        path.chmod(0o700)
        private_files(path)
    elif path.exists():
        path.chmod(0o600)


def private_umask() -> None:
    """``preexec_fn`` of the app's own servers (database, hub, worker): files they create are 0600."""
    os.umask(0o077)


class Storage:
    """The storage layout: ``datasets/<uid>.csv``, ``cleaned/<uid>.csv``, ``analysed/<uid>.csv``, ``db/``, ``run/``."""

    def __init__(self, root: Path):
        self.root = Path(root)

    @classmethod
    def from_config(cls, config: Config | None = None) -> Storage:
        return cls((config or get_config()).storage_root)

    def ensure(self) -> None:
        """Create every folder of the layout (idempotent), readable by the app's own account only.

        The database files hold password hashes and API keys, ``run/`` the hub's secrets, and the other folders
        customers' tweets: other local accounts get nothing (0700 folders, files 0600 by :func:`private`).
        """
        self.root.mkdir(parents=True, exist_ok=True)
        if stat.S_IMODE(self.root.stat().st_mode) == TRAVERSE_ONLY:
            private_files(self.root)  # opened by the hub for users' servers' accounts (hub/sysusers.py): kept
        else:
            private(self.root)
        for sub in (*KINDS, "db", "run", "logs", "tmp", "checkpoints"):
            (self.root / sub).mkdir(mode=0o700, exist_ok=True)
            private(self.root / sub)

    def path(self, kind: str, file_uid: str) -> Path:
        """The path of a stored file; refuses anything that is not a generated uid (no traversal possible)."""
        if kind not in KINDS:
            raise ValueError(f"unknown storage kind {kind!r}")
        if not _UID.match(file_uid or ""):
            raise ValueError(f"not a file uid: {file_uid!r}")
        return self.root / kind / f"{file_uid}.csv"

    def relative(self, path: Path) -> str:
        """A path as stored in documents: relative to the storage root, so moving the root keeps them valid."""
        return Path(path).resolve().relative_to(self.root.resolve()).as_posix()

    def resolve(self, stored: str) -> Path:
        """Inverse of ``relative`` (also accepts legacy absolute paths inside the root)."""
        path = (self.root / stored).resolve()
        if not path.is_relative_to(self.root.resolve()):
            raise ValueError(f"path outside storage: {stored!r}")
        return path

    @property
    def db_dir(self) -> Path:
        return self.root / "db"

    @property
    def run_dir(self) -> Path:
        return self.root / "run"

    @property
    def proxy_pid_file(self) -> Path:
        """The hub's configurable-http-proxy pid, to stop the proxy if the hub dies before it."""
        return self.run_dir / "proxy.pid"

    @property
    def notebooks_dir(self) -> Path:
        """The users' servers' root: the packaged pages (linked) and ``work/<user>`` (power users' own files)."""
        return self.root / "notebooks"

    @property
    def logs_dir(self) -> Path:
        return self.root / "logs"

    @property
    def tmp_dir(self) -> Path:
        return self.root / "tmp"

    def remove_all(self, file_uid: str) -> list[Path]:
        """Delete a dataset's original and derived files; returns what was removed."""
        removed = []
        for kind in KINDS:
            path = self.path(kind, file_uid)
            for stored in (path, path.with_name(path.name + TYPED_COPY_SUFFIX)):
                if stored.exists():
                    stored.unlink()
                    removed.append(stored)
        checkpoints = self.checkpoints(file_uid)
        if checkpoints.exists():
            shutil.rmtree(checkpoints)
            removed.append(checkpoints)
        return removed

    def atomic_write(self, target: Path):
        return atomic_path(target)

    def checkpoints(self, file_uid: str) -> Path:
        """Per-dataset folder of the pipeline's checkpoints (page labels, plan, staged output)."""
        self.path(DATASETS, file_uid)  # validates the uid
        return self.root / "checkpoints" / file_uid


@contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path next to ``target``; it replaces ``target`` only if the block succeeds.

    Readers never see a half-written file, and a failure leaves the previous version intact.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()
