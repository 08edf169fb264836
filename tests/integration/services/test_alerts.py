"""services.alerts on the real database: rules (admins only, webhooks masked), evaluation after a task with its
episode state, stored firings with their explanation, who may list them, and the in-app announcement."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from dallosh.config import Config, load_config
from dallosh.delivery import notify_queue
from dallosh.errors import NotFound, PermissionDenied, ValidationError
from dallosh.events import Subscriber, routing_key_for
from dallosh.services import SYSTEM
from dallosh.services.alerts import ALERT_EVENT, STATES
from dallosh.storage import ANALYSED
from tests.alerts_data import write_analysed
from tests.factories import make_csv
from tests.integration.ui.harness import delete_exchange, free_port

SLACK = "https://hooks.slack.com/services/T000/B000/abcdefghijklmnop"
RULE = {"name": "Panne réseau", "metric": "negative_volume", "threshold": "sigma", "k": 2.0, "window": 7}


@pytest.fixture
def config(mongo_uri: str, db_name: str, storage) -> Iterator[Config]:
    """The test database, with an exchange of its own (events of other tests never reach this one's listener)."""
    config = load_config({"DALLOSH_MONGODB_URI": mongo_uri, "DALLOSH_MONGODB_DATABASE": db_name,
                          "DALLOSH_STORAGE_ROOT": str(storage.root),
                          "DALLOSH_EVENTS_EXCHANGE": f"test-alerts-{uuid.uuid4().hex[:8]}",
                          "DALLOSH_NOTIFY_QUEUE_NAME": f"test-alerts-notify-{uuid.uuid4().hex[:8]}"},
                         env_file=Path("/nonexistent"))
    yield config
    delete_exchange(config)
    queue = notify_queue(config)  # deliveries queued by a firing: no worker here takes them
    queue.empty()
    queue.delete(delete_jobs=True)


def dataset(services, actor, name: str = "octobre.csv", **kwargs):
    """A dataset whose analysed file is the constructed one (tests/alerts_data.py); returns (file, task)."""
    file, task = services.files.add(actor, name, make_csv(3), allow_duplicate=True)
    write_analysed(services.storage.path(ANALYSED, file.uid), **kwargs)
    return file, task


def test_admins_manage_rules_and_webhooks_stay_masked(services, admin, analyst):
    rule = services.alerts.create_rule(admin, {**RULE, "webhooks": [SLACK], "emails": ["Ops@Example.com"]})
    assert rule.data.emails == ["ops@example.com"]
    assert rule.data.webhooks != [SLACK] and "••••" in rule.data.webhooks[0] and "abcdefgh" not in str(rule)
    assert [r.uid for r in services.alerts.list_rules(admin)] == [rule.uid]
    # the form sends the masked address back: the stored one is kept
    kept = services.alerts.update_rule(admin, rule.uid, {"name": "Panne", "webhooks": rule.data.webhooks})
    assert kept.data.name == "Panne"
    assert services.db.get("alert_rules", rule.uid)["data"]["webhooks"] == [SLACK]
    with pytest.raises(ValidationError, match="paste the full webhook address"):
        services.alerts.update_rule(admin, rule.uid, {"webhooks": ["https://hooks.slack.com/••••zzzz"]})
    for call in (lambda: services.alerts.list_rules(analyst),
                 lambda: services.alerts.create_rule(analyst, RULE),
                 lambda: services.alerts.update_rule(analyst, rule.uid, {"name": "x"}),
                 lambda: services.alerts.delete_rule(analyst, rule.uid)):
        with pytest.raises(PermissionDenied):
            call()
    services.alerts.delete_rule(admin, rule.uid)
    assert services.alerts.list_rules(admin) == []
    with pytest.raises(NotFound):
        services.alerts.delete_rule(admin, rule.uid)


@pytest.mark.parametrize("changes, field, words", [
    ({"name": "  "}, "name", "1 to 80"),
    ({"metric": "topic_volume"}, "topic", "choose one"),
    ({"metric": "topic_volume", "topic": "Météo"}, "topic", "one of the topics"),
    ({"k": 0.1}, "k", "between 0.5 and 10"),
    ({"window": 1}, "window", "between 3 and 90"),
    ({"threshold": "fixed", "metric": "net_sentiment", "value": -3}, "value", "for the net sentiment"),
    ({"scope": "datasets"}, "datasets", "at least one dataset"),
    ({"scope": "datasets", "datasets": ["gone"]}, "datasets", "no longer exists"),
    ({"emails": ["not-an-address"]}, "emails", "not an e-mail address"),
    ({"webhooks": ["hooks.example.com/x"]}, "webhooks", "https://"),
])
def test_rules_are_validated_in_the_admins_words(services, admin, changes, field, words):
    with pytest.raises(ValidationError, match=words) as caught:
        services.alerts.create_rule(admin, {**RULE, **changes})
    assert caught.value.field.endswith(field)


def test_a_rule_fires_once_per_episode_after_a_task(services, admin):
    rule = services.alerts.create_rule(admin, RULE)
    file, task = dataset(services, admin)
    fired = services.alerts.evaluate_after_task(SYSTEM, task)
    assert len(fired) == 1
    firing = fired[0].data
    # 4 a day before, a flat history: σ is a count's noise, √4
    assert (firing.period, firing.value, firing.threshold) == ("2025-10-10", 34.0, 8.0)
    assert firing.rule_id == rule.uid and firing.datasets == [file.uid] and firing.dataset_names == ["octobre.csv"]
    assert firing.mean == 4.0 and firing.std == 2.0 and firing.scope_key == "*" and firing.task_id == task.uid
    explanation = firing.explanation
    assert explanation["volume"] == 34 and explanation["expected"] == 4.0 and explanation["excess"] == 30.0
    terms = {t["label"]: t for t in explanation["terms"]}
    assert "panne" in terms and terms["panne"]["share"] == 1.0
    assert [h["label"].lower() for h in explanation["hashtags"]] == ["#pannefibre"]
    assert len(explanation["tweets"]) == 3 and all("panne fibre" in t["full_text"] for t in explanation["tweets"])
    # a re-run of the same task, and the same data uploaded and processed again: the episode goes on, no new firing
    assert services.alerts.evaluate_after_task(SYSTEM, task) == []
    _, again = dataset(services, admin, "octobre-bis.csv")
    assert services.alerts.evaluate_after_task(SYSTEM, again) == []
    state = services.db.get(STATES, f"{rule.uid}:*")["data"]
    assert state["in_episode"] and state["episode_start"] == "2025-10-10" and state["through"] == "2025-10-10"
    assert len(services.alerts.list_firings(admin).items) == 1


def test_the_rule_re_arms_when_the_episode_ends(services, admin):
    services.alerts.create_rule(admin, {**RULE, "threshold": "fixed", "value": 20})
    _, task = dataset(services, admin)
    assert len(services.alerts.evaluate_after_task(SYSTEM, task)) == 1
    # a later export: a quiet day ends the episode, then a new spike starts another
    _, later = dataset(services, admin, "novembre.csv", quiet_days=11, first_id=2)  # 2025-10-10 quiet, spike 10-12
    fired = services.alerts.evaluate_after_task(SYSTEM, later)
    assert [f.data.period for f in fired] == ["2025-10-12"]


def test_chosen_datasets_have_their_own_episodes_and_others_are_not_checked(services, admin):
    mine, task = dataset(services, admin, "mine.csv")
    other, other_task = dataset(services, admin, "other.csv")
    rule = services.alerts.create_rule(admin, {**RULE, "scope": "datasets", "datasets": [mine.uid]})
    assert services.alerts.evaluate_after_task(SYSTEM, other_task) == []  # not one of the rule's datasets
    fired = services.alerts.evaluate_after_task(SYSTEM, task)
    assert len(fired) == 1 and fired[0].data.scope_key == mine.uid
    assert services.db.get(STATES, f"{rule.uid}:{mine.uid}") is not None
    assert services.alerts.evaluate_after_task(SYSTEM, task) == []  # the episode goes on
    services.alerts.update_rule(admin, rule.uid, {"datasets": [mine.uid, other.uid]})
    assert len(services.alerts.evaluate_after_task(SYSTEM, other_task)) == 1  # its own episode
    # the rule now asks another question: its episodes start over
    assert len(services.alerts.evaluate_after_task(SYSTEM, task)) == 1
    services.alerts.update_rule(admin, rule.uid, {"name": "Renamed", "emails": ["ops@example.com"]})
    assert services.alerts.evaluate_after_task(SYSTEM, task) == []  # a new name or channel is the same question


def test_a_disabled_rule_and_a_quiet_dataset_do_not_fire(services, admin):
    rule = services.alerts.create_rule(admin, {**RULE, "enabled": False})
    _, task = dataset(services, admin)
    assert services.alerts.evaluate_after_task(SYSTEM, task) == []
    services.alerts.update_rule(admin, rule.uid, {"enabled": True})
    _, quiet = dataset(services, admin, "calme.csv", spike=False)
    assert services.alerts.evaluate_after_task(SYSTEM, quiet) == []
    assert len(services.alerts.evaluate_after_task(SYSTEM, task)) == 1  # control: the spike fires


def test_topic_high_priority_and_net_sentiment_rules(services, admin):
    topic = services.alerts.create_rule(admin, {**RULE, "name": "Réseau", "metric": "topic_volume", "topic": "Réseau"})
    urgent = services.alerts.create_rule(admin, {**RULE, "name": "Urgent", "metric": "high_priority"})
    net = services.alerts.create_rule(admin, {**RULE, "name": "Humeur", "metric": "net_sentiment",
                                              "threshold": "fixed", "value": -0.5, "direction": "below"})
    facturation = services.alerts.create_rule(admin, {**RULE, "name": "Factures", "metric": "topic_volume",
                                                      "topic": "Facturation"})
    _, task = dataset(services, admin)
    fired = {f.data.rule_id: f.data for f in services.alerts.evaluate_after_task(SYSTEM, task)}
    assert set(fired) == {topic.uid, urgent.uid, net.uid}  # Facturation did not move
    assert facturation.uid not in fired
    assert fired[topic.uid].value == 33.0 and fired[urgent.uid].value == 31.0
    assert fired[net.uid].value == pytest.approx((3 - 34) / 37, abs=1e-4)
    assert fired[urgent.uid].explanation["tweets"]  # explained on the priority-2 tweets


def test_readers_of_datasets_list_firings_of_datasets_that_exist(services, admin, analyst):
    services.alerts.create_rule(admin, RULE)
    file, task = dataset(services, admin)
    (firing,) = services.alerts.evaluate_after_task(SYSTEM, task)
    assert [f.uid for f in services.alerts.list_firings(analyst).items] == [firing.uid]
    assert services.alerts.get_firing(analyst, firing.uid).data.period == "2025-10-10"
    nobody = services.roles.create(admin, "nobody", [])
    services.users.create(admin, "nobody@free.com", "n0body-pass", nobody.uid)
    stranger = services.auth.login("nobody@free.com", "n0body-pass")
    with pytest.raises(PermissionDenied):
        services.alerts.list_firings(stranger)
    services.files.delete(admin, file.uid)
    assert services.alerts.list_firings(analyst).items == []  # its dataset is gone
    with pytest.raises(NotFound):
        services.alerts.get_firing(analyst, firing.uid)
    assert [f.uid for f in services.alerts.list_firings(admin).items] == [firing.uid]  # admins keep the history


def test_only_the_system_evaluates(services, admin):
    _, task = dataset(services, admin)
    with pytest.raises(PermissionDenied):
        services.alerts.evaluate_after_task(admin, task)


def test_a_firing_is_announced_without_addresses_or_secrets(services, admin, config):
    received: list[dict] = []
    arrived = threading.Event()

    def collect(message: dict) -> None:
        received.append(message)
        arrived.set()

    subscriber = Subscriber(collect, [routing_key_for(event=ALERT_EVENT)], config=config).start()
    try:
        services.alerts.create_rule(admin, {**RULE, "emails": ["ops@example.com"], "webhooks": [SLACK]})
        file, task = dataset(services, admin)
        (firing,) = services.alerts.evaluate_after_task(SYSTEM, task)
        assert arrived.wait(20), "no alert event arrived"
    finally:
        subscriber.stop()
    (message,) = received
    assert message["event"] == ALERT_EVENT and message["firing_uid"] == firing.uid
    assert message["file_id"] == file.uid
    assert "ops@example.com" not in str(message) and "hooks.slack.com" not in str(message)
    assert firing.data.in_app
    # e-mail is not set up in these settings: nothing is queued, and the firing says why in plain words
    assert firing.data.emails_sent == 0 and "e-mail is not set up" in firing.data.delivery_error


def test_a_firing_tells_its_readers_what_became_of_its_emails_and_webhooks(services, admin, analyst):
    # a mail server that refuses connections: an attempt fails at once
    services.delivery.update(admin, smtpHost="127.0.0.1", smtpPort=free_port(), smtpSecurity="none",
                             fromAddress="alerts@example.com")
    services.alerts.create_rule(admin, {**RULE, "emails": ["ops@example.com", "noc@example.com"],
                                        "webhooks": [SLACK]})
    file, task = dataset(services, admin)
    (firing,) = services.alerts.evaluate_after_task(SYSTEM, task)
    assert services.alerts.delivery_outcomes(analyst, [firing.uid]) == {
        firing.uid: {"email": {"queued": 2}, "webhook": {"queued": 1}}}
    first, second, _hook = firing.data.delivery_ids
    assert services.delivery.attempt(SYSTEM, first, final=True)["status"] == "failed"
    services.db.delete("deliveries", second)  # sent, then purged a month later (only sent ones are)
    outcomes = services.alerts.delivery_outcomes(analyst, [firing.uid])
    assert outcomes == {firing.uid: {"email": {"sent": 1, "failed": 1}, "webhook": {"queued": 1}}}
    assert "example.com" not in str(outcomes) and "hooks.slack" not in str(outcomes)  # counts, no addresses
    # a reader only hears of the firings they may read: its dataset deleted, it is gone for them
    services.files.delete(admin, file.uid)
    assert services.alerts.delivery_outcomes(analyst, [firing.uid]) == {}
    assert firing.uid in services.alerts.delivery_outcomes(admin, [firing.uid])


def test_the_rules_that_fired_are_the_alerts_pages_filter(services, admin, analyst):
    panne = services.alerts.create_rule(admin, RULE)
    services.alerts.create_rule(admin, {**RULE, "name": "Never fires", "threshold": "fixed", "value": 10_000})
    file, task = dataset(services, admin)
    services.alerts.evaluate_after_task(SYSTEM, task)
    assert services.alerts.firing_rules(analyst) == [(panne.uid, "Panne réseau")]
    services.files.delete(admin, file.uid)
    assert services.alerts.firing_rules(analyst) == []  # its only firing is no longer readable
    assert services.alerts.firing_rules(admin) == [(panne.uid, "Panne réseau")]


def test_two_workers_finishing_together_fire_once(services, admin, config):
    from dataclasses import replace

    from dallosh.schemas.alerts import EpisodeState
    from dallosh.services import Services

    rule = services.alerts.create_rule(admin, RULE)
    _, task = dataset(services, admin)
    # the compare-and-set itself: a second first save, or a save from a stale read, is refused
    alerts = services.alerts
    first = EpisodeState(rule.uid, "probe", "2025-10-10", True, "2025-10-10", 1)
    assert alerts._save_state(None, first) and not alerts._save_state(None, first)
    doc, state = alerts._load_state(rule.uid, "probe")
    assert alerts._save_state(doc, replace(state, version=state.version + 1))
    assert not alerts._save_state(doc, replace(state, version=state.version + 1))  # doc is stale now
    # two processes' services checking the same task at the same moment
    other = Services(type(services.db)(config.mongodb_uri, config.mongodb_database), services.storage, config)
    start = threading.Barrier(2)
    results: list[int] = []

    def check(svc) -> None:
        start.wait()
        results.append(len(svc.alerts.evaluate_after_task(SYSTEM, task)))

    threads = [threading.Thread(target=check, args=(s,)) for s in (services, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    other.db.close()
    assert sorted(results) == [0, 1] and len(services.alerts.list_firings(admin).items) == 1
