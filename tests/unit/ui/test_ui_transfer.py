"""The chunked uploader and the downloader, driven through the same messages the browser sends."""

from __future__ import annotations

import os
import time

from dallosh.ui.transfer import ChunkedUploader, Downloader, remove_stale_uploads


def recording(widget) -> list[dict]:
    messages: list[dict] = []
    widget.send = lambda content, buffers=None: messages.append({**content, "_buffers": buffers})
    return messages


def uploader(tmp_path, max_bytes=1000):
    done = []
    widget = ChunkedUploader(tmp_path, lambda name, path: done.append((name, path)), max_bytes=max_bytes)
    return widget, recording(widget), done


def test_chunks_in_any_order_make_the_file(tmp_path):
    widget, messages, done = uploader(tmp_path)
    payload = bytes(range(256)) * 3
    widget.handle({"type": "start", "name": "../../etc/oct.csv", "size": len(payload)})
    ready = messages[-1]
    assert ready["type"] == "ready" and widget.busy
    for offset in (512, 0, 256):  # the browser reads slices concurrently; arrival order may differ
        widget.handle({"type": "chunk", "id": ready["id"], "offset": offset}, [payload[offset:offset + 256]])
    assert [m["received"] for m in messages if m["type"] == "ack"] == [256, 512, 768]
    assert widget.progress == 1.0
    widget.handle({"type": "finish", "id": ready["id"]})
    ((name, path),) = done
    assert name == "oct.csv"  # a display name, never a path
    assert path.parent == tmp_path and path.read_bytes() == payload
    assert not widget.busy and "Uploaded oct.csv" in widget.status and messages[-1]["type"] == "done"


def test_too_big_is_refused_before_any_byte(tmp_path):
    widget, messages, done = uploader(tmp_path, max_bytes=100)
    widget.handle({"type": "start", "name": "big.csv", "size": 101})
    assert messages[-1]["type"] == "error" and widget.error and "limit" in widget.status
    assert list(tmp_path.iterdir()) == [] and done == []


def test_the_page_cannot_raise_the_limit(tmp_path):
    widget, messages, done = uploader(tmp_path, max_bytes=100)
    widget.set_state({"max_bytes": 10**15})  # what a browser sending a widget update does
    assert widget.max_bytes == 10**15
    widget.handle({"type": "start", "name": "big.csv", "size": 10**9})
    assert messages[-1]["type"] == "error" and "limit is 100 B" in widget.status
    widget.handle({"type": "start", "name": "ok.csv", "size": 100})  # positive control: within the limit
    ready = messages[-1]
    assert ready["type"] == "ready"
    widget.handle({"type": "chunk", "id": ready["id"], "offset": 0}, [b"x" * 150])  # more than it announced
    assert messages[-1]["type"] == "error" and done == [] and list(tmp_path.iterdir()) == []


def test_incomplete_or_cancelled_uploads_leave_nothing(tmp_path):
    widget, messages, done = uploader(tmp_path)
    widget.handle({"type": "start", "name": "a.csv", "size": 10})
    upload_id = messages[-1]["id"]
    widget.handle({"type": "chunk", "id": upload_id, "offset": 0}, [b"12345"])
    widget.handle({"type": "finish", "id": upload_id})
    assert "incomplete" in widget.status and list(tmp_path.iterdir()) == [] and done == []
    widget.handle({"type": "start", "name": "a.csv", "size": 10})
    widget.handle({"type": "chunk", "id": messages[-1]["id"], "offset": 0}, [b"12345"])
    widget.handle({"type": "cancel", "id": messages[-1]["id"]})
    assert widget.status == "Upload cancelled." and list(tmp_path.iterdir()) == []
    widget.handle({"type": "start", "name": "a.csv", "size": 10})
    widget.handle({"type": "abandon"})  # a re-rendered view found the uploader busy: its sender is gone
    assert not widget.busy and "interrupted" in widget.status and list(tmp_path.iterdir()) == []


def test_a_bad_chunk_fails_the_upload_without_traceback(tmp_path):
    widget, messages, _ = uploader(tmp_path)
    widget.handle({"type": "start", "name": "a.csv", "size": 4})
    widget.handle({"type": "chunk", "id": messages[-1]["id"], "offset": 2}, [b"12345"])  # past the end
    assert widget.error and "failed" in widget.status and messages[-1]["type"] == "error"
    assert list(tmp_path.iterdir()) == []


def test_disabled_uploader_refuses(tmp_path):
    widget, messages, _ = uploader(tmp_path)
    widget.disabled = True
    widget.handle({"type": "start", "name": "a.csv", "size": 4})
    assert messages[-1]["type"] == "error"


def test_stale_partial_uploads_are_removed(tmp_path):
    old, fresh = tmp_path / "upload-old.part", tmp_path / "upload-new.part"
    old.write_bytes(b"x")
    fresh.write_bytes(b"x")
    os.utime(old, (time.time() - 3 * 86400,) * 2)
    assert remove_stale_uploads(tmp_path) == 1
    assert fresh.exists() and not old.exists()


def test_downloader_serves_chunks_and_records_completion(tmp_path):
    data = os.urandom(10_000)
    path = tmp_path / "x.csv"
    path.write_bytes(data)
    widget = Downloader(chunk_size=4096)
    messages = recording(widget)
    job = widget.start(path, "x-analysed.csv")
    assert messages[0] == {"type": "begin", "id": job, "name": "x-analysed.csv", "size": 10_000, "mime": "text/csv",
                           "_buffers": None}
    parts = {}
    for offset in (8192, 0, 4096):
        widget.handle({"type": "next", "id": job, "offset": offset})
        parts[messages[-1]["offset"]] = messages[-1]["_buffers"][0]
    assert b"".join(parts[o] for o in sorted(parts)) == data
    widget.handle({"type": "next", "id": "other", "offset": 0})
    assert len(messages) == 4  # unknown transfers are ignored
    widget.handle({"type": "complete", "id": job, "bytes": 10_000})
    assert widget.completed == [("x-analysed.csv", 10_000)] and "Saved" in widget.status
