"""Datasets: inspect an upload, add it (stored file + file document + task), list, download paths, delete."""

from __future__ import annotations

import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from dallosh.db import new_uid
from dallosh.errors import Conflict, DuplicateDataset, MaintenanceMode, NotFound, ValidationError
from dallosh.lifecycle import ACTIVE, status_words
from dallosh.schemas import FileData, Record, TaskData, dump
from dallosh.services.base import Actor, Page, Service, audited, authorize_owner
from dallosh.storage import DATASETS, KINDS

if TYPE_CHECKING:
    from dallosh.datasets import DatasetInspection

COLLECTION = "files"
#: What a user reads when a dataset is gone (deleted meanwhile, maybe in another tab): no id, what to do.
DATASET_GONE = "This dataset no longer exists: it was deleted. Refresh the list."


class FilesService(Service):
    def _max_bytes(self) -> int:
        return self.ctx.settings.general().maxUploadMB * 1024 * 1024

    def inspect(self, actor: Actor, filename: str, source: bytes | Path, *, encoding: str | None = None
                ) -> DatasetInspection:
        """Validate an upload and return its preview; stores nothing."""
        self.authorize(actor, "manage_datasets")
        from dallosh.datasets import inspect_csv  # pandas is imported only when a file is really parsed

        return inspect_csv(source, filename, max_bytes=self._max_bytes(), encoding=encoding)

    def find_duplicate(self, sha256: str) -> Record[FileData] | None:
        doc = self.db.find_one(COLLECTION, {"data.sha256": sha256})
        return Record.from_doc(FileData, doc) if doc else None

    @audited("files.add", target=lambda a, k, r: f"files/{r[0].uid}")
    def add(self, actor: Actor, filename: str, source: bytes | Path, *, encoding: str | None = None,
            allow_duplicate: bool = False) -> tuple[Record[FileData], Record[TaskData]]:
        """Store a validated upload as ``datasets/<uid>.csv`` and create its task (status ``added``).

        The file is written atomically and removed again if the documents cannot be stored, so a failure
        leaves nothing half-added.
        """
        actor = self.authorize(actor, "manage_datasets")
        if self.ctx.settings.general().isMaintenance:
            raise MaintenanceMode("The app is in maintenance: adding datasets is paused. Try again later.")
        from dallosh.datasets import inspect_csv, write_normalised

        inspection = inspect_csv(source, filename, max_bytes=self._max_bytes(), encoding=encoding)
        existing = self.find_duplicate(inspection.sha256)
        if existing and not allow_duplicate:
            when = self.ctx.settings.local_time(existing.createdAt)  # the app's time zone, as the list shows it
            raise DuplicateDataset(
                f"This file was already uploaded as {existing.data.filename!r} on {when:%Y-%m-%d %H:%M}. Open "
                "that dataset, or confirm to add it again.", existing.uid)
        uid = new_uid()
        storage = self.ctx.storage
        target = storage.path(DATASETS, uid)
        with storage.atomic_write(target) as tmp:
            size = write_normalised(inspection, source, tmp)
        data = FileData(filename=inspection.filename, size=size, file_path=storage.relative(target),
                        extension="csv", type="text/csv", rows=inspection.rows, columns=inspection.columns,
                        encoding=inspection.encoding, delimiter=inspection.delimiter, sha256=inspection.sha256,
                        warnings=inspection.warnings)
        try:
            file_doc = self.db.insert(COLLECTION, dump(data), by=actor.uid, uid=uid)
            task = self.ctx.tasks.create_for_file(actor, Record.from_doc(FileData, file_doc))
            file_doc = self.db.update(COLLECTION, uid, {"task_id": task.uid}, by=actor.uid) or file_doc
        except Exception:
            target.unlink(missing_ok=True)
            self.db.delete(COLLECTION, uid)
            raise
        return Record.from_doc(FileData, file_doc), task

    def list(self, actor: Actor, *, search: str = "", skip: int = 0, limit: int = 50) -> Page[dict[str, Any]]:
        """Datasets newest first, each with its task status and owner email (for the datasets table)."""
        self.authorize(actor, "read_datasets", "manage_datasets")
        query: dict[str, Any] = {}
        if search:
            query["data.filename"] = {"$regex": re.escape(search), "$options": "i"}
        total = self.db.count(COLLECTION, query)
        docs = self.db.find(COLLECTION, query, sort=[("createdAt", -1)], skip=max(0, skip), limit=max(1, limit))
        task_ids = [d["data"].get("task_id") for d in docs if d["data"].get("task_id")]
        tasks = {t["uid"]: t for t in self.db.find("tasks", {"uid": {"$in": task_ids}})} if task_ids else {}
        owners = {d["createdBy"] for d in docs}
        emails = {u["uid"]: u["data"]["email"]
                  for u in self.db.find("users", {"uid": {"$in": list(owners)}}, projection=["data.email"])}
        items = []
        for doc in docs:
            task = tasks.get(doc["data"].get("task_id", ""))
            items.append({"file": Record.from_doc(FileData, doc),
                          "status": task["data"]["status"] if task else "missing",
                          "task_id": task["uid"] if task else None,
                          "owner": emails.get(doc["createdBy"], doc["createdBy"]),
                          "available": {kind: self.ctx.storage.path(kind, doc["uid"]).exists() for kind in KINDS}})
        return Page(items, total, skip, limit)

    def get(self, actor: Actor, uid: str) -> Record[FileData]:
        self.authorize(actor, "read_datasets", "manage_datasets")
        doc = self.db.get(COLLECTION, uid)
        if doc is None:
            raise NotFound(DATASET_GONE)
        return Record.from_doc(FileData, doc)

    def path(self, actor: Actor, uid: str, kind: str = DATASETS) -> Path:
        """Path of the original, cleaned or analysed CSV, for download or analysis."""
        self.get(actor, uid)
        if kind not in KINDS:
            raise ValidationError("kind", f"must be one of {', '.join(KINDS)}")
        path = self.ctx.storage.path(kind, uid)
        if not path.exists():
            raise NotFound(f"The {kind} file of this dataset does not exist yet; run its task first.")
        return path

    def download(self, actor: Actor, uid: str, kind: str = DATASETS, *, raw: bool = False) -> tuple[Path, int]:
        """The file to hand to a person, and how many cells were neutralised for spreadsheets.

        Spreadsheet-safe by default (``dallosh.spreadsheet``: cells a spreadsheet would run as formulas get a
        leading apostrophe; a file without any is the stored file itself). ``raw=True`` gives the exact stored
        bytes, for code. The safe copy is kept in ``tmp/`` until the stored file changes.
        """
        from dallosh.spreadsheet import safe_copy

        path = self.path(actor, uid, kind)
        if raw:
            return path, 0
        stat = path.stat()
        tmp = self.ctx.storage.tmp_dir
        tmp.mkdir(parents=True, exist_ok=True)
        stem = f"safe-{uid}-{kind}-{stat.st_mtime_ns}-{stat.st_size}"
        copy, count_file = tmp / f"{stem}.csv", tmp / f"{stem}.count"
        if not (copy.exists() and count_file.exists()):
            for old in tmp.glob(f"safe-{uid}-{kind}-*"):
                old.unlink(missing_ok=True)
            with self.ctx.storage.atomic_write(copy) as staged:
                count = safe_copy(path, staged)
            count_file.write_text(str(count))
        count = int(count_file.read_text() or 0)
        return (copy if count else path), count

    @audited("files.delete", method="delete")
    def delete(self, actor: Actor, uid: str) -> None:
        """Remove the dataset, its derived files and its task. A task being processed must be stopped first.

        Only its owner, or a role with ``manage_all_datasets``, may delete it.
        """
        actor = self.authorize(actor, "manage_datasets")
        record = self.get(actor, uid)
        authorize_owner(actor, record.createdBy or "", f"The dataset {record.data.filename!r}")
        task = self.ctx.tasks.find_by_file(uid)
        if task and task.data.status in ACTIVE:
            raise Conflict(f"{record.data.filename!r} is being processed ({status_words(task.data.status)}); stop its "
                           "task first.")
        if task:
            self.ctx.tasks.remove(task.uid)
        self.ctx.storage.remove_all(uid)
        for copy in self.ctx.storage.tmp_dir.glob(f"safe-{uid}-*"):
            copy.unlink(missing_ok=True)
        self.db.delete_many("corrections", {"data.file_id": uid})
        self.db.delete(COLLECTION, uid)

    def count_owned(self, actor: Actor) -> int:
        """How many datasets the actor uploaded (the analyst overview's "your datasets")."""
        actor = self.authorize(actor, "read_datasets", "manage_datasets")
        return self.db.count(COLLECTION, {"createdBy": actor.uid})
