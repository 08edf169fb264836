"""Moving big files between the browser and the kernel over the widget channel, in chunks.

Why not ``ipywidgets.FileUpload``: it sends the whole file in one websocket message, and Tornado refuses frames
above 10 MiB unless the server's limit is raised; a 200 MB frame also has to sit in memory three times (browser,
server, kernel). ``ChunkedUploader`` sends 1 MiB binary chunks with at most ``WINDOW`` in flight (flow control
by acknowledgements), writes them with ``pwrite`` into ``upload-<id>.part`` in the storage root's ``tmp``
folder and hands the finished file to a callback, so the view can call
``services.files.inspect/add(actor, name, Path)``.

Why not a link: in the hub, files outside the notebooks folder have no URL, and adding a Tornado handler is not
the UI's business. ``Downloader`` streams a stored file to the browser in 4 MiB chunks that the page asks for
one window at a time, then saves them as a Blob through a temporary ``<a download>``. One mechanism serves small
and large files alike (a data URI would copy a 200 MB file into a string and fail long before).

Both widgets are driven from Python by ``handle(content, buffers)``, which is what the browser's messages call,
so tests exercise the real protocol without a browser.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

from dallosh.datasets import safe_display_name
from dallosh.ui.components import human_size

log = logging.getLogger(__name__)

#: Upload chunk: far below Tornado's 10 MiB websocket frame limit, big enough that 200 MB is 200 round trips.
UPLOAD_CHUNK = 1 << 20
#: Download chunk: kernel → browser frames are not size-limited, larger chunks mean fewer round trips.
DOWNLOAD_CHUNK = 4 << 20
#: Chunks in flight in either direction: hides the round-trip latency without flooding the kernel.
WINDOW = 4
#: Unfinished uploads older than this are removed when a new uploader starts (tabs closed mid-upload).
STALE_UPLOAD_S = 24 * 3600

UPLOADER_JS = r"""
function render({ model, el }) {
  el.classList.add("dl-uploader");
  el.innerHTML = `
    <div class="dl-uploader-row">
      <label class="dl-uploader-pick" role="button" tabindex="0">
        <span class="dl-uploader-label"></span>
        <input type="file" style="display:none">
      </label>
      <span class="dl-uploader-hint"></span>
      <button class="dl-uploader-cancel" type="button" style="display:none">Cancel</button>
    </div>
    <div class="dl-uploader-track" style="display:none"><div class="dl-uploader-fill"></div></div>
    <div class="dl-uploader-status" aria-live="polite"></div>`;
  const input = el.querySelector("input");
  const pick = el.querySelector(".dl-uploader-pick");
  const cancel = el.querySelector(".dl-uploader-cancel");
  const track = el.querySelector(".dl-uploader-track");
  const fill = el.querySelector(".dl-uploader-fill");
  const status = el.querySelector(".dl-uploader-status");
  let job = null;

  function update() {
    el.querySelector(".dl-uploader-label").textContent = model.get("label");
    el.querySelector(".dl-uploader-hint").textContent = model.get("hint");
    input.accept = model.get("accept");
    const busy = model.get("busy"), disabled = model.get("disabled");
    pick.setAttribute("aria-disabled", String(busy || disabled));
    input.disabled = busy || disabled;
    cancel.style.display = job ? "" : "none";
    track.style.display = busy ? "" : "none";
    fill.style.width = (100 * model.get("progress")).toFixed(1) + "%";
    status.textContent = model.get("status");
    status.classList.toggle("dl-error", model.get("error"));
  }

  function begin(file) {
    if (!file || job || model.get("busy") || model.get("disabled")) return;
    job = { file, id: null, next: 0, inflight: 0, cancelled: false };
    model.send({ type: "start", name: file.name, size: file.size });
    update();
  }

  async function pump() {
    while (job && job.id && !job.cancelled && job.inflight < model.get("window") && job.next < job.file.size) {
      const current = job, start = current.next;
      const end = Math.min(start + model.get("chunk_size"), current.file.size);
      current.next = end; current.inflight++;
      const buffer = await current.file.slice(start, end).arrayBuffer();
      if (current.cancelled || job !== current) return;
      model.send({ type: "chunk", id: current.id, offset: start }, undefined, [buffer]);
    }
  }

  model.on("msg:custom", (msg) => {
    if (!job || (msg.id && job.id && msg.id !== job.id)) return;
    if (msg.type === "ready") {
      job.id = msg.id;
      if (job.file.size === 0) model.send({ type: "finish", id: job.id }); else pump();
    } else if (msg.type === "ack") {
      job.inflight--;
      if (msg.received >= job.file.size) model.send({ type: "finish", id: job.id }); else pump();
    } else if (msg.type === "done" || msg.type === "error") {
      job = null; input.value = ""; update();
    }
  });

  input.addEventListener("change", () => begin(input.files[0]));
  pick.addEventListener("keydown", (e) => { if (e.key === "Enter" || e.key === " ") input.click(); });
  cancel.addEventListener("click", () => {
    if (!job) return;
    job.cancelled = true;
    model.send({ type: "cancel", id: job.id });
    job = null; input.value = ""; update();
  });
  el.addEventListener("dragover", (e) => { e.preventDefault(); el.classList.add("dl-drag"); });
  el.addEventListener("dragleave", () => el.classList.remove("dl-drag"));
  el.addEventListener("drop", (e) => {
    e.preventDefault(); el.classList.remove("dl-drag");
    if (e.dataTransfer.files.length) begin(e.dataTransfer.files[0]);
  });
  model.on("change", update);
  update();
  // A new view of a busy uploader means the page that was sending is gone: let the kernel reset.
  if (model.get("busy")) model.send({ type: "abandon" });
}
export default { render };
"""

DOWNLOADER_JS = r"""
function render({ model, el }) {
  el.classList.add("dl-downloader");
  let job = null;
  const update = () => { el.textContent = model.get("status"); };
  function request() {
    while (job && job.inflight < model.get("window") && job.next < job.size) {
      model.send({ type: "next", id: job.id, offset: job.next });
      job.next += model.get("chunk_size"); job.inflight++;
    }
  }
  function save() {
    const ordered = [...job.parts.entries()].sort((a, b) => a[0] - b[0]).map((e) => e[1]);
    const blob = new Blob(ordered, { type: job.mime });
    const url = URL.createObjectURL(blob);
    const a = document.createElement("a");
    a.href = url; a.download = job.name; a.style.display = "none";
    document.body.appendChild(a); a.click(); a.remove();
    setTimeout(() => URL.revokeObjectURL(url), 60000);
    model.send({ type: "complete", id: job.id, bytes: blob.size });
    job = null;
  }
  model.on("msg:custom", (msg, buffers) => {
    if (msg.type === "begin") {
      job = { id: msg.id, name: msg.name, size: msg.size, mime: msg.mime, next: 0, inflight: 0, got: 0,
              parts: new Map() };
      if (job.size === 0) save(); else request();
    } else if (msg.type === "data" && job && msg.id === job.id) {
      const view = buffers[0];
      job.parts.set(msg.offset, new Uint8Array(view.buffer, view.byteOffset, view.byteLength).slice());
      job.got += view.byteLength; job.inflight--;
      if (job.got >= job.size) save(); else request();
    } else if (msg.type === "abort" && job && msg.id === job.id) {
      job = null;
    }
  });
  model.on("change:status", update);
  update();
}
export default { render };
"""


class ChunkedUploader(anywidget.AnyWidget):
    """A file picker (and drop zone) that uploads in acknowledged chunks to a temporary file in storage/tmp.

    ``on_complete(name, path)`` runs in the kernel when the last byte is written; the callee owns ``path``
    from then on (and deletes it when done).
    """

    _esm = UPLOADER_JS
    label = t.Unicode("Choose a CSV file").tag(sync=True)
    hint = t.Unicode("").tag(sync=True)
    accept = t.Unicode(".csv,text/csv").tag(sync=True)
    chunk_size = t.Int(UPLOAD_CHUNK).tag(sync=True)
    window = t.Int(WINDOW).tag(sync=True)
    #: Shown by the page; the kernel enforces its own copy (``limit``): a synced trait is the browser's to change.
    max_bytes = t.Int(0).tag(sync=True)
    progress = t.Float(0.0).tag(sync=True)
    status = t.Unicode("").tag(sync=True)
    error = t.Bool(False).tag(sync=True)
    busy = t.Bool(False).tag(sync=True)
    disabled = t.Bool(False).tag(sync=True)

    def __init__(self, tmp_dir: Path, on_complete: Callable[[str, Path], None], *, max_bytes: int, **kwargs: Any):
        super().__init__(max_bytes=max_bytes, **kwargs)
        #: The upload limit in bytes, from the settings; never taken from the page.
        self.limit = max_bytes
        self.tmp_dir = Path(tmp_dir)
        self.on_complete = on_complete
        self._job: dict[str, Any] | None = None
        self._lock = threading.Lock()
        #: Seconds the last completed upload took (shown to the user, read by the benchmark).
        self.last_upload_s: float | None = None
        self.hint = f"or drop it here · up to {human_size(max_bytes)}"
        self.on_msg(lambda _w, content, buffers: self.handle(content, buffers))
        remove_stale_uploads(self.tmp_dir)

    # -- protocol (the browser's messages) -----------------------------------------------------------------

    def handle(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        """Dispatch one message from the page: start, chunk, finish or cancel."""
        kind = content.get("type")
        try:
            if kind == "start":
                self._start(str(content.get("name") or ""), int(content.get("size") or 0))
            elif kind == "chunk":
                self._chunk(content.get("id"), int(content.get("offset", -1)), (buffers or [b""])[0])
            elif kind == "finish":
                self._finish(content.get("id"))
            elif kind == "cancel":
                self.cancel("Upload cancelled.")
            elif kind == "abandon":
                self.cancel("The upload was interrupted (the page was reloaded or closed). Choose the file again.")
        except Exception as exc:  # noqa: BLE001 - any failure must reach the page as a message, not a traceback
            log.exception("upload failed")
            self._fail(f"The upload failed ({type(exc).__name__}). Try again.")

    def _start(self, name: str, size: int) -> None:
        if self.disabled:
            self.send({"type": "error", "message": "Uploads are disabled."})
            return
        self.cancel()
        display = safe_display_name(name)
        if size > self.limit or size < 0:
            self._fail(f"{display} is {human_size(size)}; the limit is {human_size(self.limit)}. Split the file, "
                       "or ask an administrator to raise the upload limit in Settings.")
            return
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        upload_id = uuid.uuid4().hex
        path = self.tmp_dir / f"upload-{upload_id}.part"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with self._lock:
            self._job = {"id": upload_id, "name": display, "size": size, "path": path, "fd": fd, "received": 0,
                         "offsets": set(), "started": time.perf_counter()}
        self.busy, self.error, self.progress = True, False, 0.0
        self.status = f"Uploading {display} ({human_size(size)})…"
        self.send({"type": "ready", "id": upload_id})

    def _chunk(self, upload_id: Any, offset: int, data: Any) -> None:
        with self._lock:
            job = self._job
            if job is None or job["id"] != upload_id:
                return  # a chunk of a cancelled upload still in flight
            payload = memoryview(data).cast("B") if not isinstance(data, bytes) else data
            # Never write past the announced size (itself within the limit): a page that lies stops here.
            if offset < 0 or offset in job["offsets"] or offset + len(payload) > min(job["size"], self.limit):
                raise ValueError(f"unexpected chunk at offset {offset}")
            os.pwrite(job["fd"], payload, offset)
            job["offsets"].add(offset)
            job["received"] += len(payload)
            received = job["received"]
        self.progress = received / job["size"] if job["size"] else 1.0
        self.send({"type": "ack", "id": upload_id, "offset": offset, "received": received})

    def _finish(self, upload_id: Any) -> None:
        with self._lock:
            job = self._job
            if job is None or job["id"] != upload_id:
                return
            self._job = None
            os.close(job["fd"])
        if job["received"] != job["size"]:
            job["path"].unlink(missing_ok=True)
            self._fail(f"The upload of {job['name']} was incomplete; try again.")
            return
        seconds = time.perf_counter() - job["started"]
        self.last_upload_s = seconds
        self.busy, self.progress = False, 1.0
        self.status = f"Uploaded {job['name']} ({human_size(job['size'])}) in {seconds:.1f} s."
        self.send({"type": "done", "id": upload_id})
        self.on_complete(job["name"], job["path"])

    def cancel(self, message: str = "") -> None:
        """Abandon the upload in progress (if any) and delete its partial file."""
        with self._lock:
            job, self._job = self._job, None
        if job is not None:
            try:
                os.close(job["fd"])
            except OSError:
                pass
            job["path"].unlink(missing_ok=True)
        self.busy, self.progress = False, 0.0
        if message:
            self.error, self.status = False, message

    def _fail(self, message: str) -> None:
        self.cancel()
        self.error, self.status = True, message
        self.send({"type": "error", "message": message})

    def close(self) -> None:
        self.cancel()
        super().close()


def remove_stale_uploads(tmp_dir: Path, max_age: float = STALE_UPLOAD_S) -> int:
    """Delete leftovers of uploads abandoned long ago (a closed tab never sends cancel)."""
    removed, limit = 0, time.time() - max_age
    for path in Path(tmp_dir).glob("upload-*"):
        try:
            if path.stat().st_mtime < limit:
                path.unlink()
                removed += 1
        except OSError:
            pass
    return removed


class Downloader(anywidget.AnyWidget):
    """Streams one stored file at a time to the browser, which saves it under ``filename``."""

    _esm = DOWNLOADER_JS
    chunk_size = t.Int(DOWNLOAD_CHUNK).tag(sync=True)
    window = t.Int(WINDOW).tag(sync=True)
    status = t.Unicode("").tag(sync=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self._job: dict[str, Any] | None = None
        self.completed: list[tuple[str, int]] = []
        self.on_msg(lambda _w, content, buffers: self.handle(content, buffers))

    def start(self, path: Path, filename: str, mime: str = "text/csv") -> str:
        """Begin sending ``path``; the browser pulls the chunks. Returns the transfer id."""
        self._abort()
        size = Path(path).stat().st_size
        job_id = uuid.uuid4().hex
        self._job = {"id": job_id, "path": Path(path), "name": filename, "size": size,
                     "fh": open(path, "rb")}  # noqa: SIM115 - kept open across messages, closed on completion
        self.status = f"Preparing {filename} ({human_size(size)})…"
        self.send({"type": "begin", "id": job_id, "name": filename, "size": size, "mime": mime})
        return job_id

    def read_chunk(self, job_id: str, offset: int) -> bytes | None:
        job = self._job
        if job is None or job["id"] != job_id or offset < 0 or offset >= max(job["size"], 1):
            return None
        job["fh"].seek(offset)
        return job["fh"].read(self.chunk_size)

    def handle(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        kind, job = content.get("type"), self._job
        if kind == "next":
            data = self.read_chunk(str(content.get("id")), int(content.get("offset", -1)))
            if data is not None and job is not None:
                self.send({"type": "data", "id": job["id"], "offset": int(content["offset"])}, buffers=[data])
                sent = min(job["size"], int(content["offset"]) + len(data))
                self.status = f"Downloading {job['name']}… {100 * sent / max(job['size'], 1):.0f}%"
        elif kind == "complete" and job is not None and content.get("id") == job["id"]:
            self.completed.append((job["name"], int(content.get("bytes", 0))))
            self.status = f"Saved {job['name']} ({human_size(job['size'])})."
            self._close_job()

    def _close_job(self) -> None:
        job, self._job = self._job, None
        if job is not None:
            job["fh"].close()

    def _abort(self) -> None:
        if self._job is not None:
            self.send({"type": "abort", "id": self._job["id"]})
            self._close_job()

    def close(self) -> None:
        self._close_job()
        super().close()
