"""Scheduled reports without a server: when the next run is (DST and weekday boundaries), which days it covers,
the unsubscribe tokens and the stored filters as the Analysis page's."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from dallosh.analytics import Filters
from dallosh.config import load_config
from dallosh.errors import ValidationError
from dallosh.schemas import parse
from dallosh.schemas.subscriptions import ReportFilters, SubscriptionData
from dallosh.services.subscriptions import (
    analytics_filters,
    job_id,
    next_run,
    report_period,
    signing_key,
    token_uid,
    unsubscribe_token,
)


def sub(**fields) -> SubscriptionData:
    return parse(SubscriptionData, {"owner": "u1", "email": "a@b.io", "timeZone": "Europe/Paris", **fields})


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_run_is_today_when_the_time_is_still_ahead_else_tomorrow():
    daily = sub(time="08:00")
    # Paris is UTC+2 in summer: 08:00 local = 06:00 UTC.
    assert next_run(daily, utc(2025, 6, 10, 5, 59)) == utc(2025, 6, 10, 6, 0)
    assert next_run(daily, utc(2025, 6, 10, 6, 0)) == utc(2025, 6, 11, 6, 0)  # strictly after: no double run
    assert next_run(daily, utc(2025, 6, 10, 23, 30)) == utc(2025, 6, 11, 6, 0)  # already the 11th in Paris


def test_daily_run_keeps_its_local_time_across_both_dst_changes():
    daily = sub(time="08:00")
    # Spring forward (30 March 2025, 02:00 → 03:00): 08:00 is 07:00 UTC before, 06:00 UTC after.
    assert next_run(daily, utc(2025, 3, 29, 12, 0)) == utc(2025, 3, 30, 6, 0)
    assert next_run(daily, utc(2025, 3, 28, 12, 0)) == utc(2025, 3, 29, 7, 0)
    # Fall back (26 October 2025, 03:00 → 02:00).
    assert next_run(daily, utc(2025, 10, 25, 12, 0)) == utc(2025, 10, 26, 7, 0)
    assert next_run(daily, utc(2025, 10, 24, 12, 0)) == utc(2025, 10, 25, 6, 0)


def test_times_skipped_or_repeated_by_dst_run_once():
    skipped = sub(time="02:30")  # does not exist on 30 March 2025 in Paris
    run = next_run(skipped, utc(2025, 3, 29, 12, 0))
    assert run == utc(2025, 3, 30, 1, 30)  # 03:30 summer time: half an hour after the change
    assert run.astimezone(skipped_zone()).strftime("%H:%M") == "03:30"
    assert next_run(skipped, run) == utc(2025, 3, 31, 0, 30)  # back to 02:30 the next day
    repeated = sub(time="02:30")  # happens twice on 26 October 2025: the first one (summer time)
    first = next_run(repeated, utc(2025, 10, 25, 12, 0))
    assert first == utc(2025, 10, 26, 0, 30)
    assert next_run(repeated, first) == utc(2025, 10, 27, 1, 30)  # not again at the second 02:30


def skipped_zone():
    from zoneinfo import ZoneInfo

    return ZoneInfo("Europe/Paris")


def test_weekly_run_on_its_weekday_including_the_day_boundary_in_its_zone():
    monday = sub(frequency="weekly", weekday=0, time="07:30", timeZone="America/New_York")
    # Sunday 8 June 2025 23:00 in New York is already Monday 03:00 UTC: the run is Monday 07:30 New York.
    assert next_run(monday, utc(2025, 6, 9, 3, 0)) == utc(2025, 6, 9, 11, 30)
    assert next_run(monday, utc(2025, 6, 9, 11, 30)) == utc(2025, 6, 16, 11, 30)  # a week later
    sunday = sub(frequency="weekly", weekday=6, time="23:45", timeZone="Asia/Tokyo")
    # Sunday 23:45 in Tokyo is Sunday 14:45 UTC.
    assert next_run(sunday, utc(2025, 6, 8, 14, 44)) == utc(2025, 6, 8, 14, 45)
    assert next_run(sunday, utc(2025, 6, 8, 14, 46)) == utc(2025, 6, 15, 14, 45)
    across_dst = sub(frequency="weekly", weekday=0, time="09:00")
    assert next_run(across_dst, utc(2025, 3, 24, 8, 0)) == utc(2025, 3, 31, 7, 0)  # 08:00 UTC before, 07:00 after


def test_period_is_the_local_day_or_week_before_the_run():
    due = utc(2025, 10, 21, 22, 30)  # already 22 October in Paris
    assert (report_period(sub(), due).start, report_period(sub(), due).end) == (date(2025, 10, 21),) * 2
    weekly = report_period(sub(frequency="weekly", weekday=2), due)
    assert (weekly.start, weekly.end, weekly.days) == (date(2025, 10, 15), date(2025, 10, 21), 7)
    assert report_period(sub(timeZone="UTC"), due).start == date(2025, 10, 20)


def test_schedule_fields_are_checked():
    for fields, name in (({"time": "8:00"}, "time"), ({"time": "24:00"}, "time"), ({"weekday": 7}, "weekday"),
                         ({"timeZone": "Mars/Olympus"}, "timeZone"),
                         ({"allDatasets": False, "datasets": []}, "datasets"),
                         ({"filters": {"sentiments": ["angry"]}}, "filters.sentiments"),
                         ({"filters": {"priorities": [5]}}, "filters.priorities")):
        with pytest.raises(ValidationError) as info:
            sub(**fields)
        assert info.value.field == f"data.{name}"
    assert sub(time="23:59", weekday=6, allDatasets=False, datasets=["x"]).hour_minute == (23, 59)


def test_tokens_name_one_subscription_and_need_the_key():
    key, other = b"k" * 32, b"o" * 32
    token = unsubscribe_token(key, "abc123")
    assert token_uid(key, token) == "abc123"
    assert token_uid(other, token) is None  # made with another key
    uid, _, mac = token.partition(".")
    assert token_uid(key, f"def456.{mac}") is None  # the signature of one subscription does not open another
    assert token_uid(key, f"{uid}.{mac[:-1]}0" if mac[-1] != "0" else f"{uid}.{mac[:-1]}1") is None
    for bad in ("", "abc123", ".", "abc123.", "../x.y", None):
        assert token_uid(key, bad) is None  # type: ignore[arg-type]


def test_signing_key_is_generated_once_or_derived_from_the_secret(tmp_path: Path):
    env = {"DALLOSH_STORAGE_ROOT": str(tmp_path)}
    config = load_config(env, env_file=Path("/nonexistent"))
    first = signing_key(config)
    assert len(first) == 32 and signing_key(config) == first
    assert (tmp_path / "run" / "unsubscribe-key").stat().st_mode & 0o077 == 0  # the app's account only
    secret = load_config({**env, "DALLOSH_SECRET_KEY": "s3cret"}, env_file=Path("/nonexistent"))
    assert signing_key(secret) not in (first, b"s3cret") and signing_key(secret) == signing_key(secret)


def test_stored_filters_become_the_analysis_filters():
    stored = ReportFilters(topics=["Réseau"], sentiments=["negative"], priorities=[2], includeRetweets=False,
                           includeOperator=True, search="panne")
    assert analytics_filters(stored) == Filters(topics=["Réseau"], sentiments=["negative"], priorities=[2],
                                                include_retweets=False, include_operator=True, search="panne")
    assert analytics_filters(ReportFilters()) == Filters()
    assert stored.describe() == ("sentiment negative; priority 2; topics Réseau; containing “panne”; no retweets; "
                                 "operator replies included")


def test_job_ids_differ_per_version_and_due_time():
    due = utc(2025, 10, 22, 5, 0)
    assert job_id("s1", 1, due) == "subscription-s1-v1-20251022T0500"
    assert job_id("s1", 2, due) != job_id("s1", 1, due)
