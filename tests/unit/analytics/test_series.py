"""dallosh.analytics.series: the timeline's grain (hour, day, ISO week, month), its buckets and spikes."""

from __future__ import annotations

import pandas as pd
import pytest

from dallosh import analytics as an


def frame(*stamps: str, sentiments: list[str] | None = None) -> pd.DataFrame:
    """Analysed rows at these UTC times (export format), neutral unless ``sentiments`` says otherwise."""
    return an.load_analysed(pd.DataFrame({
        "id": [str(1000 + i) for i in range(len(stamps))],
        "created_at": list(stamps),
        "sentiment": sentiments or ["neutral"] * len(stamps),
    }, dtype="str"))


@pytest.mark.parametrize(("days", "grain"), [
    (1, "hour"), (3, "hour"), (4, "day"), (120, "day"), (121, "week"), (730, "week"), (731, "month"), (5000, "month"),
])
def test_the_grain_follows_the_span(days: int, grain: str):
    assert an.choose_grain(days) == grain


def test_two_days_are_drawn_per_hour_with_empty_hours_at_zero():
    out = an.timeline(frame("2025-09-01 10:30:00", "2025-09-01 10:59:59", "2025-09-02 09:10:00"))
    assert out.attrs["grain"] == "hour" and set(out["grain"]) == {"hour"}
    assert len(out) == 24  # 10:00 on the 1st … 09:00 on the 2nd
    assert out["day"].iloc[0] == pd.Timestamp("2025-09-01 10:00") and out["day"].iloc[-1] == pd.Timestamp(
        "2025-09-02 09:00")
    assert out["volume"].tolist() == [2] + [0] * 22 + [1]


def test_a_quarter_is_drawn_per_day_like_daily_volume_and_sentiment():
    df = frame("2025-07-01 12:00:00", "2025-07-01 13:00:00", "2025-09-28 08:00:00")  # 90 days
    out = an.timeline(df, "Europe/Paris")
    daily = an.daily_volume_and_sentiment(df, "Europe/Paris")
    assert out.attrs["grain"] == "day" and len(out) == 90
    pd.testing.assert_frame_equal(out.drop(columns="grain"), daily)


def test_weeks_are_iso_weeks_starting_on_monday():
    # Wednesday 3, Monday 8 and Sunday 14 September 2025; forced grain (the span alone would give days).
    out = an.timeline(frame("2025-09-03 12:00:00", "2025-09-08 00:00:00", "2025-09-14 23:59:59"), grain="week")
    assert out["day"].tolist() == [pd.Timestamp("2025-09-01"), pd.Timestamp("2025-09-08")]
    assert out["volume"].tolist() == [1, 2]
    assert out.attrs["grain"] == "week"


def test_a_year_is_drawn_per_week_and_the_week_follows_the_time_zone():
    # Sunday 7 September 22:30 UTC is Monday 8 September 00:30 in Paris: another week there.
    df = frame("2025-01-06 12:00:00", "2025-09-07 22:30:00", "2025-12-31 12:00:00")
    utc, paris = an.timeline(df), an.timeline(df, "Europe/Paris")
    assert utc.attrs["grain"] == paris.attrs["grain"] == "week"
    assert (utc["day"].dt.day_of_week == 0).all()  # every period starts on a Monday
    assert utc.loc[utc["volume"] > 0, "day"].tolist()[1] == pd.Timestamp("2025-09-01")
    assert paris.loc[paris["volume"] > 0, "day"].tolist()[1] == pd.Timestamp("2025-09-08")


def test_several_years_are_drawn_per_month_with_their_sentiment():
    df = frame("2022-01-15 12:00:00", "2022-01-31 23:00:00", "2022-03-01 00:00:00", "2024-12-31 12:00:00",
               sentiments=["negative", "positive", "negative", ""])
    out = an.timeline(df)
    assert out.attrs["grain"] == "month" and len(out) == 36  # January 2022 … December 2024
    assert out["day"].iloc[[0, 2, 35]].tolist() == [pd.Timestamp("2022-01-01"), pd.Timestamp("2022-03-01"),
                                                     pd.Timestamp("2024-12-01")]
    assert out["volume"].iloc[[0, 1, 2, 35]].tolist() == [2, 0, 1, 1]
    assert out.loc[0, ["negative", "positive"]].tolist() == [1, 1]
    assert out.loc[0, "negative_share"] == pytest.approx(50.0)
    assert pd.isna(out.loc[35, "negative_share"])  # no label that month


def test_hourly_spikes_compare_with_the_24_hours_before():
    stamps = []
    for hour, count in enumerate([2] * 24 + [9, 2]):  # 1 September 00:00 … 2 September 01:00
        day, h = 1 + hour // 24, hour % 24
        stamps += [f"2025-09-{day:02d} {h:02d}:{k:02d}:00" for k in range(count)]
    out = an.timeline(frame(*stamps))
    assert out.attrs["grain"] == "hour" and len(out) == 26
    assert out["trailing_mean"].iloc[:24].isna().all()  # not 24 hours of history yet
    assert out["spike"].tolist() == [False] * 24 + [True, False]  # 9 > 2 + 2·0; back to 2 is no spike


def test_a_flat_hourly_series_has_no_spike():
    stamps = [f"2025-09-{1 + h // 24:02d} {h % 24:02d}:00:00" for h in range(30)]
    out = an.timeline(frame(*stamps))
    assert len(out) == 30 and not out["spike"].any()
    assert out["threshold"].iloc[24:].tolist() == [1.0] * 6  # spikes are computed there, just none


def test_a_forced_grain_wins_over_the_span_and_an_unknown_one_is_refused():
    df = frame("2025-09-01 10:00:00", "2025-09-01 11:00:00")
    assert an.timeline(df).attrs["grain"] == "hour"
    assert an.timeline(df, grain="month")["volume"].tolist() == [2]
    with pytest.raises(ValueError, match="unknown grain"):
        an.timeline(df, grain="fortnight")


def test_rows_without_a_date_are_left_out_and_an_empty_frame_gives_an_empty_timeline():
    out = an.timeline(frame("2025-09-01 10:00:00", "not a date"))
    assert out["volume"].tolist() == [1]
    empty = an.timeline(frame("not a date"))
    assert empty.empty and empty.attrs["grain"] == "day"
    assert list(empty.columns) == [*an.daily_volume_and_sentiment(frame()).columns, "grain"]
