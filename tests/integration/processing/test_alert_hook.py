"""The worker checks the alert rules when a task is done: a real task (real worker, queue, bus, built-in analyzer)
on a constructed export with a spike fires a rule, announces it on the bus, and a broken rule fails nothing."""

from __future__ import annotations

from dallosh.services import SYSTEM
from dallosh.services.alerts import ALERT_EVENT, RULES, STATES
from tests.alerts_data import export_csv
from tests.conftest import wait_status
from tests.integration.delivery.conftest import wait_for


def test_a_real_task_fires_a_rule_once_and_a_broken_rule_fails_nothing(services, admin, analyst, runtime, workers,
                                                                      subscribe):
    # stored by hand: not a valid rule any more (as an older version might have left it)
    services.db.insert(RULES, {"name": "Cassée", "metric": "bogus", "enabled": True}, by="system")
    rule = services.alerts.create_rule(admin, {"name": "Panne réseau", "metric": "negative_volume", "k": 2.0,
                                               "window": 7})
    file, task = services.files.add(analyst, "pic.csv", export_csv())
    events = subscribe(file.uid)
    workers.start()
    services.tasks.request(analyst, task.uid, "start")
    received = events.wait_for(lambda items: any(e["event"] == ALERT_EVENT for e in items)
                               or any(e["event"] == "on_error" for e in items), 120)
    assert wait_status(services, task.uid, {"done", "on_error"}) == "done", workers.logs()[-3000:]
    alert = next(e for e in received if e["event"] == ALERT_EVENT)
    names = [e["event"] for e in received]
    assert names.index("done") < names.index(ALERT_EVENT)  # checked once the task is done

    firings = services.alerts.list_firings(analyst).items
    assert [f.uid for f in firings] == [alert["firing_uid"]]
    firing = firings[0].data
    assert firing.rule_id == rule.uid and firing.period == "2025-10-10" and firing.task_id == task.uid
    assert firing.value > firing.threshold and firing.in_app
    assert any(t["label"] == "panne" for t in firing.explanation["terms"])
    # the numbers are the Analysis page's: negative customer tweets of that day, corrections included
    from dallosh import analytics

    rows = analytics.apply_filters(services.results.corrected(analyst, [file.uid]),
                                   analytics.Filters(tz=services.settings.general().timeZone, date_from="2025-10-10",
                                                     date_to="2025-10-10", sentiments=["negative"]))
    assert firing.value == len(rows)
    assert "could not be checked" not in workers.logs() and "is not valid and was skipped" in workers.logs()

    # the same task run again: the rule is checked again (its state is saved once more), and nothing fires twice
    version = services.db.get(STATES, f"{rule.uid}:*")["data"]["version"]
    services.tasks.request(analyst, task.uid, "start")
    assert wait_status(services, task.uid, {"done", "on_error"}) == "done"
    wait_for(lambda: services.db.get(STATES, f"{rule.uid}:*")["data"]["version"] > version,
             what="the rule checked after the second run")
    assert len(services.alerts.list_firings(SYSTEM).items) == 1
