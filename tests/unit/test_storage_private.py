"""Storage, database files and hub secrets belong to the app's account alone."""

from __future__ import annotations

import stat

from dallosh.storage import Storage, private


def mode(path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_storage_folders_are_private_and_existing_files_too(tmp_path):
    root = tmp_path / "storage"
    (root / "db").mkdir(parents=True)
    leaked = root / "db" / "dallosh_analysis.db"
    leaked.write_text("hashes")
    leaked.chmod(0o644)  # what an older version left behind
    (root / "db").chmod(0o755)
    Storage(root).ensure()
    assert mode(root) == 0o700
    for sub in ("datasets", "cleaned", "analysed", "db", "run", "logs", "tmp", "checkpoints"):
        assert mode(root / sub) == 0o700, sub
    assert mode(leaked) == 0o600


def test_private_file(tmp_path):
    secret = tmp_path / "token"
    secret.write_text("x")
    secret.chmod(0o644)
    private(secret)
    assert mode(secret) == 0o600
