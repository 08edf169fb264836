"""The embedded database writes its files for the app's account only (they hold password hashes and keys)."""

from __future__ import annotations

import stat

from pymongo import MongoClient

from dallosh.db.embedded import spawn_embedded, terminate, wait_until_answers
from tests.conftest import free_port


def test_database_files_are_readable_by_the_app_account_only(tmp_path):
    data_dir = tmp_path / "db"
    data_dir.mkdir(mode=0o755)
    port = free_port()
    proc = spawn_embedded(port, data_dir, tmp_path / "nx.log")
    uri = f"mongodb://127.0.0.1:{port}"
    try:
        wait_until_answers(uri, proc=proc)
        client = MongoClient(uri)
        client["dallosh_analysis"]["users"].insert_one({"uid": "u1", "data": {"password": "scrypt$…"}})
        client.close()
        files = [p for p in data_dir.iterdir() if p.is_file()]
        assert any(p.name.startswith("dallosh_analysis") for p in files)  # positive control: it wrote files
        assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700
        assert {p.name: stat.S_IMODE(p.stat().st_mode) for p in files} == {p.name: 0o600 for p in files}
    finally:
        terminate(proc.pid)
