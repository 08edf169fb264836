"""Chunked, resumable uploads: a client sends a file in pieces, then asks to inspect or add it.

``create`` announces the name and total size (refused above the settings' ``maxUploadMB`` before one byte is
sent); each ``write`` must start where the stored part ends, so a client whose connection broke asks ``status``
for the offset and continues from there. Parts live in the storage ``tmp`` folder as ``api-upload-<id>.part``
with a JSON sidecar naming their owner: only the user who started an upload can write, inspect or add it.
Unfinished parts older than ``STALE_UPLOAD_S`` are removed whenever a new upload starts.
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import asdict, dataclass
from pathlib import Path

from dallosh.errors import Conflict, NotFound, ValidationError
from dallosh.services import Actor

#: Parts left by clients that never finished (a closed notebook) are removed after a day.
STALE_UPLOAD_S = 24 * 3600
#: Largest single chunk accepted: a request body is held in memory once, so it must stay small.
MAX_CHUNK_BYTES = 16 << 20


class UploadTooLarge(ValidationError):
    """The announced or received size passes the upload limit (HTTP 413)."""


@dataclass
class Upload:
    id: str
    owner: str
    filename: str
    size: int
    received: int = 0


class UploadStore:
    def __init__(self, folder: Path):
        self.folder = folder
        self._lock = threading.Lock()

    def _part(self, upload_id: str) -> Path:
        if not upload_id.isalnum():
            raise NotFound("No such upload.")
        return self.folder / f"api-upload-{upload_id}.part"

    def _meta(self, upload_id: str) -> Path:
        return self._part(upload_id).with_suffix(".json")

    def _save(self, upload: Upload) -> None:
        self._meta(upload.id).write_text(json.dumps(asdict(upload)))

    def _clean_stale(self) -> None:
        limit = time.time() - STALE_UPLOAD_S
        for meta in self.folder.glob("api-upload-*.json"):
            try:
                if meta.stat().st_mtime < limit:
                    meta.with_suffix(".part").unlink(missing_ok=True)
                    meta.unlink(missing_ok=True)
            except OSError:
                continue

    def create(self, actor: Actor, filename: str, size: int, max_bytes: int) -> Upload:
        if not isinstance(size, int) or size < 0:
            raise ValidationError("size", "must be the file's size in bytes")
        if size > max_bytes:
            raise UploadTooLarge("size", f"the file is {size / 1048576:.1f} MB; the limit is "
                                         f"{max_bytes // 1048576} MB. Split it or ask an administrator.")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._clean_stale()
        upload = Upload(secrets.token_hex(16), actor.uid, str(filename or "dataset.csv")[:300], size)
        self._part(upload.id).touch()
        self._save(upload)
        return upload

    def get(self, actor: Actor, upload_id: str) -> Upload:
        try:
            upload = Upload(**json.loads(self._meta(upload_id).read_text()))
        except (OSError, ValueError, TypeError):
            raise NotFound("No such upload; start it again.") from None
        if upload.owner != actor.uid:
            raise NotFound("No such upload; start it again.")  # another user's upload does not exist for you
        return upload

    def write(self, actor: Actor, upload_id: str, offset: int, data: bytes) -> Upload:
        """Append ``data`` at ``offset``, which must be where the stored part ends (resume from ``status``)."""
        if len(data) > MAX_CHUNK_BYTES:
            raise UploadTooLarge("chunk", f"chunks may hold at most {MAX_CHUNK_BYTES >> 20} MB")
        with self._lock:
            upload = self.get(actor, upload_id)
            if offset != upload.received:
                raise Conflict(f"This upload has {upload.received} bytes; send the chunk starting there.")
            if offset + len(data) > upload.size:
                raise UploadTooLarge("chunk", "the chunk goes past the announced size")
            fd = os.open(self._part(upload_id), os.O_WRONLY)
            try:
                os.pwrite(fd, data, offset)
            finally:
                os.close(fd)
            upload.received += len(data)
            self._save(upload)
            return upload

    def finished(self, actor: Actor, upload_id: str) -> tuple[Upload, Path]:
        upload = self.get(actor, upload_id)
        if upload.received != upload.size:
            raise Conflict(f"The upload is incomplete ({upload.received} of {upload.size} bytes); send the rest.")
        return upload, self._part(upload_id)

    def remove(self, actor: Actor, upload_id: str) -> None:
        self.get(actor, upload_id)
        self._part(upload_id).unlink(missing_ok=True)
        self._meta(upload_id).unlink(missing_ok=True)
