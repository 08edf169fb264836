"""The event bus on a real RabbitMQ: routing per file, secrets scrubbed, subscribers in background threads."""

from __future__ import annotations

import threading

from dallosh.events import Publisher, Subscriber, make_message, routing_key_for
from tests.integration.processing.conftest import Collected


def test_routing_one_file_or_all(config):
    one, every = Collected(), Collected()
    subs = [Subscriber(one, [routing_key_for("fileA")], config=config).start(),
            Subscriber(every, [routing_key_for()], config=config).start()]
    publisher = Publisher(config)
    try:
        for file_id in ("fileA", "fileB", "fileA"):
            assert publisher.publish_event(make_message(file_id, "t1", "reading_dataset", rows_read=3))
        every.wait_for(lambda items: len(items) == 3, 10)
        one.wait_for(lambda items: len(items) == 2, 10)
        assert {m["file_id"] for m in one.items} == {"fileA"}
        assert one.items[0]["rows_read"] == 3 and one.items[0]["_routing_key"] == "task.fileA.reading_dataset"
    finally:
        publisher.close()
        for sub in subs:
            sub.stop()


def test_messages_never_carry_secrets():
    message = make_message("f", "t", "proceed_task", ai={"external": {"apiKey": "sk-1"}}, token="x", rows=2)
    assert message["ai"]["external"]["apiKey"] == "***" and message["token"] == "***" and message["rows"] == 2


def test_publisher_is_usable_from_several_threads(config):
    received = Collected()
    sub = Subscriber(received, [routing_key_for("multi")], config=config).start()
    publisher = Publisher(config)
    try:
        threads = [threading.Thread(target=lambda i=i: [publisher.publish_event(
            make_message("multi", "t", "sending_to_llm", page=i * 10 + k)) for k in range(10)]) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        received.wait_for(lambda items: len(items) == 40, 15)
        assert sorted(m["page"] for m in received.items) == list(range(40))
    finally:
        publisher.close()
        sub.stop()


def test_publish_gives_up_quietly_when_the_broker_is_unreachable(config):
    from dataclasses import replace

    unreachable = replace(config, rabbitmq_url="amqp://guest:guest@127.0.0.1:1/%2F")
    publisher = Publisher(unreachable, retry_for=0.3)
    assert publisher.publish_event(make_message("f", "t", "done")) is False


def test_subscriber_callback_errors_do_not_kill_it(config):
    seen = Collected()

    def flaky(message):
        seen(message)
        if message["event"] == "bad":
            raise RuntimeError("widget exploded")

    sub = Subscriber(flaky, [routing_key_for("flaky")], config=config).start()
    publisher = Publisher(config)
    try:
        publisher.publish_event(make_message("flaky", "t", "bad"))
        publisher.publish_event(make_message("flaky", "t", "good"))
        seen.wait_for(lambda items: len(items) == 2, 10)
    finally:
        publisher.close()
        sub.stop()
