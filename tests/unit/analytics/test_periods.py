"""dallosh.analytics.periods: date presets, the previous period, and how each KPI moved between two periods."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dallosh import analytics as an
from dallosh.analytics.periods import HIGHER_IS_BETTER, PRESETS, Change, compare, kpi_changes

TODAY = date(2025, 9, 17)


def frame(*stamps: str, sentiments: list[str] | None = None, operator: list[str] | None = None) -> pd.DataFrame:
    return an.load_analysed(pd.DataFrame({
        "id": [str(1000 + i) for i in range(len(stamps))],
        "created_at": list(stamps),
        "sentiment": sentiments or ["neutral"] * len(stamps),
        "is_operator": operator or ["False"] * len(stamps),
    }, dtype="str"))


# ------------------------------------------------------------------------------------------------ presets


def test_presets_have_labels_and_inclusive_whole_day_ranges():
    assert PRESETS == {"last_7": "Last 7 days", "last_30": "Last 30 days", "last_90": "Last 90 days",
                       "this_month": "This month"}
    assert an.preset_range("last_7", TODAY) == (date(2025, 9, 11), TODAY)  # 11 … 17: 7 days
    assert an.preset_range("last_30", TODAY) == (date(2025, 8, 19), TODAY)
    assert an.preset_range("last_90", TODAY) == (date(2025, 6, 20), TODAY)
    assert an.preset_range("this_month", TODAY) == (date(2025, 9, 1), TODAY)
    assert an.preset_range("this_month", date(2025, 9, 1)) == (date(2025, 9, 1), date(2025, 9, 1))
    for name in PRESETS:
        start, end = an.preset_range(name, TODAY)
        assert start <= end == TODAY
    with pytest.raises(ValueError, match="unknown date preset"):
        an.preset_range("yesterday", TODAY)


def test_the_previous_period_has_the_same_length_and_ends_the_day_before():
    assert an.previous_range(date(2025, 9, 11), TODAY) == (date(2025, 9, 4), date(2025, 9, 10))
    assert an.previous_range(TODAY, TODAY) == (date(2025, 9, 16), date(2025, 9, 16))
    # This month so far (1 … 17 September, 17 days) → 15 … 31 August, not the whole of August.
    assert an.previous_range(date(2025, 9, 1), TODAY) == (date(2025, 8, 15), date(2025, 8, 31))
    # Across a leap day.
    assert an.previous_range(date(2024, 3, 1), date(2024, 3, 2)) == (date(2024, 2, 28), date(2024, 2, 29))
    with pytest.raises(ValueError, match="before it starts"):
        an.previous_range(TODAY, date(2025, 9, 16))


def test_data_range_is_the_first_and_last_local_day_ignoring_rows_without_a_date():
    df = frame("2025-09-01 21:30:00", "not a date", "2025-09-10 23:30:00", "2025-09-05 12:00:00")
    assert an.data_range(df, "UTC") == (date(2025, 9, 1), date(2025, 9, 10))
    assert an.data_range(df, "Europe/Paris") == (date(2025, 9, 1), date(2025, 9, 11))  # 23:30 UTC is 01:30
    assert an.data_range(frame("not a date"), "UTC") is None
    assert an.data_range(frame(), "UTC") is None


def test_with_dates_replaces_the_dates_and_keeps_every_other_choice():
    current = an.Filters(date_from=date(2025, 9, 11), date_to=TODAY, topics=["Réseau"], sentiments=["negative"],
                         search="panne", include_retweets=False, tz="Europe/Paris")
    previous = an.with_dates(current, *an.previous_range(date(2025, 9, 11), TODAY))
    assert (previous.date_from, previous.date_to) == (date(2025, 9, 4), date(2025, 9, 10))
    assert previous == an.Filters(date_from=date(2025, 9, 4), date_to=date(2025, 9, 10), topics=["Réseau"],
                                  sentiments=["negative"], search="panne", include_retweets=False,
                                  tz="Europe/Paris")
    assert current.date_from == date(2025, 9, 11)  # not modified
    assert an.with_dates(current, None, None).date_from is None


def test_the_previous_period_selects_its_own_whole_days_with_the_same_filters():
    df = frame("2025-09-03 23:59:59", "2025-09-04 00:00:00", "2025-09-10 23:59:59", "2025-09-11 00:00:00",
               "2025-09-17 12:00:00", "2025-09-08 12:00:00",
               operator=["False", "False", "False", "False", "False", "True"])
    current = an.Filters(date_from=date(2025, 9, 11), date_to=TODAY)
    previous = an.with_dates(current, *an.previous_range(current.date_from, current.date_to))
    assert an.apply_filters(df, current)["id"].tolist() == ["1003", "1004"]
    assert an.apply_filters(df, previous)["id"].tolist() == ["1001", "1002"]  # the operator's row stays out


# ------------------------------------------------------------------------------------------------ changes


def test_compare_gives_delta_direction_and_whether_it_is_good_news():
    assert compare(12.0, 10.0, higher_is_better=False) == Change(12.0, 10.0, 2.0, "up", False)
    assert compare(8.0, 10.0, higher_is_better=False) == Change(8.0, 10.0, -2.0, "down", True)
    assert compare(0.5, -0.25, higher_is_better=True) == Change(0.5, -0.25, 0.75, "up", True)
    assert compare(120, 100, higher_is_better=None) == Change(120.0, 100.0, 20.0, "up", None)  # neutral


def test_compare_is_flat_within_a_tiny_difference_and_none_without_a_value():
    assert compare(0.1 + 0.2, 0.3, higher_is_better=True).direction == "flat"
    assert compare(0.1 + 0.2, 0.3, higher_is_better=True).good is None
    assert compare(0.31, 0.3, higher_is_better=True).direction == "up"  # positive control: a real move
    assert compare(5.0, 4.0, higher_is_better=True, tolerance=1.0).direction == "flat"
    assert compare(None, 4.0, higher_is_better=True) == Change(None, 4.0, None, "none", None)
    assert compare(4.0, None, higher_is_better=True) == Change(4.0, None, None, "none", None)
    assert compare(float("nan"), 4.0, higher_is_better=True).direction == "none"


def test_compare_reads_durations_in_seconds():
    change = compare(pd.Timedelta(minutes=30), pd.Timedelta(hours=1), higher_is_better=False)
    assert change == Change(1800.0, 3600.0, -1800.0, "down", True)


def test_every_kpi_says_whether_higher_is_better():
    keys = set(an.kpis(frame("2025-09-01 10:00:00")))
    assert set(HIGHER_IS_BETTER) == keys
    assert HIGHER_IS_BETTER["negative_share"] is False and HIGHER_IS_BETTER["net_sentiment"] is True
    assert HIGHER_IS_BETTER["volume"] is None


def test_kpi_changes_compares_two_periods_kpis():
    df = frame("2025-09-05 10:00:00", "2025-09-06 10:00:00", "2025-09-12 10:00:00", "2025-09-13 10:00:00",
               "2025-09-14 10:00:00", sentiments=["negative", "positive", "negative", "negative", "neutral"])
    current_filters = an.Filters(date_from=date(2025, 9, 11), date_to=TODAY)
    previous_filters = an.with_dates(current_filters, *an.previous_range(date(2025, 9, 11), TODAY))
    current = an.kpis(an.apply_filters(df, current_filters))
    previous = an.kpis(an.apply_filters(df, previous_filters))
    changes = kpi_changes(current, previous)
    assert set(changes) == set(current)
    assert changes["volume"] == Change(3.0, 2.0, 1.0, "up", None)
    # negative share 2/3 vs 1/2: up, bad news
    assert changes["negative_share"].delta == pytest.approx(100 * (2 / 3 - 1 / 2))
    assert (changes["negative_share"].direction, changes["negative_share"].good) == ("up", False)
    # net sentiment -1 vs 0: down, bad news
    assert changes["net_sentiment"] == Change(-1.0, 0.0, -1.0, "down", False)
    assert changes["median_first_reply_time"].direction == "none"  # no operator reply in either period
    assert changes["engagement_median"].direction == "flat"  # 0 and 0


def test_kpi_changes_of_a_key_missing_from_the_previous_period_or_the_table():
    changes = kpi_changes({"volume": 3, "new_kpi": 2.0}, {"new_kpi": 1.0})
    assert changes["volume"].direction == "none"
    assert changes["new_kpi"] == Change(2.0, 1.0, 1.0, "up", None)
