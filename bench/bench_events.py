"""Event latency on RabbitMQ: ``Publisher.publish_event`` → ``Subscriber`` callback, p50/p95 on loopback.

Events drive the live dashboards, so what matters is how long after the worker publishes a step event the
notebook's callback sees it. Publishing is paced (default 1000 events at 200/s, after a short warm-up that opens
the connections) and every message carries ``time.perf_counter()`` taken just before ``publish``; publisher and
subscriber share this process, so the callback's ``perf_counter()`` minus that value is the latency (broker
confirm, routing, delivery, JSON decoding included). The exchange gets a unique name
(``DALLOSH_EVENTS_EXCHANGE``) and is deleted afterwards. Target (issue): p95 ≤ 50 ms.

    .venv/bin/python bench/bench_events.py [--events 1000] [--rate 200]
"""

from __future__ import annotations

import argparse
import os
import threading
import time
import uuid

import numpy as np
import pika
from _common import Section, load_average, pace_events, print_sections

from dallosh.config import load_config
from dallosh.events import Publisher, Subscriber, routing_key_for

P95_TARGET_MS = 50.0


def _delete_exchange(url: str, exchange: str) -> None:
    try:
        conn = pika.BlockingConnection(pika.URLParameters(url))
        try:
            conn.channel().exchange_delete(exchange=exchange)
        finally:
            conn.close()
    except pika.exceptions.AMQPError:
        pass


def run(events: int = 1000, *, rate: float = 200.0, warmup: int = 50, wait_s: float = 10.0) -> Section:
    section = Section("events", f"Event latency publish → subscriber callback ({events} events at {rate:g}/s)")
    exchange = f"dallosh-bench-{uuid.uuid4().hex[:10]}"
    os.environ["DALLOSH_EVENTS_EXCHANGE"] = exchange
    config = load_config()
    file_id = f"bench{uuid.uuid4().hex[:8]}"
    latencies: dict[int, float] = {}
    warm = threading.Event()
    done = threading.Event()

    def callback(message: dict) -> None:
        now = time.perf_counter()
        if message.get("phase") == "warmup":
            if message.get("seq") == warmup - 1:
                warm.set()
            return
        latencies[int(message["seq"])] = now - float(message["sent"])
        if len(latencies) >= events:
            done.set()

    subscriber = Subscriber(callback, [routing_key_for(file_id)], config=config).start()
    publisher = Publisher(config)
    try:
        if not subscriber.connected:
            raise RuntimeError("the subscriber could not connect to RabbitMQ")
        pace_events(publisher, file_id, warmup, rate, "warmup")
        warm.wait(wait_s)
        load = load_average()
        started = time.perf_counter()
        took = pace_events(publisher, file_id, events, rate, "measure")
        elapsed = time.perf_counter() - started
        done.wait(wait_s)
    finally:
        publisher.close()
        subscriber.stop()
        _delete_exchange(config.rabbitmq_url, exchange)

    ms = np.array(sorted(latencies.values())) * 1000
    if not len(ms):
        raise RuntimeError("no event reached the subscriber")
    p50, p95, p99 = (float(np.percentile(ms, q)) for q in (50, 95, 99))
    publish_ms = np.array(took) * 1000
    section.add("events_sent", "events published", events)
    section.add("events_received", "events received", len(latencies))
    section.add("rate_achieved", "publish rate achieved", round(events / elapsed, 1), "{:.0f}/s")
    section.add("p50_ms", "latency p50", round(p50, 2), "{:.2f} ms")
    section.add("p95_ms", "latency p95", round(p95, 2), "{:.2f} ms")
    section.add("p99_ms", "latency p99", round(p99, 2), "{:.2f} ms")
    section.add("max_ms", "latency max", round(float(ms.max()), 2), "{:.2f} ms")
    section.add("publish_p50_ms", "publish call p50 (waits for broker confirm)",
                round(float(np.percentile(publish_ms, 50)), 2), "{:.2f} ms")
    section.add("publish_p95_ms", "publish call p95", round(float(np.percentile(publish_ms, 95)), 2), "{:.2f} ms")
    section.metrics["load_average_before"] = load
    section.target(f"p95 ≤ {P95_TARGET_MS:g} ms on loopback", f"{p95:.2f} ms", p95 <= P95_TARGET_MS)
    section.target("no event lost", f"{len(latencies)}/{events}", len(latencies) == events)
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--rate", type=float, default=200.0, help="events per second")
    args = parser.parse_args(argv)
    print_sections([run(args.events, rate=args.rate)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
