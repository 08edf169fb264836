"""The dallosh API against direct service calls, in one run: what a kernel pays for holding no credentials.

Starts a real hub (node proxy, the managed API service) on a private nx-27017 database and storage, with a
user token obtained through the hub's login form — the same setup as ``tests/integration/api``. Then:

- **service call** p50/p95: ``files.list(limit=20)`` and ``tasks.counts_by_status`` through ``Services`` (the
  kernel today) and through ``dallosh.client.Client`` (HTTP to the API, which calls the same services);
- **load a 100k-row analysed dataset** (median of ``--repeat``): direct ``analytics.load_analysed(path)`` (what the
  Analysis view does) against the API's typed Arrow stream (``files.frame(typed=True)``; first request converts
  and caches on the API side, the others are served from that cache; the client's cache is emptied every time
  so each run really transfers), and against the API's CSV (download + the same ``load_analysed``);
- **event → client** p50/p95: events published as the worker does, paced, received at the same time by a direct
  RabbitMQ ``Subscriber`` and by the API's server-sent event stream (``Client.event_subscriber``);
- **the views themselves**, each on the real services and on the API client: the Analysis view choosing the 100k
  dataset (target ≤ 2 s) and filtering a ``--large-rows`` one (target ≤ 1 s), the App's view switch (≤ 300 ms p95)
  and a worker's event → the Tasks view's widgets (≤ 100 ms p95), measured in the kernel process (the browser
  adds the same websocket and rendering either way: ``bench_ui.py --browser`` / ``bench_analysis_view.py
  --browser`` measure that part).

    PYTHONPATH=. .venv/bin/python bench/bench_api.py [--rows 100000] [--calls 200] [--events 300]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
from _common import PROJECT_ROOT, Section, pace_events, report

sys.path.insert(0, str(PROJECT_ROOT))

LOAD_TARGET_S = 2.0
EVENT_TARGET_MS = 100.0


def pct(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)) * 1000, 2)


def time_calls(fn, count: int) -> list[float]:
    fn()  # warm-up: connections, caches
    took = []
    for _ in range(count):
        started = time.perf_counter()
        fn()
        took.append(time.perf_counter() - started)
    return took


def bench_calls(section: Section, services, client, calls: int) -> None:
    admin = services.auth.login("admin@free.com", "123456")
    me = client.actor()
    for name, direct, remote in (
        ("files.list", lambda: services.files.list(admin, limit=20), lambda: client.files.list(me, limit=20)),
        ("tasks.counts_by_status", lambda: services.tasks.counts_by_status(admin),
         lambda: client.tasks.counts_by_status(me)),
    ):
        d, r = time_calls(direct, calls), time_calls(remote, calls)
        section.add(f"{name}_direct_ms", f"{name}: direct p50 / p95", (pct(d, 50), pct(d, 95)), "{} ms")
        section.add(f"{name}_api_ms", f"{name}: API p50 / p95", (pct(r, 50), pct(r, 95)), "{} ms")


def bench_load(section: Section, services, client, uid: str, repeat: int) -> None:
    from dallosh import analytics
    from dallosh.storage import ANALYSED

    admin = services.auth.login("admin@free.com", "123456")
    me = client.actor()
    path = services.files.path(admin, uid, ANALYSED)
    direct, typed, csv = [], [], []
    first_typed = None
    for i in range(repeat):
        started = time.perf_counter()
        frame = analytics.load_analysed(services.files.path(admin, uid, ANALYSED))
        direct.append(time.perf_counter() - started)
        shutil.rmtree(client.cache_dir, ignore_errors=True)
        started = time.perf_counter()
        remote = client.files.frame(me, uid, ANALYSED, typed=True)
        took = time.perf_counter() - started
        if i == 0:
            first_typed = took
        else:
            typed.append(took)
        shutil.rmtree(client.cache_dir, ignore_errors=True)
        started = time.perf_counter()
        analytics.load_analysed(client.files.path(me, uid, ANALYSED))
        csv.append(time.perf_counter() - started)
    assert len(remote) == len(frame)
    rows = len(frame)
    section.add("rows", "rows / analysed CSV size", f"{rows:,} / {path.stat().st_size / 1e6:.0f} MB", "{}")
    section.add("load_direct_s", "direct: load_analysed(stored CSV), median", round(statistics.median(direct), 3),
                "{} s")
    section.add("load_api_typed_first_s", "API typed Arrow, first request (API converts + caches)",
                round(first_typed or 0, 3), "{} s")
    section.add("load_api_typed_s", "API typed Arrow, median of later requests (transfer + decode)",
                round(statistics.median(typed), 3) if typed else None, "{} s")
    section.add("load_api_csv_s", "API CSV download + load_analysed, median", round(statistics.median(csv), 3),
                "{} s")
    best = statistics.median(typed) if typed else first_typed or 0
    section.target(f"load ≤ {LOAD_TARGET_S:.0f} s through the API (typed Arrow, cached)", f"{best:.2f} s",
                   best <= LOAD_TARGET_S)


def bench_events(section: Section, config, client, count: int, rate: float) -> None:
    from dallosh.events import Publisher, Subscriber, routing_key_for

    file_id = "bench-api"
    got: dict[str, list[float]] = {"direct": [], "api": []}
    done = {k: threading.Event() for k in got}

    def receiver(kind: str):
        def on_event(message: dict) -> None:
            if message.get("file_id") != file_id or message.get("phase") != "measure":
                return
            got[kind].append(time.perf_counter() - message["sent"])
            if len(got[kind]) >= count:
                done[kind].set()
        return on_event

    direct = Subscriber(receiver("direct"), [routing_key_for(file_id)], config=config).start()
    stream = client.event_subscriber(receiver("api"), [routing_key_for(file_id)]).start()
    publisher = Publisher(config)
    try:
        for phase, n in (("warmup", 20), ("measure", count)):
            pace_events(publisher, file_id, n, rate, phase)
        for event in done.values():
            event.wait(15)
    finally:
        publisher.close()
        direct.stop()
        stream.stop()
    for kind, label in (("direct", "RabbitMQ subscriber in the kernel (today)"), ("api", "API server-sent events")):
        values = got[kind]
        section.add(f"event_{kind}_ms", f"{label}: p50 / p95 ({len(values)}/{count} received)",
                    (pct(values, 50), pct(values, 95)) if values else None, "{} ms")
    if got["api"]:
        p95 = pct(got["api"], 95)
        section.target(f"event → client p95 ≤ {EVENT_TARGET_MS:.0f} ms through the API", f"{p95} ms",
                       p95 <= EVENT_TARGET_MS and len(got["api"]) == count)


def bench_analysis(section: Section, services, client, uid: str, large_uid: str | None, repeat: int) -> None:
    """The Analysis view itself on the real services (today's kernel) and on the API client: choose a dataset →
    every KPI, chart and the table's first page updated; then the sentiment filter and a search on what it holds."""
    from bench_analysis_view import CHOOSE_TARGET_S, FILTER_TARGET_S, choose

    from dallosh.ui.analysis import AnalysisView
    from dallosh.ui.base import UIContext

    admin = services.auth.login("admin@free.com", "123456")

    def view_on(backend, actor):
        view = AnalysisView(UIContext(backend, actor, live=False))
        view.on_show()
        return view

    def filters(view) -> dict[str, float]:
        took = {}
        for name, widget, value in (("sentiment", view.sentiment, "negative"), ("search", view.search, "panne")):
            started = time.perf_counter()
            widget.value = value
            took[name] = time.perf_counter() - started
        view.reset_filters()
        return took

    chosen: dict[str, list[float]] = {"direct": [], "api": []}
    rows = 0
    for _ in range(repeat):
        for where, backend, actor in (("direct", services, admin), ("api", client, client.actor())):
            if where == "api":
                shutil.rmtree(client.cache_dir, ignore_errors=True)  # each choice really transfers
            view = view_on(backend, actor)
            chosen[where].append(choose(view, uid))
            rows = len(view.frame)
            view.close()
    for where in chosen:
        section.add(f"choose_{where}_s", f"choose {rows:,} rows → page updated, {where} (median of {repeat})",
                    round(statistics.median(chosen[where]), 3), "{} s")
    worst = max(chosen["api"])
    section.target(f"choose a {rows:,}-row dataset ≤ {CHOOSE_TARGET_S:.0f} s through the API (worst of {repeat})",
                   f"{worst:.2f} s", worst <= CHOOSE_TARGET_S)
    if large_uid is None:
        return
    for where, backend, actor in (("direct", services, admin), ("api", client, client.actor())):
        view = view_on(backend, actor)
        choose(view, uid)  # the view opens on the newest dataset (the large one): start from the other
        load = choose(view, large_uid)
        runs = [filters(view) for _ in range(repeat)]
        rows = len(view.frame)
        view.close()
        section.add(f"large_choose_{where}_s", f"choose {rows:,} rows, {where}", round(load, 3), "{} s")
        for name in ("sentiment", "search"):
            section.add(f"large_{name}_{where}_s", f"{name} filter on {rows:,} rows, {where} (worst of {repeat})",
                        round(max(r[name] for r in runs), 3), "{} s")
        if where == "api":
            worst = max(max(r.values()) for r in runs)
            section.target(f"filter on {rows:,} rows ≤ {FILTER_TARGET_S:.0f} s through the API", f"{worst:.2f} s",
                           worst <= FILTER_TARGET_S)


def bench_views(section: Section, hub, client_for, events: int) -> None:
    """The App's view switch and the Tasks view's event → widgets, on the API client (bench_ui.py's measures,
    which also print today's direct numbers when run on their own; here both run for comparison)."""
    from bench_ui import bench_event_latency, bench_kernel_switch, make_big_csv, seed

    seed(hub.services, make_big_csv(hub.config.storage_root / "small.csv", 1))
    analyst = client_for("analyst@free.com", "123456")
    bench_kernel_switch(hub.services, section)
    bench_kernel_switch(analyst, section, actor=analyst.actor(), where="API")
    bench_event_latency(hub.services, section, events)
    bench_event_latency(analyst, section, events, actor=analyst.actor(), emitter=hub.services, where="API")
    analyst.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--calls", type=int, default=200)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--events", type=int, default=300)
    parser.add_argument("--rate", type=float, default=50.0)
    parser.add_argument("--large-rows", type=int, default=1_000_000, help="0: skip the filter on a large dataset")
    parser.add_argument("--view-events", type=int, default=50, help="events for the Tasks view's latency")
    args = parser.parse_args(argv)

    from bench_analysis_view import make_analysed, register

    from dallosh.client import Client
    from dallosh.db.embedded import spawn_embedded, terminate, wait_until_answers
    from tests.conftest import free_port
    from tests.integration.api.conftest import start_hub, stop_hub

    sections: list[Section] = []
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        port = free_port()
        db = spawn_embedded(port, base / "nx", base / "nx.log")
        uri = f"mongodb://127.0.0.1:{port}"
        wait_until_answers(uri, proc=db)
        hub = proc = None
        try:
            print("setup: hub + API …")
            hub, proc = start_hub(uri, base, "benchapi")
            services = hub.services
            analysed = base / "analysed.csv"
            print(f"  analysed csv of {args.rows:,} rows: {make_analysed(args.rows, analysed, 2):.1f} s")
            uid = register(services, "tweets-100k.csv", analysed)
            client = Client(hub.api_url, hub.token_for("admin@free.com", "123456"), cache_dir=base / "client")

            calls = Section("api_calls", f"Service call latency, direct vs API ({args.calls} calls each)")
            bench_calls(calls, services, client, args.calls)
            sections.append(calls)
            load = Section("api_load", f"Load a {args.rows:,}-row analysed dataset, direct vs API")
            bench_load(load, services, client, uid, args.repeat)
            sections.append(load)
            events = Section("api_events", f"Event → client ({args.events} events at {args.rate:g}/s)")
            bench_events(events, hub.config, client, args.events, args.rate)
            sections.append(events)
            if args.large_rows:
                large = base / "analysed-large.csv"
                print(f"  analysed csv of {args.large_rows:,} rows: {make_analysed(args.large_rows, large, 3):.1f} s")
                large_uid = register(services, "tweets-large.csv", large)
            else:
                large_uid = None
            analysis = Section("api_analysis", "Analysis view, direct vs API")
            bench_analysis(analysis, services, client, uid, large_uid, args.repeat)
            sections.append(analysis)
            views = Section("api_views", "View switch and event → widgets, direct vs API")
            bench_views(views, hub, lambda email, password: Client(
                hub.api_url, hub.token_for(email, password), cache_dir=base / email), args.view_events)
            sections.append(views)
            client.close()
        finally:
            if hub is not None and proc is not None:
                stop_hub(hub, proc)
            terminate(db.pid)
    report(sections, "api.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
