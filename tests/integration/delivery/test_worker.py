"""The notify worker: ``dallosh worker`` starts it next to the task worker; it runs RQ's scheduler (jobs enqueued
for later run at their time); it purges old sent deliveries and unused stored messages."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

from dallosh.db import utcnow
from dallosh.delivery import JOB_FUNCTION, Message, notify_queue, webhook_body
from dallosh.processes import kill_tree
from dallosh.services import SYSTEM
from tests.integration.delivery.conftest import ROOT, wait_for


def _webhook_record(services, url: str) -> str:
    return services.db.insert("deliveries", {"kind": "webhook", "target": url, "subject": "T", "status": "queued",
                                             "attempts": 0, "lastError": "", "origin": {"test": "worker"},
                                             "message": "", "payload": webhook_body("T", "scheduled"),
                                             "jobId": ""}, by=SYSTEM.uid)["uid"]


def test_jobs_enqueued_for_later_run_at_their_time(services, config, hook, notify_workers):
    notify_workers.start()
    uid = _webhook_record(services, hook.url)
    queued_at = time.time()  # RQ schedules on the wall clock
    notify_queue(config).enqueue_in(timedelta(seconds=2), JOB_FUNCTION, uid)
    hook.wait(1, timeout=30)
    assert time.time() - queued_at >= 1  # RQ keeps the due time in whole seconds: up to 1 s early
    wait_for(lambda: services.db.get("deliveries", uid)["data"]["status"] == "sent", 10, "the scheduled post")


def test_dallosh_worker_also_serves_the_notify_queue(services, config, hook, tmp_path):
    uid = _webhook_record(services, hook.url)
    notify_queue(config).enqueue(JOB_FUNCTION, uid)
    env = {**os.environ, "DALLOSH_MONGODB_URI": config.mongodb_uri, "DALLOSH_MONGODB_DATABASE": config.mongodb_database,
           "DALLOSH_STORAGE_ROOT": str(config.storage_root), "DALLOSH_QUEUE_NAME": config.queue_name,
           "DALLOSH_NOTIFY_QUEUE_NAME": config.notify_queue_name, "NO_PROXY": "127.0.0.1,localhost"}
    name = f"both-{uuid.uuid4().hex[:6]}"

    def health() -> int:  # the container's health check (docker/healthcheck.py), on this test's queues
        return subprocess.run([sys.executable, "docker/healthcheck.py", "worker"], cwd=ROOT, env=env,
                              capture_output=True).returncode

    assert health() == 1  # no worker yet
    with open(tmp_path / "worker.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "worker", "--name", name], cwd=ROOT, env=env, stdout=log,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            try:
                hook.wait(1, timeout=60)
            except AssertionError as exc:
                raise AssertionError((tmp_path / "worker.log").read_text(errors="replace")[-3000:]) from exc
            wait_for(lambda: services.db.get("deliveries", uid)["data"]["status"] == "sent", 20, "the post")
            assert health() == 0  # both of its workers are registered
            notify_worker = f"rq:worker:{name}-notify"
            redis = notify_queue(config).connection
            saved = redis.dump(notify_worker)
            redis.delete(notify_worker)  # as when the notify worker died: its heartbeat key expired
            assert health() == 1
            redis.restore(notify_worker, 0, saved, replace=True)
        finally:
            kill_tree(proc.pid)
            proc.wait(10)
    text = (tmp_path / "worker.log").read_text(errors="replace")
    assert f"Worker {name}-notify: started" in text
    assert f"Acquired scheduler lock for {config.notify_queue_name}" in text


def test_purge_keeps_what_may_still_be_needed(services, admin, smtp_plain):
    services.delivery.update(admin, **smtp_plain.settings)
    message = Message("S", ["a@example.com"], "<p>x</p>", "x")
    (uid,) = services.delivery.enqueue(admin, message, emails=["a@example.com"], webhooks=[], payload=None,
                                       origin={"test": "purge"})
    folder = services.storage.resolve(services.db.get("deliveries", uid)["data"]["message"])
    orphan = services.storage.root / "deliveries" / "orphan"
    orphan.mkdir()
    old = time.time() - 7200
    os.utime(orphan, (old, old))
    fresh = services.storage.root / "deliveries" / "being-queued"
    fresh.mkdir()
    services.db.update("deliveries", uid, {"status": "sent"}, by="system")
    assert services.delivery.purge(SYSTEM) == 0  # sent today: kept
    assert folder.is_dir() and fresh.is_dir() and not orphan.exists()
    services.db.db["deliveries"].update_one({"uid": uid}, {"$set": {"updatedAt": utcnow() - timedelta(days=31)}})
    assert services.delivery.purge(SYSTEM) == 1
    assert services.db.get("deliveries", uid) is None and folder.is_dir()  # its folder goes at the next purge…
    os.utime(folder, (old, old))
    services.delivery.purge(SYSTEM)
    assert not folder.exists()  # …once it is an hour old
