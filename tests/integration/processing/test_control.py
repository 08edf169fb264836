"""Pause / resume / stop / retry, crashes and malformed data, against real workers, Redis and RabbitMQ."""

from __future__ import annotations

import json
import os
import time

import pandas as pd
import pika
import pytest
from rq.job import Job, JobStatus

from dallosh.events import broker_user, control_key, control_queue
from dallosh.services import SYSTEM
from dallosh.textkey import text_key
from tests.conftest import wait_status
from tests.integration.processing.test_full_run import add_dataset, use_fake_llm
from tests.mocking import FAKE_MODEL


def wait_progress(services, task_uid, predicate, timeout=60):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        task = services.tasks.get(SYSTEM, task_uid)
        if predicate(task):
            return task
        time.sleep(0.05)  # polling the database, where the worker stores its progress
    raise AssertionError(f"progress never matched: {task.data.status} {task.data.progress}")


def wait_job_ended(runtime, job_id: str, timeout: float = 60) -> JobStatus:
    """Until the RQ job has ended (finished, failed, stopped or cancelled); its final status."""
    ended = {JobStatus.FINISHED, JobStatus.FAILED, JobStatus.STOPPED, JobStatus.CANCELED}
    deadline = time.monotonic() + timeout
    status = None
    while time.monotonic() < deadline:
        status = Job.fetch(job_id, connection=runtime.queue.redis).get_status()
        if status in ended:
            return status
        time.sleep(0.05)  # polling Redis: RQ publishes no event when a job ends
    raise AssertionError(f"job {job_id} stayed {status}")


def sent_ids(fake_llm, services, file_uid) -> list[str]:
    """The key id (first row) of every text sent to the fake LLM (requests carry texts under short keys)."""
    cleaned = pd.read_csv(services.storage.path("cleaned", file_uid), dtype=str, keep_default_na=False)
    first = dict(zip(cleaned["full_text"][::-1], cleaned["id"][::-1], strict=True))
    return [first[text] for r in fake_llm.chat_requests for text in r.texts if text in first]


def llm_texts(analysed) -> int:
    """Groups of same texts meant for the LLM (the operator's own posts are labelled by the author rule)."""
    return analysed.loc[~analysed["labelled_by"].str.startswith("rule:"), "full_text"].map(text_key).nunique()


def assert_output_matches_input(services, file_uid):
    cleaned = pd.read_csv(services.storage.path("cleaned", file_uid), dtype=str, keep_default_na=False)
    analysed = pd.read_csv(services.storage.path("analysed", file_uid), dtype=str, keep_default_na=False)
    assert analysed["id"].tolist() == cleaned["id"].tolist()
    assert (analysed["sentiment"] != "").all()
    return cleaned, analysed


def test_pause_frees_the_worker_and_resume_continues_without_relabelling(
        services, admin, analyst, runtime, workers, fake_llm):
    use_fake_llm(services, admin, fake_llm, page_size=20)
    fake_llm.set_behaviour("slow", seconds=0.25)
    file, task = add_dataset(services, analyst, 200, seed=11)
    other_file, other = add_dataset(services, analyst, 30, seed=12, name="other.csv")
    workers.start()
    services.tasks.request(analyst, task.uid, "start")
    wait_progress(services, task.uid, lambda t: t.data.progress.get("page", 0) >= 2)
    services.tasks.request(analyst, task.uid, "pause")
    paused = wait_progress(services, task.uid, lambda t: any(
        h["event"] == "paused" and h["details"].get("phase") == "checkpointed"
        for h in services.tasks.history(SYSTEM, task.uid)), 30)
    assert paused.data.status == "paused"
    pages_before = paused.data.progress["page"]
    # the single worker is free: another task runs to the end while the first one is paused
    fake_llm.set_behaviour("ok")
    services.tasks.request(analyst, other.uid, "start")
    assert wait_status(services, other.uid, {"done", "on_error"}) == "done"
    assert services.tasks.get(SYSTEM, task.uid).data.status == "paused"

    services.tasks.request(analyst, task.uid, "resume")
    assert wait_status(services, task.uid, {"done", "on_error"}, 90) == "done", workers.logs()[-2000:]
    cleaned, analysed = assert_output_matches_input(services, file.uid)
    ids = sent_ids(fake_llm, services, file.uid)
    assert len(ids) == len(set(ids)) == llm_texts(analysed)  # no page twice, none lost
    stats = services.tasks.get(SYSTEM, task.uid).data.stats["sending_to_llm"]
    assert stats["pages_resumed"] >= pages_before


def test_stop_ends_now_and_the_next_queued_task_starts(services, admin, analyst, runtime, workers, fake_llm):
    use_fake_llm(services, admin, fake_llm, page_size=10)
    fake_llm.set_behaviour("slow", seconds=0.5)
    file, task = add_dataset(services, analyst, 200, seed=21)
    _, queued = add_dataset(services, analyst, 25, seed=22, name="queued.csv")
    workers.start()
    services.tasks.request(analyst, task.uid, "start")
    wait_progress(services, task.uid, lambda t: t.data.status == "sending_to_llm")
    services.tasks.request(analyst, queued.uid, "start")
    wait_progress(services, queued.uid, lambda t: t.data.status == "in_queue" and t.data.job_id)  # behind the first
    stopped_at = time.monotonic()
    services.tasks.request(analyst, task.uid, "stop")
    fake_llm.set_behaviour("ok")
    assert wait_status(services, queued.uid, {"done", "on_error"}, 60) == "done"
    assert time.monotonic() - stopped_at < 20
    assert services.tasks.get(SYSTEM, task.uid).data.status == "stopped"
    assert not services.storage.path("analysed", file.uid).exists()
    events = [h["event"] for h in services.tasks.history(SYSTEM, task.uid)]
    assert events[-1] == "stopped"


def test_pause_while_queued_then_resume(services, analyst, runtime, workers):
    file, task = add_dataset(services, analyst, 40, seed=31)
    services.tasks.request(analyst, task.uid, "start")  # no worker yet: the job waits in the queue
    services.tasks.request(analyst, task.uid, "pause")
    job_id = services.tasks.get(SYSTEM, task.uid).data.job_id
    workers.start()
    assert wait_job_ended(runtime, job_id) == JobStatus.FINISHED  # the stale job ran (positive control)...
    assert services.tasks.get(SYSTEM, task.uid).data.status == "paused"  # ...and left the paused task alone
    services.tasks.request(analyst, task.uid, "resume")
    assert wait_status(services, task.uid, {"done", "on_error"}, 60) == "done"
    assert_output_matches_input(services, file.uid)


def test_worker_killed_mid_llm_then_retry_resumes_from_checkpoint(
        services, admin, analyst, runtime, workers, fake_llm):
    use_fake_llm(services, admin, fake_llm, page_size=20)
    fake_llm.set_behaviour("slow", seconds=0.3)
    file, task = add_dataset(services, analyst, 200, seed=41)
    worker = workers.start()
    services.tasks.request(analyst, task.uid, "start")
    wait_progress(services, task.uid, lambda t: t.data.progress.get("page", 0) >= 3)
    workers.kill(worker)  # SIGKILL the worker and its work-horse
    checkpointed = sorted(p.name for p in services.storage.checkpoints(file.uid).glob("labels-*.json"))
    assert len(checkpointed) >= 3
    # a surviving worker notices the silent task (no heartbeat) and marks it on_error
    workers.start()
    assert wait_status(services, task.uid, {"on_error"}, 30) == "on_error"
    error = services.tasks.get(SYSTEM, task.uid).data.error
    assert "stopped unexpectedly" in error and "Retry" in error
    requested_before = set(sent_ids(fake_llm, services, file.uid))
    fake_llm.reset()
    fake_llm.set_behaviour("ok")
    services.tasks.request(analyst, task.uid, "retry")
    assert wait_status(services, task.uid, {"done", "on_error"}, 60) == "done", workers.logs()[-2000:]
    cleaned, analysed = assert_output_matches_input(services, file.uid)
    again = set(sent_ids(fake_llm, services, file.uid))
    folder = services.storage.checkpoints(file.uid)
    checkpointed_ids = set()
    for name in checkpointed:
        checkpointed_ids |= set(json.loads((folder / name).read_text())["key"])
    assert not again & checkpointed_ids
    stats = services.tasks.get(SYSTEM, task.uid).data.stats["sending_to_llm"]
    assert stats["pages_resumed"] >= len(checkpointed)
    # together the runs cover every distinct text
    assert len(again) < llm_texts(analysed)
    assert len(requested_before | again) >= llm_texts(analysed)


def test_malformed_dataset_goes_on_error_and_the_worker_keeps_serving(services, analyst, runtime, workers):
    bad_file, bad = add_dataset(services, analyst, 20, seed=51, name="bad.csv")
    services.storage.path("datasets", bad_file.uid).write_bytes(b"id,other\n1,2\n")  # damaged on disk
    good_file, good = add_dataset(services, analyst, 20, seed=52, name="good.csv")
    workers.start()
    services.tasks.request(analyst, bad.uid, "start")
    services.tasks.request(analyst, good.uid, "start")
    assert wait_status(services, bad.uid, {"done", "on_error"}) == "on_error"
    assert wait_status(services, good.uid, {"done", "on_error"}) == "done"
    task = services.tasks.get(SYSTEM, bad.uid)
    assert "full_text" in task.data.error and "Upload" in task.data.error
    last = services.tasks.history(SYSTEM, bad.uid)[-1]
    assert last["event"] == "on_error" and last["details"]["step"] == "reading_dataset"


def test_api_keys_never_appear_in_events_logs_or_tasks(services, admin, analyst, runtime, workers, fake_llm,
                                                        subscribe):
    secret = "sk-live-DO-NOT-LEAK-42"
    fake_llm.set_behaviour("requires_api_key", key=secret)
    entry = services.settings.add_model(admin, "external", {"model": FAKE_MODEL, "baseUrl": fake_llm.openai_url,
                                                            "apiKey": secret, "paginateRowsLimit": 50})
    services.settings.set_preferences(admin, mode="external", default_external_model_id=entry["uid"],
                                      hybrid_threshold=1.0)
    file, task = add_dataset(services, analyst, 60, seed=61)
    events = subscribe(None)
    workers.start()
    services.tasks.request(analyst, task.uid, "start")
    assert wait_status(services, task.uid, {"done", "on_error"}) == "done"
    assert any(r.bearer == secret for r in fake_llm.chat_requests)  # the key was used...
    _, analysed = assert_output_matches_input(services, file.uid)
    assert set(analysed["labelled_by"]) - {"rule:operator"} == {f"openai:{FAKE_MODEL}"}
    events.wait_for(lambda items: any(e["event"] == "done" for e in items))
    stored = [services.db.find(c) for c in ("tasks", "task_events", "logs", "files")]
    for blob in (json.dumps(events.items, default=str), repr(stored), workers.logs()):
        assert secret not in blob  # ...and never written anywhere else


def wait_for_queue(config, queue: str, timeout: float = 30.0) -> None:
    """Until the worker's control listener has declared its durable queue (messages before it would be lost)."""
    deadline = time.monotonic() + timeout
    while True:
        conn = pika.BlockingConnection(pika.URLParameters(config.rabbitmq_url))
        try:
            conn.channel().queue_declare(queue=queue, passive=True)
            return
        except pika.exceptions.ChannelClosedByBroker:
            if time.monotonic() > deadline:
                raise
        finally:
            if conn.is_open:
                conn.close()
        time.sleep(0.1)  # polling the broker: there is no event for "a queue was declared"


def wait_for_log(services, action: str, result: str, timeout: float = 30.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [e for e in services.db.find("logs", {"data.action": action}) if e["data"]["result"] == result]
        if found:
            return found[-1]
        time.sleep(0.1)  # the worker writes the log entry; polling the database is how we see it
    raise AssertionError(f"no {action} log with result {result!r} within {timeout} s")


def test_original_control_messages(services, analyst, runtime, workers, config):
    file, task = add_dataset(services, analyst, 30, seed=71)
    workers.start()
    wait_for_queue(config, control_queue(config))

    def send(command, body, *, as_app: bool = True):
        conn = pika.BlockingConnection(pika.URLParameters(config.rabbitmq_url))
        props = pika.BasicProperties(user_id=broker_user(config.rabbitmq_url)) if as_app else None
        conn.channel().basic_publish(config.events_exchange, control_key(file.uid, command),
                                     json.dumps(body).encode(), props)
        conn.close()

    # Without the broker-verified user_id of the app's account: ignored, and the refusal is logged.
    send("proceed_task", {"file_id": file.uid}, as_app=False)
    refused = wait_for_log(services, "control.proceed_task", "denied")
    assert refused["data"]["details"]["reason"] == "not sent with the app's own credentials"
    assert services.tasks.find(task.uid).data.status == "added"
    send("handle_process", {"file_id": file.uid, "event": "pause"})  # illegal from "added": refused by the service
    send("proceed_task", {"file_id": file.uid, "file_path": file.data.file_path, "ai": {"preferences": {}}})
    assert wait_status(services, task.uid, {"done", "on_error"}, 60) == "done"
    send("proceed_task", {"file_id": "unknown"})
    unknown = wait_for_log(services, "control.proceed_task", "error: unknown command or dataset")
    assert unknown["data"]["target"] == "files/unknown"


def test_the_broker_refuses_a_forged_sender(config):
    """A client cannot stamp another account's user_id: RabbitMQ closes its channel."""
    conn = pika.BlockingConnection(pika.URLParameters(config.rabbitmq_url))
    try:
        channel = conn.channel()
        channel.confirm_delivery()
        with pytest.raises(pika.exceptions.ChannelClosedByBroker, match="user_id"):
            channel.basic_publish("amq.topic", "control.x.proceed_task", b"{}",
                                  pika.BasicProperties(user_id="someone-else"))
        channel = conn.channel()  # positive control: its own account is accepted
        channel.confirm_delivery()
        channel.basic_publish("amq.topic", "control.x.proceed_task", b"{}",
                              pika.BasicProperties(user_id=broker_user(config.rabbitmq_url)))
    finally:
        if conn.is_open:
            conn.close()


@pytest.mark.skipif(os.environ.get("DALLOSH_SKIP_BROKER_RESTART") == "1", reason="broker restart disabled")
def test_rabbitmq_restart_mid_task(services, admin, analyst, runtime, workers, fake_llm, subscribe):
    import subprocess

    use_fake_llm(services, admin, fake_llm, page_size=10)
    fake_llm.set_behaviour("slow", seconds=0.3)
    file, task = add_dataset(services, analyst, 150, seed=81)
    events = subscribe(file.uid)
    workers.start()
    services.tasks.request(analyst, task.uid, "start")
    wait_progress(services, task.uid, lambda t: t.data.progress.get("page", 0) >= 2)
    stored = len(services.tasks.history(SYSTEM, task.uid))
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
    # The outage must meet the worker: wait until it stored an event it cannot publish while the broker is down.
    wait_progress(services, task.uid, lambda t: len(services.tasks.history(SYSTEM, task.uid)) > stored)
    subprocess.run(["rabbitmqctl", "start_app"], check=True, capture_output=True, timeout=60)
    assert wait_status(services, task.uid, {"done", "on_error"}, 120) == "done", workers.logs()[-2000:]
    received = events.wait_for(lambda items: any(e["event"] == "done" for e in items), 60)
    assert received[-1]["event"] == "done"  # live events resumed after the restart
    history = services.tasks.history(SYSTEM, task.uid)
    assert history[-1]["event"] == "done" and len(history) >= len(received)  # nothing lost from the record
    assert_output_matches_input(services, file.uid)


def test_retry_after_error_continues_from_the_failed_step(services, analyst, runtime, workers):
    file, task = add_dataset(services, analyst, 40, seed=91)
    original = services.storage.path("datasets", file.uid).read_bytes()
    workers.start()
    services.tasks.request(analyst, task.uid, "start")
    assert wait_status(services, task.uid, {"done"}) == "done"
    # reprocess; damage the cleaned output's source of labels after cleaning, then repair and retry
    services.storage.path("datasets", file.uid).write_bytes(b"\x00binary")
    services.tasks.request(analyst, task.uid, "start")
    assert wait_status(services, task.uid, {"on_error"}) == "on_error"
    assert services.tasks.get(SYSTEM, task.uid).data.last_completed_step is None
    services.storage.path("datasets", file.uid).write_bytes(original)
    services.tasks.request(analyst, task.uid, "retry")
    assert wait_status(services, task.uid, {"done", "on_error"}) == "done"
    events = [h for h in services.tasks.history(SYSTEM, task.uid) if h["run"] == 3]
    assert events[0]["event"] == "retry_step" and events[-1]["event"] == "done"
    assert_output_matches_input(services, file.uid)


def test_two_workers_process_two_datasets_at_once(services, admin, analyst, runtime, workers, fake_llm):
    use_fake_llm(services, admin, fake_llm, page_size=10)
    fake_llm.set_behaviour("slow", seconds=0.4)
    _, slow = add_dataset(services, analyst, 150, seed=101, name="slow.csv")
    _, quick = add_dataset(services, analyst, 10, seed=102, name="quick.csv")
    workers.start()
    workers.start()
    services.tasks.request(analyst, slow.uid, "start")
    wait_progress(services, slow.uid, lambda t: t.data.status == "sending_to_llm")
    services.tasks.request(analyst, quick.uid, "start")
    assert wait_status(services, quick.uid, {"done", "on_error"}, 60) == "done"
    assert services.tasks.get(SYSTEM, slow.uid).data.status == "sending_to_llm"  # still going: not blocking
    assert wait_status(services, slow.uid, {"done", "on_error"}, 120) == "done"
    workers_used = {h["details"].get("worker") for h in services.tasks.history(SYSTEM, slow.uid)} | \
        {h["details"].get("worker") for h in services.tasks.history(SYSTEM, quick.uid)}
    assert len(workers_used - {None}) == 2
    assert all(name.startswith("w") for name in workers_used - {None})  # RQ worker names, not horse pids
