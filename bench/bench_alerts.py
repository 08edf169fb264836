"""Alert rules checked after a 100k-row task: ``services.alerts.evaluate_after_task`` (target ≤ 2 s).

Runs against a private nx-27017 database and storage with the real services; the analysed CSV is built like
``bench_analytics.py`` does (synthetic export → real cleaning → labels drawn at random, skewed like real ones) and
registered as a dataset whose task is done, like ``bench_analysis_view.py`` does. Measured in this process:

- **floor** (baseline, same run): reading and typing the analysed file (``analytics.load_analysed``), which any
  check of the data must do;
- **check after the task, cold** (the target): fresh services (nothing cached), four rules over the dataset —
  negative tweets per day (k·σ), a topic per day (k·σ), negative tweets above a fixed number set just under the
  busiest day of the data's last week (fires for sure, on a day above its baseline, so an explanation — term index,
  log-odds, representative tweets — is always part of the number) and the net sentiment per hour below
  mean − k·σ: read + corrections + default filters, four series and thresholds, the episode states saved, each
  firing explained and stored;
- **the same task again** (a re-run): the episode states say nothing is new; what a second task on the same data
  costs.

E-mail and webhook delivery are queued jobs (``services.delivery``), and the in-app announcement is one publish on
the bus (see ``bench_events.py``): both are left out of the rules here (no broker or SMTP needed).

    .venv/bin/python bench/bench_alerts.py [--rows 100000]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

from _common import PROJECT_ROOT, Section, private_database, report, seconds
from bench_analysis_view import make_analysed, register, services_for

sys.path.insert(0, str(PROJECT_ROOT))

CHECK_TARGET_S = 2.0
RULES = [
    {"name": "Negative tweets", "metric": "negative_volume", "threshold": "sigma", "k": 2.0, "window": 7},
    {"name": "Network", "metric": "topic_volume", "topic": "Réseau", "threshold": "sigma", "k": 2.0, "window": 7},
    # its fixed value is set from the data (below) so that it fires on the busiest day of the last week
    {"name": "Busiest day", "metric": "negative_volume", "threshold": "fixed", "value": 0},
    {"name": "Mood per hour", "metric": "net_sentiment", "grain": "hour", "threshold": "sigma", "k": 2.0,
     "window": 24, "direction": "below"},
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args(argv)

    from dallosh import analytics
    from dallosh.bootstrap import bootstrap
    from dallosh.services import SYSTEM

    section = Section("alerts", f"Alert rules checked after a {args.rows:,}-row task")
    with tempfile.TemporaryDirectory() as tmp, private_database(Path(tmp), "bench_alerts") as env:
        base = Path(tmp)
        setup = services_for(env)
        bootstrap(setup)
        csv = base / "analysed.csv"
        print(f"setup: analysed csv of {args.rows:,} rows in {make_analysed(args.rows, csv, 1):.1f} s "
              f"({csv.stat().st_size / 1e6:.0f} MB)")
        uid = register(setup, "tweets-100k.csv", csv)
        admin = setup.auth.login("admin@free.com", "123456")
        from dallosh.alerts.evaluate import metric_series

        tz = setup.settings.general().timeZone
        rows = analytics.apply_filters(setup.results.corrected(admin, [uid]), analytics.Filters(tz=tz))
        busiest = float(metric_series(rows, "negative_volume", tz, "day")["value"].iloc[-7:].max())
        del rows
        for rule in RULES:
            fixed = {"value": busiest - 1} if rule["name"] == "Busiest day" else {}
            setup.alerts.create_rule(admin, {**rule, **fixed, "in_app": False})
        task = setup.tasks.find_by_file(uid)

        _, floor = seconds(lambda: analytics.load_analysed(csv))
        section.add("floor_s", "floor: read + type the analysed CSV (load_analysed)", floor, "{} s")

        services = services_for(env)  # fresh: its results cache is empty, as in a worker's job
        fired, cold = seconds(lambda: services.alerts.evaluate_after_task(SYSTEM, task))
        explained = sum(1 for f in fired if f.data.explanation.get("terms") or f.data.explanation.get("topics"))
        section.add("check_s", f"check after the task, cold ({len(RULES)} rules; {len(fired)} fired, "
                    f"{explained} explained)", cold, "{} s")
        section.line("  fired", "; ".join(f"{f.data.rule_name} on {f.data.period} ({f.data.value:g} vs "
                                          f"{f.data.threshold:g})" for f in fired) or "none")
        again, warm = seconds(lambda: services.alerts.evaluate_after_task(SYSTEM, task))
        section.add("rerun_s", f"the same task again (nothing new: {len(again)} fired)", warm, "{} s")
        section.add("over_floor", "check ÷ floor", round(cold / floor, 2) if floor else None, "{}×")
        if not explained:
            raise RuntimeError("no firing was explained: the measured check would lack the explanation's cost")
        section.target(f"check after a {args.rows:,}-row task ≤ {CHECK_TARGET_S:g} s", f"{cold:.2f} s "
                       f"(floor {floor:.2f} s)", cold <= CHECK_TARGET_S)
        section.notes.append(f"cpu count {os.cpu_count()}; the floor is what reading the file alone costs")
    report([section], "alerts.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
