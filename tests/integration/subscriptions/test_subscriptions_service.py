"""Subscriptions through the real services, database and Redis: who may do what, what is scheduled in RQ, stale
runs, unsubscribe tokens and rescheduling after the schedule was lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from rq.job import Job
from rq.registry import ScheduledJobRegistry

from dallosh.errors import NotFound, PermissionDenied, ValidationError
from dallosh.services import SYSTEM
from dallosh.services.subscriptions import job_id, signing_key, unsubscribe_token
from tests.integration.reports.analysed import add_analysed

SEVEN = datetime(2025, 10, 22, 5, 0, tzinfo=UTC)  # 07:00 in Paris


def scheduled(notify) -> dict[str, datetime]:
    registry = ScheduledJobRegistry(queue=notify)
    return {j: registry.get_scheduled_time(j) for j in registry.get_job_ids()}


def test_a_subscription_is_scheduled_in_rq_at_its_next_local_time(services, analyst, notify, clock):
    file = add_analysed(services, analyst)
    sub = services.subscriptions.create(analyst, frequency="daily", time="07:00", allDatasets=False,
                                        datasets=[file.uid], filters={"sentiments": ["negative"]})
    assert sub.data.owner == analyst.uid and sub.data.email == analyst.email
    assert sub.data.timeZone == "Europe/Paris"  # the app's by default
    assert sub.data.nextRunAt == SEVEN
    jobs = scheduled(notify)
    assert list(jobs) == [job_id(sub.uid, 1, SEVEN)]
    # RQ's scheduler reads the machine's clock: the run is due as many seconds from now as the app's clock says.
    left = (jobs[job_id(sub.uid, 1, SEVEN)] - datetime.now(UTC)).total_seconds()
    assert 8 <= left <= 11
    assert Job.fetch(job_id(sub.uid, 1, SEVEN), connection=notify.connection).args == (
        sub.uid, 1, SEVEN.isoformat())

    weekly = services.subscriptions.update(analyst, sub.uid, frequency="weekly", weekday=4, time="18:30")
    friday = datetime(2025, 10, 24, 16, 30, tzinfo=UTC)
    assert (weekly.data.version, weekly.data.nextRunAt) == (2, friday)
    assert list(scheduled(notify)) == [job_id(sub.uid, 2, friday)]  # the old run was cancelled
    services.subscriptions.delete(analyst, sub.uid)
    assert scheduled(notify) == {}


def test_owners_manage_their_own_and_admins_see_and_delete_everyones(services, admin, analyst, notify):
    mine = services.subscriptions.create(analyst, time="07:00")
    theirs = services.subscriptions.create(admin, time="09:15", frequency="weekly", weekday=6)
    assert [s.uid for s in services.subscriptions.list(analyst)] == [mine.uid]
    assert {s.uid for s in services.subscriptions.list(admin, everyone=True)} == {mine.uid, theirs.uid}
    with pytest.raises(PermissionDenied):
        services.subscriptions.list(analyst, everyone=True)
    for call in (lambda: services.subscriptions.update(analyst, theirs.uid, time="10:00"),
                 lambda: services.subscriptions.delete(analyst, theirs.uid),
                 lambda: services.subscriptions.send_now(analyst, theirs.uid),
                 lambda: services.subscriptions.get(analyst, theirs.uid)):
        with pytest.raises(PermissionDenied):
            call()
    with pytest.raises(PermissionDenied):  # admins delete anyone's, but do not edit them
        services.subscriptions.update(admin, mine.uid, time="10:00")
    assert services.subscriptions.get(admin, mine.uid).uid == mine.uid
    services.subscriptions.delete(admin, mine.uid)
    assert services.subscriptions.list(analyst) == []


def test_what_a_subscription_may_hold_is_checked(services, analyst, admin, notify):
    with pytest.raises(ValidationError) as info:
        services.subscriptions.create(analyst, allDatasets=False, datasets=["0" * 32])
    assert info.value.field == "data.datasets"
    with pytest.raises(ValidationError) as info:
        services.subscriptions.create(analyst, owner=admin.uid)  # the owner and address are the caller's
    assert info.value.field == "data.owner"
    with pytest.raises(ValidationError):
        services.subscriptions.create(analyst, email="someone@else.io")
    role = services.roles.create(admin, "viewer", ["view_overview"])
    services.users.create(admin, "viewer@free.com", "v1ewer-pass", role.uid)
    viewer = services.auth.login("viewer@free.com", "v1ewer-pass")
    with pytest.raises(PermissionDenied):  # may not read datasets: nothing to report on
        services.subscriptions.create(viewer)
    assert scheduled(notify) == {}


def test_a_run_left_from_before_an_edit_does_nothing(services, analyst, notify):
    sub = services.subscriptions.create(analyst, time="07:00")
    services.subscriptions.update(analyst, sub.uid, time="07:30")
    assert services.subscriptions.run(SYSTEM, sub.uid, 1, SEVEN).startswith("stale")
    fresh = services.subscriptions.find(sub.uid)
    assert fresh.data.lastOutcome == "" and fresh.data.nextRunAt == SEVEN + timedelta(minutes=30)
    services.subscriptions.update(analyst, sub.uid, active=False)
    assert services.subscriptions.run(SYSTEM, sub.uid, 3, SEVEN + timedelta(minutes=30)).startswith("stale")
    services.subscriptions.delete(analyst, sub.uid)
    assert services.subscriptions.run(SYSTEM, sub.uid, 3, SEVEN).startswith("stale")
    with pytest.raises(PermissionDenied):
        services.subscriptions.run(analyst, sub.uid, 3, SEVEN)


def test_the_expected_run_claims_itself_once_and_schedules_the_next(services, analyst, notify):
    """Positive control of the stale test: the current run is not stale, and a duplicate of it is."""
    sub = services.subscriptions.create(analyst, time="07:00")  # no analysed dataset: the run reports why
    outcome = services.subscriptions.run(SYSTEM, sub.uid, 1, SEVEN)
    assert outcome.startswith("error: No dataset has been analysed yet")
    after = services.subscriptions.find(sub.uid)
    assert after.data.lastOutcome == outcome and after.data.lastSentAt is None
    tomorrow = SEVEN + timedelta(days=1)
    assert after.data.nextRunAt == tomorrow
    assert job_id(sub.uid, 1, tomorrow) in scheduled(notify)
    assert services.subscriptions.run(SYSTEM, sub.uid, 1, SEVEN).startswith("stale")  # a duplicate job


def test_unsubscribe_token_switches_off_that_subscription_only(services, analyst, admin, notify):
    sub = services.subscriptions.create(analyst, time="07:00")
    other = services.subscriptions.create(admin, time="07:00")
    key = signing_key(services.config)
    with pytest.raises(NotFound):
        services.subscriptions.unsubscribe(unsubscribe_token(b"x" * 32, sub.uid))  # forged
    with pytest.raises(NotFound):
        services.subscriptions.unsubscribe(f"{other.uid}.{unsubscribe_token(key, sub.uid).partition('.')[2]}")
    assert services.subscriptions.find(sub.uid).data.active and services.subscriptions.find(other.uid).data.active
    token = unsubscribe_token(key, sub.uid)
    assert services.subscriptions.describe_token(token)["active"] == "yes"
    off = services.subscriptions.unsubscribe(token)
    assert not off.data.active and off.data.nextRunAt is None
    assert services.subscriptions.find(other.uid).data.active
    assert list(scheduled(notify)) == [job_id(other.uid, 1, SEVEN)]
    assert services.subscriptions.unsubscribe(token).data.active is False  # twice: still fine
    url = services.subscriptions.unsubscribe_url(sub.uid)
    assert url.startswith(services.config.hub_url + "hub/dallosh/unsubscribe?token=")
    services.delivery.update(admin, publicUrl="https://dallosh.example.com/")
    assert services.subscriptions.unsubscribe_url(sub.uid) == (
        f"https://dallosh.example.com/hub/dallosh/unsubscribe?token={token}")


def test_lost_runs_are_scheduled_again(services, analyst, notify):
    sub = services.subscriptions.create(analyst, time="07:00")
    assert services.subscriptions.reschedule_missing(SYSTEM) == 0
    notify.connection.delete(f"rq:job:{job_id(sub.uid, 1, SEVEN)}")
    notify.connection.delete(ScheduledJobRegistry(queue=notify).key)  # as after a Redis flush
    assert scheduled(notify) == {}
    assert services.subscriptions.reschedule_missing(SYSTEM) == 1
    assert list(scheduled(notify)) == [job_id(sub.uid, 1, SEVEN)]
    assert services.subscriptions.reschedule_missing(SYSTEM) == 0
    with pytest.raises(PermissionDenied):
        services.subscriptions.reschedule_missing(analyst)


def test_a_starting_notify_worker_schedules_lost_runs_again(services, analyst, notify, notify_workers):
    """The app's clock says the run is 10 s away, but the worker's (the machine's) says it was missed long ago: the
    worker sends it at once, then schedules the next one on its own clock."""
    from tests.integration.delivery.conftest import wait_for

    sub = services.subscriptions.create(analyst, time="07:00")
    notify.connection.delete(f"rq:job:{job_id(sub.uid, 1, SEVEN)}")
    notify.connection.delete(ScheduledJobRegistry(queue=notify).key)  # Redis lost the schedule
    assert scheduled(notify) == {}
    notify_workers.start()
    after = wait_for(lambda: (s := services.subscriptions.find(sub.uid)).data.lastOutcome and s, timeout=60,
                     what="the missed run")
    assert after.data.lastOutcome.startswith("error: No dataset has been analysed yet")  # it ran, as the analyst
    assert after.data.nextRunAt > datetime.now(UTC)  # the next one, on the machine's clock
    assert list(scheduled(notify)) == [job_id(sub.uid, 1, after.data.nextRunAt)], notify_workers.logs()[-3000:]
