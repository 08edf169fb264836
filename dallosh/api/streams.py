"""Dataset files as the API serves them: the stored CSV, or the same table as an Arrow IPC stream.

Two Arrow shapes, both cached in the storage ``tmp`` folder until the stored file changes (its mtime and size
are in the cache name, so a reprocessed file is converted again and a stale copy is never served):

- ``arrow``: every cell as text, exactly what the CSV holds (``dallosh.datasets.read_dataset``), so converting it
  back gives the same table — for code that wants the raw data;
- ``typed`` (analysed files only): the frame ``analytics.load_analysed`` builds — ids as text, ``created_at`` as
  UTC timestamps, labels as categoricals, ``dataset`` named by the file's uid — so the Analysis view skips parsing
  CSV and dates altogether.
"""

from __future__ import annotations

from pathlib import Path

from dallosh.storage import ANALYSED, Storage

FORMATS = ("csv", "arrow", "typed")
#: Bytes read and written per chunk while streaming (keeps the API's memory flat whatever the file size).
STREAM_CHUNK = 1 << 20


def version_tag(path: Path) -> str:
    """An ETag for a stored file: changes whenever the file is rewritten."""
    stat = path.stat()
    return f"{stat.st_mtime_ns:x}-{stat.st_size:x}"


def _write_arrow(frame, target: Path) -> None:
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    with pa.OSFile(str(target), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table, max_chunksize=64 * 1024)


def arrow_file(storage: Storage, uid: str, kind: str, path: Path, fmt: str) -> Path:
    """The cached Arrow stream of ``path`` in format ``fmt`` (``arrow`` or ``typed``), converted if missing."""
    if fmt == "typed" and kind != ANALYSED:
        from dallosh.errors import ValidationError

        raise ValidationError("format", "typed is only available for analysed files; use arrow")
    tmp = storage.tmp_dir
    tmp.mkdir(parents=True, exist_ok=True)
    stem = f"{fmt}-{uid}-{kind}"
    target = tmp / f"{stem}-{version_tag(path)}.arrows"
    if target.exists():
        return target
    for old in tmp.glob(f"{stem}-*.arrows"):
        old.unlink(missing_ok=True)
    if fmt == "typed":
        from dallosh import analytics

        # ``dataset`` is the file's uid: the client renames it
        frame = analytics.load_analysed(path, keep_typed_copy=True)
    else:
        from dallosh.datasets import read_dataset

        frame = read_dataset(path)
    with storage.atomic_write(target) as staged:
        _write_arrow(frame, staged)
    return target
