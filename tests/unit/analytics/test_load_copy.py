"""The typed copy of an analysed CSV (``analytics.load.write_typed_copy``): read instead of the CSV only when it was
typed from that very file, and then the same frame as reading the CSV."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import pytest

from dallosh import analytics as an
from dallosh.analytics import load
from dallosh.storage import ANALYSED, Storage
from tests.unit.test_analytics import raw, tweet


def write_csv(path: Path, rows: list[dict[str, str]]) -> Path:
    raw(rows).to_csv(path, index=False)
    return path


@pytest.fixture
def csv(tmp_path: Path) -> Path:
    rows = [tweet(1, main_topic="Réseau", sentiment="negative", priority=2, created_at="2025-09-01 23:30:00"),
            tweet(2, main_topic="Offres", screen_name="free", is_operator="True", in_reply_to=1),
            tweet(3, main_topic="Facturation", full_text="ligne 1\nligne 2, « coupée » 😡", favorite_count=7)]
    return write_csv(tmp_path / "0123.csv", rows)


def no_csv_parsing(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args, **kwargs):
        raise AssertionError("the CSV was parsed although its typed copy is valid")

    monkeypatch.setattr(load.pd, "read_csv", refuse)


def test_a_stored_dataset_keeps_a_typed_copy_read_instead_of_the_csv_with_the_same_frame(csv, monkeypatch):
    from_csv = an.load_analysed(csv, dataset_names=["octobre.csv"], keep_typed_copy=True)
    assert load.typed_copy_path(csv).exists()
    no_csv_parsing(monkeypatch)
    from_copy = an.load_analysed(csv, dataset_names=["octobre.csv"])
    pd.testing.assert_frame_equal(from_copy, from_csv)
    renamed = an.load_analysed(csv, dataset_names=["other name"])  # the name is the caller's, not the copy's
    assert renamed["dataset"].astype(str).unique().tolist() == ["other name"]
    wanted = ("full_text",)
    monkeypatch.undo()
    subset_csv = an.load_analysed(csv, columns=wanted, dataset_names=["x"])
    no_csv_parsing(monkeypatch)
    pd.testing.assert_frame_equal(an.load_analysed(csv, columns=wanted, dataset_names=["x"]), subset_csv,
                                  check_like=True)


def test_a_copy_of_another_version_of_the_file_or_of_older_rules_is_ignored(csv, monkeypatch):
    an.load_analysed(csv, keep_typed_copy=True)
    write_csv(csv, [tweet(9, main_topic="Autre")])  # reprocessed: the CSV changed, the copy did not
    os.utime(csv, ns=(1, 1))  # whatever the clock's resolution, another mtime
    assert an.load_analysed(csv)["id"].tolist() == [tweet(9)["id"]]
    an.load_analysed(csv, keep_typed_copy=True)  # rewritten for the new version
    monkeypatch.setattr(load, "TYPED_COPY_VERSION", "next")  # the typing rules changed
    calls: list[int] = []
    read_csv = load.pd.read_csv
    monkeypatch.setattr(load.pd, "read_csv", lambda *a, **k: calls.append(1) or read_csv(*a, **k))
    assert an.load_analysed(csv)["id"].tolist() == [tweet(9)["id"]] and calls  # parsed again
    calls.clear()
    monkeypatch.setattr(load, "TYPED_COPY_VERSION", "1")
    assert an.load_analysed(csv)["id"].tolist() == [tweet(9)["id"]] and not calls  # positive control


def test_users_own_files_get_no_copy_and_a_broken_copy_is_ignored(csv):
    an.load_analysed(csv)
    assert not load.typed_copy_path(csv).exists()  # a power user's CSV is left alone
    load.typed_copy_path(csv).write_bytes(b"not arrow")
    assert an.load_analysed(csv)["id"].tolist() == [tweet(i)["id"] for i in (1, 2, 3)]
    folder = csv.parent
    folder.chmod(0o500)
    try:
        if not os.access(folder, os.W_OK):  # root writes anyway
            assert load.write_typed_copy(csv) is None  # best effort: the load still works
    finally:
        folder.chmod(0o700)


def test_deleting_a_dataset_deletes_its_typed_copy(tmp_path):
    storage = Storage(tmp_path / "storage")
    uid = "a" * 32
    path = storage.path(ANALYSED, uid)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_csv(path, [tweet(1)])
    an.load_analysed(path, keep_typed_copy=True)
    assert load.typed_copy_path(path) in storage.remove_all(uid)
    assert not load.typed_copy_path(path).exists() and not path.exists()
