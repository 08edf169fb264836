"""Uploading datasets, including every bad input of the foundation issue."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from dallosh.errors import Conflict, DuplicateDataset, InvalidDataset, MaintenanceMode, NotFound
from tests.factories import make_csv, tweet_row


def _state(services):
    """Everything stored: documents and files (to prove failures leave nothing behind)."""
    files = sorted(p.name for p in (services.storage.root / "datasets").iterdir())
    return services.db.count("files"), services.db.count("tasks"), files


def test_add_stores_file_document_and_task(services, analyst):
    content = make_csv(5)
    file, task = services.files.add(analyst, "tweets_october.csv", content)
    path = services.storage.path("datasets", file.uid)
    assert path.read_bytes() == content  # UTF-8 comma files are stored byte for byte
    assert file.data.file_path == f"datasets/{file.uid}.csv" and file.data.rows == 5
    assert file.data.size == len(content) and file.data.filename == "tweets_october.csv"
    assert file.data.task_id == task.uid and file.createdBy == analyst.uid
    assert task.data.status == "added" and task.data.file_id == file.uid
    listed = services.files.list(analyst)
    assert listed.total == 1 and listed.items[0]["status"] == "added" and listed.items[0]["owner"] == "analyst@free.com"


def test_inspect_gives_preview_without_storing(services, analyst):
    inspection = services.files.inspect(analyst, "t.csv", make_csv(30))
    assert inspection.rows == 30 and len(inspection.preview) == 20
    assert inspection.preview["id"].iloc[0] == "1790000000000000000"  # 19-digit ids intact
    assert _state(services) == (0, 0, [])


def _assert_refused(services, actor, name, content, match):
    before = _state(services)
    with pytest.raises(InvalidDataset, match=match):
        services.files.add(actor, name, content)
    assert _state(services) == before


@pytest.fixture
def stored_one(services, analyst):
    services.files.add(analyst, "first.csv", make_csv(3))
    return _state(services)


def test_empty_file(services, analyst, stored_one):
    _assert_refused(services, analyst, "e.csv", b"", "empty")
    _assert_refused(services, analyst, "e.csv", b"\n  \n", "empty")


def test_header_only(services, analyst, stored_one):
    _assert_refused(services, analyst, "h.csv", make_csv([]), "header but no rows")


def test_missing_full_text(services, analyst, stored_one):
    content = make_csv(3, columns=["id", "created_at", "screen_name"])
    _assert_refused(services, analyst, "m.csv", content, "no column 'full_text'")


def test_wrong_delimiter_semicolon_is_handled(services, analyst):
    content = make_csv(4, delimiter=";")
    file, _ = services.files.add(analyst, "semi.csv", content)
    stored = pd.read_csv(services.storage.path("datasets", file.uid), dtype=str, keep_default_na=False)
    assert len(stored) == 4 and stored["full_text"].iloc[0].startswith("@free réseau")
    assert file.data.delimiter == ";" and any("separated by ';'" in w for w in file.data.warnings)


def test_unparseable_delimiter_is_refused(services, analyst):
    text = b"id full_text\n1 hello\n"
    _assert_refused(services, analyst, "space.csv", text, "no column")


def test_latin1_file_is_decoded(services, analyst):
    rows = [tweet_row(0, "Facture erronée, très déçu du service clientèle")]
    file, _ = services.files.add(analyst, "latin.csv", make_csv(rows, encoding="latin-1"))
    stored = services.storage.path("datasets", file.uid).read_text(encoding="utf-8")
    assert "Facture erronée, très déçu" in stored
    assert file.data.encoding in ("cp1252", "latin-1") and file.data.warnings


def test_declared_encoding_wrong_is_a_clear_error(services, analyst):
    with pytest.raises(InvalidDataset, match="cannot be read as ascii"):
        services.files.add(analyst, "x.csv", make_csv([tweet_row(0, "éé")]), encoding="ascii")


def test_utf8_bom(services, analyst):
    file, _ = services.files.add(analyst, "bom.csv", b"\xef\xbb\xbf" + make_csv(2))
    stored = pd.read_csv(services.storage.path("datasets", file.uid), dtype=str, keep_default_na=False)
    assert list(stored.columns)[0] == "id" and len(stored) == 2


def test_quoted_newlines(services, analyst):
    rows = [tweet_row(0, "ligne 1\nligne 2, avec virgule"), tweet_row(1, 'il a dit "bonjour"\r\nfin')]
    file, _ = services.files.add(analyst, "nl.csv", make_csv(rows))
    assert file.data.rows == 2
    stored = pd.read_csv(services.storage.path("datasets", file.uid), dtype=str, keep_default_na=False)
    assert stored["full_text"].iloc[0] == "ligne 1\nligne 2, avec virgule"


def test_binary_renamed_csv(services, analyst, stored_one):
    png = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 10
    _assert_refused(services, analyst, "photo.csv", png, "binary")


def test_not_a_csv_name(services, analyst, stored_one):
    _assert_refused(services, analyst, "tweets.xlsx", make_csv(2), "not a .csv file")


def test_file_over_size_limit(services, admin, analyst, stored_one, tmp_path):
    services.settings.update_general(admin, maxUploadMB=1)
    big = tmp_path / "big.csv"
    row = make_csv(1).split(b"\n", 1)[1]
    big.write_bytes(make_csv(1) + row * (1024 * 1024 // len(row) + 10))
    _assert_refused(services, analyst, "big.csv", big, r"limit is 1 MB")


def test_path_traversal_in_name(services, analyst):
    file, _ = services.files.add(analyst, "../../etc/passwd.csv", make_csv(2))
    assert file.data.filename == "passwd.csv"
    assert services.storage.path("datasets", file.uid).exists()
    assert not (services.storage.root.parent / "etc").exists()
    file2, _ = services.files.add(analyst, "..\\..\\win.csv", make_csv(3))
    assert file2.data.filename == "win.csv"


def test_storage_paths_refuse_non_uids(services):
    for bad in ("../x", "a/b", "", "ABC"):
        with pytest.raises(ValueError):
            services.storage.path("datasets", bad)


def test_duplicate_upload(services, analyst):
    content = make_csv(4)
    first, _ = services.files.add(analyst, "a.csv", content)
    before = _state(services)
    with pytest.raises(DuplicateDataset, match="already uploaded as 'a.csv'") as exc:
        services.files.add(analyst, "b.csv", content)
    assert exc.value.existing_uid == first.uid
    shown = services.settings.local_time(first.createdAt)  # the app's time zone (Europe/Paris), as the list
    assert f"{shown:%Y-%m-%d %H:%M}" in str(exc.value) and shown.utcoffset().total_seconds() > 0
    assert _state(services) == before
    again, _ = services.files.add(analyst, "b.csv", content, allow_duplicate=True)
    assert again.uid != first.uid


def test_ragged_row_reports_line(services, analyst, stored_one):
    content = make_csv(3, columns=["id", "full_text"]) + b'9,"extra",field,here\n'
    _assert_refused(services, analyst, "r.csv", content, "Row 5 has 4 fields")


def test_storage_failure_leaves_nothing(services, analyst, monkeypatch):
    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(services.tasks, "create_for_file", boom)
    before = _state(services)
    with pytest.raises(RuntimeError):
        services.files.add(analyst, "x.csv", make_csv(2))
    assert _state(services) == before


def test_delete_removes_everything(services, analyst):
    file, task = services.files.add(analyst, "a.csv", make_csv(2))
    for kind in ("cleaned", "analysed"):
        services.storage.path(kind, file.uid).write_text("id\n1\n")
    services.files.delete(analyst, file.uid)
    assert _state(services) == (0, 0, [])
    assert not services.storage.path("cleaned", file.uid).exists()
    assert services.tasks.find(task.uid) is None
    with pytest.raises(NotFound):
        services.files.get(analyst, file.uid)


def test_delete_refused_while_processing(services, analyst):
    file, task = services.files.add(analyst, "a.csv", make_csv(2))
    services.tasks.request(analyst, task.uid, "start")
    with pytest.raises(Conflict, match="stop its task first"):
        services.files.delete(analyst, file.uid)
    services.tasks.request(analyst, task.uid, "stop")
    services.files.delete(analyst, file.uid)


def test_download_paths(services, analyst):
    file, _ = services.files.add(analyst, "a.csv", make_csv(2))
    assert services.files.path(analyst, file.uid) == services.storage.path("datasets", file.uid)
    with pytest.raises(NotFound, match="does not exist yet"):
        services.files.path(analyst, file.uid, "analysed")


def test_maintenance_blocks_adding(services, admin, analyst):
    services.settings.update_general(admin, isMaintenance=True)
    with pytest.raises(MaintenanceMode):
        services.files.add(analyst, "a.csv", make_csv(2))


def test_path_source(services, analyst, tmp_path: Path):
    src = tmp_path / "upload.bin"
    src.write_bytes(make_csv(3))
    file, _ = services.files.add(analyst, "from-disk.csv", src)
    assert file.data.rows == 3


def test_downloads_are_spreadsheet_safe_unless_raw_is_asked(services, analyst):
    data = (b'id,created_at,full_text,screen_name\n'
            b'1,2025-09-07 09:00:00,"=HYPERLINK(""http://evil"",""x"")",alice\n'
            b'2,2025-09-07 09:01:00,@Freebox plus de co,@SUM(A1)\n')
    file, _ = services.files.add(analyst, "formulas.csv", data)
    path, neutralised = services.files.download(analyst, file.uid)
    assert neutralised == 2
    text = path.read_text(encoding="utf-8")
    assert "'=HYPERLINK" in text and "'@SUM(A1)" in text and ",@Freebox plus de co," in text
    raw, count = services.files.download(analyst, file.uid, raw=True)
    assert count == 0 and raw.read_bytes() == data  # the exact stored bytes, for code
    again, _ = services.files.download(analyst, file.uid)
    assert again == path  # cached until the stored file changes
    services.files.delete(analyst, file.uid)
    assert not path.exists()


def test_a_clean_download_is_the_stored_file_itself(services, analyst):
    file, _ = services.files.add(analyst, "clean.csv", make_csv(3))
    path, neutralised = services.files.download(analyst, file.uid)
    assert neutralised == 0 and path == services.files.path(analyst, file.uid)
