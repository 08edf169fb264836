"""The report's content on the real services: Analysis's numbers for the same filters, the spike explained, the
user's permissions checked."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from dallosh import analytics
from dallosh.errors import NotFound, PermissionDenied, ValidationError
from dallosh.reports import Period, build_report, parse_period
from dallosh.services import SYSTEM
from tests.integration.reports.analysed import SPIKE_DAY, add_analysed

WEEK = Period(date(2025, 10, 15), date(2025, 10, 21))


def analysis_numbers(services, actor, uid: str, start: date, end: date) -> dict:
    """What the Analysis page computes for these dates with its default filters (its own calls, by hand)."""
    frame = services.results.corrected(actor, [uid])
    tz = services.settings.general().timeZone
    rows = analytics.apply_filters(frame, analytics.Filters(date_from=start, date_to=end, tz=tz))
    return analytics.kpis(rows, replies_from=frame)


def test_the_numbers_are_analysis_numbers_with_corrections(services, analyst):
    file = add_analysed(services, analyst)
    services.corrections.correct(analyst, file.uid, "11501", "sentiment", "negative", old_value="positive")
    report = build_report(services, analyst, WEEK, datasets=["octobre.csv"])
    expected = analysis_numbers(services, analyst, file.uid, WEEK.start, WEEK.end)
    assert report.kpis == expected
    # By hand: 7 days × 8 customer tweets + 12 on the 20th = 68 (the operator's 7 replies left out); negative:
    # 4 a day (the 15th's corrected 5th) + 12 = 41 of 68.
    assert expected["volume"] == 68 and expected["negative_share"] == pytest.approx(100 * 41 / 68)
    previous = analysis_numbers(services, analyst, file.uid, date(2025, 10, 8), date(2025, 10, 14))
    assert report.previous_kpis == previous and report.previous.label == "2025-10-08 – 2025-10-14"
    volume = next(c for c in report.cards if c.key == "volume")
    assert volume.value == "68" and volume.arrow == "▲" and volume.change == "+12 (+21 %) vs the previous 7 days"
    negative = next(c for c in report.cards if c.key == "negative_share")
    assert negative.value == "60.3 %" and negative.tone == "bad"
    assert [b.label for b in report.sentiments] == ["negative", "neutral", "positive"]
    assert sum(b.count for b in report.topics) == 68 and report.topics[0].label == "Réseau"


def test_the_spike_of_the_period_is_explained(services, analyst):
    add_analysed(services, analyst)
    report = build_report(services, analyst, WEEK)  # every analysed dataset
    assert report.grain == "day"
    overall = next(s for s in report.spikes if s.scope == "all")
    assert overall.start == pd.Timestamp(f"2025-10-{SPIKE_DAY}") and overall.volume == 20
    # 13 of 20 tweets hold "panne" and "fibre" (1 a day before): all 12 extra tweets; "paris" is new (12 of 20).
    assert [(r.key, r.count, r.baseline, r.share) for r in overall.terms] == [
        ("fibre", 13, 7, 1.0), ("panne", 13, 7, 1.0), ("paris", 12, 0, 1.0)]
    assert [r.key for r in overall.hashtags] == ["#pannefree"]
    assert len(overall.tweets) == 3 and all("fibre" in t["full_text"] for t in overall.tweets)
    assert {s.scope for s in report.spikes} >= {"all", "negative", ("topic", "Réseau")}
    quiet = build_report(services, analyst, Period(date(2025, 10, 15), date(2025, 10, 19)))
    assert quiet.spikes == ()  # no spike before the 20th (the positive control is above)


def test_unknown_dataset_no_permission_and_bad_period_are_sentences(services, analyst):
    add_analysed(services, analyst)
    with pytest.raises(NotFound, match="No dataset is named 'septembre.csv'"):
        build_report(services, analyst, WEEK, datasets=["septembre.csv"])
    role = services.roles.create(SYSTEM, "no-read", ["use_notebooks"])
    services.users.create(SYSTEM, "noread@free.com", "s3cret-pass-1", role.uid)
    outsider = services.auth.login("noread@free.com", "s3cret-pass-1")
    with pytest.raises(PermissionDenied):
        build_report(services, outsider, WEEK, datasets=["octobre.csv"])
    with pytest.raises(ValidationError, match="is not understood"):
        parse_period("last week", date(2025, 10, 21))
    with pytest.raises(ValidationError, match="ends"):
        parse_period("2025-10-21..2025-10-01", date(2025, 10, 21))
    # Positive controls: the same dataset, user and a well-formed period.
    assert build_report(services, analyst, parse_period("2025-10-15..2025-10-21", date(2025, 10, 21)),
                        datasets=["octobre.csv"]).kpis["volume"] == 68


def test_a_shared_file_name_asks_for_the_id(services, analyst):
    first = add_analysed(services, analyst)
    add_analysed(services, analyst)
    with pytest.raises(ValidationError, match="matches 2 datasets"):
        build_report(services, analyst, WEEK, datasets=["octobre.csv"])
    assert build_report(services, analyst, WEEK, datasets=[first.uid]).datasets[0].uid == first.uid


@pytest.mark.parametrize(("text", "start", "end"), [
    ("yesterday", date(2025, 10, 20), date(2025, 10, 20)),
    ("last-7-days", date(2025, 10, 15), date(2025, 10, 21)),
    ("this-month", date(2025, 10, 1), date(2025, 10, 21)),
    ("last-month", date(2025, 9, 1), date(2025, 9, 30)),
    ("2025-10-03", date(2025, 10, 3), date(2025, 10, 3)),
])
def test_period_forms(text, start, end):
    assert parse_period(text, date(2025, 10, 21)) == Period(start, end)


def test_a_report_in_another_time_zone_cuts_its_days_there(services, analyst):
    """A scheduled report's days are its subscriber's: 15:00–17:59 UTC is already the next day in Tokyo."""
    file = add_analysed(services, analyst)
    day = Period(date(2025, 10, SPIKE_DAY), date(2025, 10, SPIKE_DAY))
    frame = services.results.corrected(analyst, [file.uid])

    def volume_in(tz: str) -> int:
        rows = analytics.apply_filters(frame, analytics.Filters(date_from=day.start, date_to=day.end, tz=tz))
        return analytics.kpis(rows, replies_from=frame)["volume"]

    tokyo = build_report(services, analyst, day, datasets=[file.uid], tz="Asia/Tokyo")
    paris = build_report(services, analyst, day, datasets=[file.uid])  # the app's zone
    assert tokyo.tz == "Asia/Tokyo" and tokyo.kpis["volume"] == volume_in("Asia/Tokyo")
    assert paris.kpis["volume"] == volume_in("Europe/Paris")
    assert tokyo.kpis["volume"] != paris.kpis["volume"]  # the zone really moved rows between days


def test_a_period_without_tweets_says_where_the_tweets_are_at_the_top(services, analyst):
    add_analysed(services, analyst)
    empty = build_report(services, analyst, Period(date(2026, 12, 5), date(2026, 12, 5)))
    assert empty.kpis["volume"] == 0
    (note,) = empty.notes
    assert "No tweet of octobre.csv falls in 2026-12-05: their tweets run from 2025-10-01 to 2025-10-21." in note
    from dallosh.reports.html import render_html

    html = render_html(empty)
    assert html.index("No tweet of octobre.csv") < html.index("Key figures")  # read first, not in a footer
    assert build_report(services, analyst, WEEK).notes == ()  # positive control: a period with tweets
