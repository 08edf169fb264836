"""Analysis view: time to interactive after choosing a dataset, filter and KPI times on 1M rows, kernel memory.

Runs against a private nx-27017 database and storage with the real services and the real view
(``dallosh.ui.analysis.AnalysisView``); analysed CSVs are built like ``bench_analytics.py`` does (synthetic export
→ real cleaning → labels drawn at random, skewed like real ones), registered as datasets whose task is done.

- **choose 100k** (target ≤ 2 s): selecting a 100k-row analysed dataset in the view → every KPI, chart and the
  table's first page updated (read + type the CSV, apply corrections, filter, KPIs, 10 charts, table), measured
  in the kernel; with ``--browser`` also in headless Chromium through standalone Voilà (option chosen → the KPI
  card shows the new volume);
- **filter on 1M** (target ≤ 1 s): changing the sentiment filter with 1M rows loaded → the page recomputed
  (apply_filters + KPIs + charts + table page); plus a text search;
- **cross-filter on 1M** (target ≤ 1 s): a chart click (a chip: every KPI, chart, the terms and the table
  recomputed), a second click on another chart (two chips), a term clicked in "What customers say", a period
  preset (with the previous period's KPIs for the comparison); the plain filter change above is the baseline;
- **open a shared view, cold** (target ≤ 3 s): a fresh view given a shared link's fragment on the 100k dataset
  (read + everything, nothing cached), in the kernel, and with ``--browser`` the link opened in Chromium on the
  hub's user server (hub/singleuser_config.py; navigation start → the frame that paints the shared view's volume
  in the KPI card and its chip) with a preheated kernel (hub/preheat.py), against the same page and link on a
  new kernel measured in the same run;
- **KPIs on 1M**: ``analytics.kpis`` on the 1M-row frame (replies looked up in the whole frame);
- **memory**: resident memory of a fresh kernel-like process before and after the view holds 1M rows.

The 1M measurements run in a child process (``--child``) so that its RSS is the view's alone.

    .venv/bin/python bench/bench_analysis_view.py [--rows 100000] [--large-rows 1000000] [--browser]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import PROJECT_ROOT, PYTHON, Section, child_env, private_database, report, seconds

sys.path.insert(0, str(PROJECT_ROOT))

CHOOSE_TARGET_S = 2.0
FILTER_TARGET_S = 1.0
CROSS_FILTER_TARGET_S = 1.0
SHARED_TARGET_S = 3.0
TZ = "Europe/Paris"

#: Injected in the page before it loads (``browser_shared``): stamps, relative to the navigation's start, the
#: animation frame that first paints each condition (``%(conditions)s``: name → a function of ``want``), and
#: records the page's long tasks (≥ 50 ms of its thread).
PAINT_STAMPS = """
(() => {
  const want = %(want)s, conditions = %(conditions)s;
  const stamps = window.__stamps = {}, longTasks = window.__longTasks = [];
  new PerformanceObserver((list) => { for (const t of list.getEntries()) longTasks.push([t.startTime, t.duration]); })
    .observe({ type: "longtask", buffered: true });
  const check = () => {
    for (const [name, holds] of Object.entries(conditions)) {
      if (!(name in stamps) && holds(want)) {
        stamps[name] = null;
        requestAnimationFrame(() => { stamps[name] = performance.now(); });
      }
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, attributes: true,
                                                 characterData: true });
})();
"""


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def make_analysed(rows: int, path: Path, seed: int) -> float:
    """The analysed CSV of ``rows`` tweets, built in its own process (bench_analytics' recipe)."""
    started = time.perf_counter()
    subprocess.run([PYTHON, str(Path(__file__).with_name("bench_analytics.py")), "--rows", str(rows), "--seed",
                    str(seed), "--make", str(path)], check=True, cwd=PROJECT_ROOT, env=child_env())
    return time.perf_counter() - started


def register(services, name: str, analysed: Path) -> str:
    """A dataset whose task is done and whose analysed file is ``analysed`` (the stored original is a stub: the
    view only reads the analysed file, and storing a 1M-row original would only slow the setup down), with the
    typed copy the worker writes at the end of every task (``analytics.load.write_typed_copy``)."""
    from dallosh.analytics.load import write_typed_copy
    from dallosh.lifecycle import STEPS
    from dallosh.services import SYSTEM
    from dallosh.storage import ANALYSED
    from tests.factories import make_csv

    admin = services.auth.login("admin@free.com", "123456")
    file, task = services.files.add(admin, name, make_csv(3), allow_duplicate=True)
    target = services.storage.path(ANALYSED, file.uid)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.unlink(missing_ok=True)
    target.symlink_to(analysed)
    services.tasks.transition(SYSTEM, task.uid, "in_queue")
    for step in STEPS:
        services.tasks.transition(SYSTEM, task.uid, step)
    write_typed_copy(target)
    services.tasks.transition(SYSTEM, task.uid, "done")
    return file.uid


def services_for(env: dict[str, str]):
    from dallosh.config import load_config
    from dallosh.services import Services

    return Services.from_config(load_config(env, env_file=Path("/nonexistent")))


def new_view(services, *, live: bool = False):
    from dallosh.ui.analysis import AnalysisView
    from dallosh.ui.base import UIContext

    admin = services.auth.login("admin@free.com", "123456")
    view = AnalysisView(UIContext(services, admin, live=live))
    view.on_show()
    return view


def choose(view, uid: str) -> float:
    """Select ``uid`` (alone) and return the seconds until the view is up to date (inline: live=False)."""
    started = time.perf_counter()
    view.dataset_select.value = (uid,)
    elapsed = time.perf_counter() - started
    assert view.loaded == (uid,) and view.alert.kind == "", view.alert.message
    return elapsed


# ------------------------------------------------------------------------------------------ child (1M rows)


def top_term(view) -> str:
    """The most frequent term of the tweets shown (what an analyst would click first)."""
    from dallosh.analytics import terms

    return str(terms.top_terms(view.term_index, view.filtered.index.to_numpy(), 1)["term"].iloc[0])


def child(env: dict[str, str], uid: str, repeat: int) -> dict[str, Any]:
    """Everything measured on the 1M-row dataset, in a process of its own (prints one JSON line)."""
    from dallosh import analytics

    services = services_for(env)
    view = new_view(services)
    baseline = rss_mb()
    load_s = choose(view, uid)
    loaded = rss_mb()
    timings = dict(view.timings)
    filters: dict[str, list[float]] = {"sentiment": [], "search": [], "reset": []}
    for _ in range(repeat):
        started = time.perf_counter()
        view.sentiment.value = "negative"
        filters["sentiment"].append(time.perf_counter() - started)
        started = time.perf_counter()
        view.search.value = "panne"
        filters["search"].append(time.perf_counter() - started)
        started = time.perf_counter()
        view.reset_filters()
        filters["reset"].append(time.perf_counter() - started)
    breakdown = {k: round(v, 3) for k, v in view.timings.items()}
    cross: dict[str, list[float]] = {"chart_click": [], "second_chart": [], "term": [], "period_preset": [],
                                     "clear": []}
    for _ in range(repeat):
        for kind, act in (("chart_click", lambda: view._on_chart_click("topics", 0, 0)),
                          ("second_chart", lambda: view._on_chart_click("priority", 0, 2)),
                          ("term", lambda: view.add_term(top_term(view))),
                          ("period_preset", lambda: setattr(view.period, "value", "last_30")),
                          ("clear", view.reset_filters)):
            started = time.perf_counter()
            act()
            cross[kind].append(time.perf_counter() - started)
        assert view.drills == () and view.alert.kind == "", view.alert.message
    kpi_runs: dict[str, list[float]] = {"flag": [], "accounts": []}
    filtered = analytics.apply_filters(view.frame, analytics.Filters(tz=TZ))
    accounts = services.settings.general().operatorAccounts
    for _ in range(repeat):
        for kind, operator in (("flag", None), ("accounts", accounts)):
            started = time.perf_counter()
            analytics.kpis(filtered, operator, replies_from=view.frame)
            kpi_runs[kind].append(time.perf_counter() - started)
    return {"rows": len(view.frame), "load_s": round(load_s, 3), "load_breakdown": {k: round(v, 3) for k, v in
                                                                                      timings.items()},
            "filter_s": {k: round(min(v), 3) for k, v in filters.items()},
            "filter_worst_s": {k: round(max(v), 3) for k, v in filters.items()},
            "cross_s": {k: round(min(v), 3) for k, v in cross.items()},
            "cross_worst_s": {k: round(max(v), 3) for k, v in cross.items()},
            "last_breakdown": breakdown, "kpis_s": {k: round(min(v), 3) for k, v in kpi_runs.items()},
            "rss_before_mb": round(baseline, 1), "rss_loaded_mb": round(loaded, 1), "rss_now_mb": round(rss_mb(), 1),
            "peak_mb": round(peak_mb(), 1),
            "frame_mb": round(view.frame.memory_usage(deep=True).sum() / 2**20, 1)}


# --------------------------------------------------------------------------------------------------- browser


def browser_choose(config, label: str, expected_volume: str) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from tests.integration.ui.harness import VoilaServer, launch_browser, wait_for_view

    server = VoilaServer(config, "admin@free.com", Path(tempfile.mkdtemp())).start()
    try:
        with sync_playwright() as playwright:
            browser = launch_browser(playwright)
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            started = time.perf_counter()
            page.goto(server.url("admin/analysis"))
            wait_for_view(page, "analysis")
            page.wait_for_selector(".dl-analysis-grid .ag-center-cols-container .ag-row", timeout=120_000)
            page.wait_for_selector(".dl-chart-timeline .main-svg", timeout=120_000)
            ready = time.perf_counter() - started
            page.wait_for_timeout(1000)
            option = page.locator(".dl-dataset-select option", has_text=label).first
            value = option.get_attribute("value")
            started = time.perf_counter()
            page.select_option(".dl-dataset-select select", value=value)
            page.wait_for_function("(want) => document.querySelector('.dl-kpi-volume .dl-kpi-value')"
                                   "?.textContent.trim() === want", arg=expected_volume, timeout=60_000)
            kpis = time.perf_counter() - started
            page.wait_for_function("(want) => [...document.querySelectorAll('.dl-analysis-grid .ag-row')].length > 0"
                                   " && document.querySelector('.dl-analysis-status')?.textContent.includes(want)",
                                   arg=label, timeout=60_000)
            table = time.perf_counter() - started
            browser.close()
            return {"page_ready_s": round(ready, 2), "choose_to_kpis_s": round(kpis, 2),
                    "choose_to_table_s": round(table, 2)}
    finally:
        server.stop()


def browser_shared(config, fragment: str, expected_volume: str, shared_runs: int = 3) -> dict[str, Any]:
    """Seconds from opening a shared link to its KPIs shown, in the users' server of the hub (jupyter_server +
    Voilà extension + hub/singleuser_config.py), measured in the same run:

    - ``plain_page_s``: the page without a link on a new kernel (no pool): the baseline, what Voilà costs;
    - ``shared_new_kernel_s``: the link on a new kernel (no pool);
    - ``shared_link_s``: the link on a server whose pool has a preheated kernel ready (the figure: the median of
      ``shared_runs``, each on the kernel the pool prepared after the previous one);

    each the frame that painted the view's numbers, from the navigation's start (``timed``); plus the memory of
    the kernel waiting in the pool and the seconds its replacement took to be ready (from the page's request:
    ``fill_delay`` + a kernel start + the notebook), and per run when the page had loaded, the App showed, the
    shared state (a chip) showed, when the test driver saw the numbers and when the page's thread was free again
    (the charts drawn).
    """
    import psutil
    from playwright.sync_api import sync_playwright

    from tests.integration.ui.harness import VoilaServer, launch_browser

    shared_ready = ("(want) => document.querySelector('.dl-kpi-volume .dl-kpi-value')?.textContent.trim() === want"
                    " && document.querySelector('.dl-chips .dl-chip-button')"
                    " && !document.querySelector('.dl-app.dl-preheated')")
    plain_ready = "() => /\\d/.test(document.querySelector('.dl-kpi-volume .dl-kpi-value')?.textContent || '')"
    shared_address = "home/analysis"  # what "Share this view" links to (dallosh.ui.location.shared_notebook)
    timings: dict[str, Any] = {}

    steps = {"app": "() => document.querySelector('.dl-app:not(.dl-preheated) .dl-view-analysis')",
             "chip": "() => document.querySelector('.dl-chips .dl-chip-button')"}

    def timed(browser, address: str, ready: str, name: str) -> float:
        """Seconds from the link opened (the navigation's start) to the frame that paints its view, recorded in
        the page: a mutation observer sees the step's condition hold, the next animation frame (the one that
        paints it) stamps it. Also, per run: when the test driver saw it (polling from outside the page, which
        waits behind whatever the page's thread does next) and when that thread was free again (the end of the
        last long task: the charts drawn)."""
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        conditions = {**steps, "ready": ready}
        page.add_init_script(PAINT_STAMPS % {"want": json.dumps(expected_volume), "conditions": "{" + ", ".join(
            f"{json.dumps(k)}: {v}" for k, v in conditions.items() if k != "chip" or "chip" in ready) + "}"})
        started = time.perf_counter()
        page.goto(address, wait_until="commit")
        page.wait_for_function(ready, arg=expected_volume, timeout=120_000)
        observed = round(time.perf_counter() - started, 2)
        page.wait_for_function("() => typeof window.__stamps?.ready === 'number'", timeout=10_000)
        page.wait_for_timeout(3000)  # the charts drawn after the numbers: their long tasks end within this
        stamps = page.evaluate("window.__stamps")
        busy = page.evaluate("window.__longTasks.reduce((end, t) => Math.max(end, t[0] + t[1]), 0)")
        marks = {k: round(v / 1000, 2) for k, v in stamps.items()}
        marks["html"] = round(page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd") / 1000, 2)
        marks["observed_by_driver"] = observed
        marks["page_busy_until"] = round(busy / 1000, 2)
        timings.setdefault("steps", {})[name] = marks
        page.close()
        return marks["ready"]

    def pooled_kernel_idle(server_pid: int, timeout: float = 60) -> float:
        """Seconds until the server's kernels stop working: after the notebook ran, the pooled kernel warms the
        page's computations up (``AddressPart._warm_up``), and the previous run's page builds its other views.
        A link opened some time after the previous one finds them idle; each run starts from there."""
        started = time.perf_counter()
        kernels = [p for p in psutil.Process(server_pid).children(recursive=True)
                   if "ipykernel_launcher" in " ".join(p.cmdline())]
        for kernel in kernels:
            kernel.cpu_percent()  # the first reading starts the measure
        quiet = 0
        while quiet < 2 and time.perf_counter() - started < timeout:
            time.sleep(0.5)  # sampling CPU use: there is no event for "idle"
            busy = 0.0
            for kernel in kernels:
                try:
                    busy += kernel.cpu_percent()
                except psutil.NoSuchProcess:
                    pass
            quiet = quiet + 1 if busy < 5 else 0
        return round(time.perf_counter() - started, 1)

    ready_line = "Preheated kernel "
    with sync_playwright() as playwright:
        browser = launch_browser(playwright)
        for preheat in (0, 1):
            server = VoilaServer(config, "admin@free.com", Path(tempfile.mkdtemp()), preheat=preheat,
                                 hub_server=True).start()
            try:
                link = server.url(shared_address) + "#" + fragment
                if not preheat:
                    timings["plain_page_s"] = timed(browser, server.url(shared_address), plain_ready, "plain")
                    timings["shared_new_kernel_s"] = timed(browser, link, shared_ready, "new_kernel")
                    continue
                server.wait_for_log(ready_line)
                timings.setdefault("warm_up_s", []).append(pooled_kernel_idle(server.proc.pid))
                kernels = [p for p in psutil.Process(server.proc.pid).children(recursive=True)
                           if "ipykernel_launcher" in " ".join(p.cmdline())]
                timings["pooled_kernel_mb"] = round(sum(p.memory_info().rss for p in kernels) / 2**20)
                runs = []
                for run in range(shared_runs):
                    runs.append(timed(browser, link, shared_ready, f"preheated_{run + 1}"))
                    started = time.perf_counter()
                    server.wait_for_log(ready_line, count=run + 2)  # the pool refilled itself
                    timings.setdefault("refill_s", []).append(round(time.perf_counter() - started, 1))
                    timings["warm_up_s"].append(pooled_kernel_idle(server.proc.pid))
                timings["shared_link_runs_s"] = runs
                timings["shared_link_s"] = sorted(runs)[len(runs) // 2]  # the median
            finally:
                server.stop()
        browser.close()
    return timings


# ------------------------------------------------------------------------------------------------------ main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--large-rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--browser", action="store_true", help="also measure in Chromium through Voilà")
    parser.add_argument("--shared-runs", type=int, default=3, help="shared links opened on preheated kernels")
    parser.add_argument("--child", nargs=2, metavar=("ENV_JSON", "UID"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        print(json.dumps(child(json.loads(args.child[0]), args.child[1], args.repeat)))
        return 0

    from dallosh import analytics
    from dallosh.bootstrap import bootstrap
    from dallosh.storage import ANALYSED

    sections: list[Section] = []
    with tempfile.TemporaryDirectory() as tmp, \
            private_database(Path(tmp), "bench_analysis", DALLOSH_QUEUE_NAME="bench-analysis",
                             DALLOSH_EVENTS_EXCHANGE="bench-analysis-tasks") as env:
        base = Path(tmp)
        services = services_for(env)
        bootstrap(services)
        print("setup")
        large_csv, medium_csv, small_csv = base / "large.csv", base / "medium.csv", base / "small.csv"
        for rows, path, seed in ((args.large_rows, large_csv, 1), (args.rows, medium_csv, 2),
                                 (2_000, small_csv, 3)):
            print(f"  analysed csv of {rows:>9,} rows: {make_analysed(rows, path, seed):6.1f} s "
                  f"({path.stat().st_size / 1e6:.0f} MB)")
        large = register(services, "tweets-1m.csv", large_csv)
        medium = register(services, "tweets-100k.csv", medium_csv)
        small = register(services, "tweets-latest.csv", small_csv)  # newest: what the page opens on

        choose_section = Section("analysis_choose", f"Analysis view: choose a {args.rows:,}-row dataset")
        view = new_view(services)
        cold = choose(view, medium)
        breakdown = {k: round(v, 3) for k, v in view.timings.items()}
        choose(view, small)
        warm = choose(view, medium)
        choose_section.add("choose_cold_s", "first choice (the typed copy + everything), kernel", round(cold, 3),
                           "{} s")
        parse_s = min(seconds(lambda: analytics.load_analysed(medium_csv))[1] for _ in range(2))
        copy_s = min(seconds(lambda: analytics.load_analysed(services.storage.path(ANALYSED, medium)))[1]
                     for _ in range(2))
        choose_section.add("read_s", "  reading the dataset: its typed copy / parsing the CSV instead (baseline)",
                           f"{copy_s:.3f} s / {parse_s:.3f} s", "{}")
        choose_section.line("  of which", ", ".join(f"{k} {v}" for k, v in breakdown.items()
                                                    if k != "last_update_s"))
        choose_section.add("choose_again_s", "chosen again after another one (read again: only the frames shown "
                           "are kept)", round(warm, 3), "{} s")
        expected = analytics.kpis(analytics.apply_filters(view.frame, analytics.Filters(tz=TZ)))["volume"]
        view.sentiment.value = "negative"
        view._on_chart_click("topics", 0, 0)
        fragment = view.state().to_fragment()
        shared_volume = view.kpis["volume"].number
        view.close()
        fresh = new_view(services)
        started = time.perf_counter()
        fresh.apply_address_state(fragment)
        shared_cold = time.perf_counter() - started
        assert fresh.kpis["volume"].number == shared_volume and fresh.loaded == (medium,), fresh.alert.message
        fresh.close()
        shared_section = Section("analysis_shared", f"Open a shared view of the {args.rows:,}-row dataset, cold")
        shared_section.add("kernel_s", "fresh view + the link's state → every number shown (read + everything)",
                           round(shared_cold, 3), "{} s")
        shared_section.line("  baseline", f"choosing the same dataset by hand, cold: {cold:.2f} s")
        if args.browser:
            from dallosh.config import load_config
            from dallosh.ui.components import human_int

            measured = browser_choose(load_config(env, env_file=Path("/nonexistent")), "tweets-100k.csv",
                                      human_int(expected))
            choose_section.add("browser", "in Chromium (Voilà): page ready / choose → KPIs / → table",
                               measured, "{}")
            choose_section.target(f"interactive ≤ {CHOOSE_TARGET_S:.0f} s after choosing (browser)",
                                  f"{measured['choose_to_table_s']:.2f} s",
                                  measured["choose_to_table_s"] <= CHOOSE_TARGET_S)
            opened = browser_shared(load_config(env, env_file=Path("/nonexistent")), fragment, shared_volume,
                                    args.shared_runs)
            shared_section.add("browser", "in Chromium, the hub's user server: the page without a link on a new "
                               "kernel (baseline) / the link on a new kernel / the link on a preheated kernel "
                               "(pool of 1: median of the runs, each once the pool refilled and its kernel warmed "
                               "up) → its KPIs shown; the pooled kernel's RSS, refill and warm-up times", opened, "{}")
            shared_section.target(f"shared view ≤ {SHARED_TARGET_S:.0f} s cold (browser)",
                                  f"{opened['shared_link_s']:.2f} s", opened["shared_link_s"] <= SHARED_TARGET_S)
        shared_section.target(f"shared view ≤ {SHARED_TARGET_S:.0f} s cold (kernel)", f"{shared_cold:.2f} s",
                              shared_cold <= SHARED_TARGET_S)
        sections.append(shared_section)
        choose_section.target(f"interactive ≤ {CHOOSE_TARGET_S:.0f} s after choosing (kernel)", f"{cold:.2f} s",
                              cold <= CHOOSE_TARGET_S)
        sections.append(choose_section)

        print(f"1M-row measurements (child process, {args.repeat} runs each)…")
        out = subprocess.run([PYTHON, __file__, "--repeat", str(args.repeat), "--child", json.dumps(env), large],
                             capture_output=True, text=True, cwd=PROJECT_ROOT, env=child_env(), timeout=1800)
        if out.returncode != 0:
            raise RuntimeError(out.stderr[-3000:])
        r = json.loads(out.stdout.strip().splitlines()[-1])
        big = Section("analysis_1m", f"Analysis view with {r['rows']:,} rows loaded")
        big.add("load_s", f"choose the {r['rows']:,}-row dataset (read + everything)", r["load_s"], "{} s")
        big.line("  of which", ", ".join(f"{k} {v}" for k, v in r["load_breakdown"].items()
                                         if k != "last_update_s"))
        big.add("filter_s", "filter change → page recomputed (best)", r["filter_s"], "{}")
        big.add("filter_worst_s", "  (worst of the runs)", r["filter_worst_s"], "{}")
        big.line("  last recompute", ", ".join(f"{k} {v}" for k, v in r["last_breakdown"].items()
                                               if k not in ("load_s", "last_update_s")))
        big.add("kpis_s", "analytics.kpis on the default view: operator = is_operator flag (as the view) / "
                "= the settings' accounts", f"{r['kpis_s']['flag']} s / {r['kpis_s']['accounts']} s", "{}")
        big.add("rss_mb", "kernel RSS before → after loading (MB)",
                f"{r['rss_before_mb']} → {r['rss_loaded_mb']} (peak {r['peak_mb']})", "{}")
        big.add("frame_mb", "the frame itself (memory_usage deep)", r["frame_mb"], "{} MB")
        worst = max(r["filter_s"]["sentiment"], r["filter_s"]["reset"])
        big.target(f"filter on {r['rows']:,} rows ≤ {FILTER_TARGET_S:.0f} s (page recomputed)", f"{worst:.2f} s",
                   worst <= FILTER_TARGET_S)
        big.add("cross_s", "cross-filter → page recomputed (best)", r["cross_s"], "{}")
        big.add("cross_worst_s", "  (worst of the runs)", r["cross_worst_s"], "{}")
        worst_cross = max(v for k, v in r["cross_worst_s"].items())
        big.target(f"cross-filter on {r['rows']:,} rows ≤ {CROSS_FILTER_TARGET_S:.0f} s (worst click; baseline: "
                   f"a plain filter change {r['filter_s']['sentiment']} s)", f"{worst_cross:.2f} s",
                   worst_cross <= CROSS_FILTER_TARGET_S)
        big.notes.append("search = accent-insensitive regex on the texts still selected; it is the slow filter")
        sections.append(big)
    report(sections, "analysis_view.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
