"""dallosh.alerts.evaluate on constructed data where the answer is known: fires, does not fire, fires once per
episode, re-arms after it, net sentiment below a floor, a topic's volume, fixed vs k·σ, too little history."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dallosh import analytics
from dallosh.alerts.evaluate import (
    MIN_POLAR_TWEETS,
    metric_series,
    period_key,
    run_episodes,
    thresholds,
    trailing,
)

START = pd.Timestamp("2025-10-01")


def frame(per_day: list[list[tuple[str, str, int]]]) -> pd.DataFrame:
    """Typed rows: for day ``d`` the tweets ``(sentiment, topic, priority)`` of ``per_day[d]``, at noon UTC."""
    rows = []
    for day, tweets in enumerate(per_day):
        for k, (sentiment, topic, priority) in enumerate(tweets):
            rows.append({"id": f"{day}{k:04d}", "full_text": f"tweet {k}", "sentiment": sentiment,
                         "main_topic": topic, "priority": str(priority),
                         "created_at": f"{START + pd.Timedelta(days=day):%Y-%m-%d} 12:{k % 60:02d}:00"})
    return analytics.load_analysed(pd.DataFrame(rows))


def negatives(counts: list[int], others: int = 5) -> pd.DataFrame:
    """Days with ``counts[d]`` negative tweets (Réseau, priority 2) and ``others`` neutral ones."""
    return frame([[("negative", "Réseau", 2)] * n + [("neutral", "Offres", 0)] * others for n in counts])


def check(values, **rule) -> tuple[list[int], object]:
    """The fired indices of a first check over every period, and the outcome."""
    rule = {"kind": "sigma", "direction": "above", "k": 2.0, "window": 7, **rule}
    limits = thresholds(np.asarray(values, dtype=float), **rule)
    keys = [f"2025-10-{d + 1:02d}" for d in range(len(values))]
    outcome = run_episodes(keys, limits.checked, limits.breach, first_check=len(values))
    return outcome.fired, outcome


QUIET = [10, 12, 9, 11, 10, 12, 11, 10, 9, 11]


def test_the_series_counts_what_analysis_counts():
    rows = negatives([3, 0, 5])
    series = metric_series(rows, "negative_volume", "UTC", "day")
    assert series["key"].tolist() == ["2025-10-01", "2025-10-02", "2025-10-03"]
    assert series["value"].tolist() == [3.0, 0.0, 5.0]  # a day without negatives counts 0, it is not skipped
    line = analytics.timeline(rows, "UTC", "day")
    assert series["value"].tolist() == line["negative"].astype(float).tolist()
    assert metric_series(rows, "high_priority", "UTC", "day")["value"].tolist() == [3.0, 0.0, 5.0]
    topic = metric_series(rows, "topic_volume", "UTC", "day", topic="Offres")
    assert topic["value"].tolist() == [5.0, 5.0, 5.0]
    assert metric_series(rows, "topic_volume", "UTC", "day", topic="Matériel")["value"].tolist() == [0.0] * 3


def test_hours_are_local_and_keyed_by_hour():
    rows = negatives([2])
    series = metric_series(rows, "negative_volume", "Europe/Paris", "hour")
    assert series["key"].tolist() == ["2025-10-01T14:00"]  # noon UTC is 14:00 in Paris in October
    assert period_key(pd.Timestamp("2025-10-01 09:00"), "day") == "2025-10-01"


def test_sigma_is_taken_over_the_window_before_the_period_only():
    values = np.array([1, 2, 3, 4, 5, 6, 7, 100], dtype=float)
    mean, std = trailing(values, 7)
    assert np.isnan(mean[:7]).all()  # no full window of history yet
    assert mean[7] == pytest.approx(4.0) and std[7] == pytest.approx(np.std(values[:7], ddof=1))
    # the period under test is left out: 100 does not raise its own threshold
    limits = thresholds(values, kind="sigma", direction="above", k=2, window=7)
    assert limits.threshold[7] == pytest.approx(4.0 + 2 * np.std(values[:7], ddof=1))
    assert limits.breach.tolist() == [False] * 7 + [True]


def test_counts_have_at_least_a_counts_noise_so_a_flat_history_does_not_alert_on_one_more_tweet():
    flat = np.array([4, 4, 4, 4, 4, 4, 4, 5, 9], dtype=float)
    counts = thresholds(flat, kind="sigma", direction="above", k=2, window=7, counts=True)
    assert counts.std[7] == pytest.approx(2.0) and counts.threshold[7] == pytest.approx(8.0)  # 4 + 2·√4
    assert counts.breach.tolist() == [False] * 7 + [False, True]  # 5 is noise; 9 is past 4 + 2·√4.57…
    silent = np.array([0, 0, 0, 0, 0, 0, 0, 1, 3], dtype=float)  # an hour's 0 → 1 is not an alert; 0 → 3 is
    assert thresholds(silent, kind="sigma", direction="above", k=2, window=7, counts=True).breach.tolist()[7:] == [
        False, True]
    # a ratio (net sentiment) keeps its own σ: a flat history's σ = 0 makes any move past the mean unusual
    ratio = thresholds(flat / 10, kind="sigma", direction="above", k=2, window=7)
    assert ratio.std[7] == 0 and ratio.breach[7]


def test_a_spike_fires_and_a_quiet_series_does_not():
    fired, _ = check(QUIET + [30])
    assert fired == [10]
    fired, outcome = check(QUIET + [12])
    assert fired == [] and outcome.checked == 11  # checked, not fired (positive control above)


def test_one_episode_fires_once_and_the_rule_re_arms_after_it():
    values = QUIET + [30, 32, 35, 11, 10, 40]
    limits = thresholds(np.asarray(values, dtype=float), kind="fixed", direction="above", value=20)
    keys = [f"2025-10-{d + 1:02d}" for d in range(len(values))]
    outcome = run_episodes(keys, limits.checked, limits.breach, first_check=len(values))
    assert outcome.fired == [10, 15]  # three days past the threshold: one firing; back under it, then again
    assert outcome.in_episode and outcome.episode_start == keys[15] and outcome.through == keys[-1]


def test_a_second_check_of_the_same_data_does_not_fire_again_but_new_periods_do():
    values = np.asarray(QUIET + [30, 31], dtype=float)
    keys = [f"2025-10-{d + 1:02d}" for d in range(len(values))]
    limits = thresholds(values, kind="fixed", direction="above", value=20)
    first = run_episodes(keys, limits.checked, limits.breach, first_check=len(keys))
    assert first.fired == [10]
    again = run_episodes(keys, limits.checked, limits.breach, through=first.through, in_episode=first.in_episode,
                         episode_start=first.episode_start)
    assert again.fired == [] and again.in_episode  # the re-run: the episode goes on, nothing new to say
    # more data: the episode ends (a quiet day), then a new one starts
    more = np.asarray(list(values) + [10, 25], dtype=float)
    more_keys = keys + ["2025-10-13", "2025-10-14"]
    limits = thresholds(more, kind="fixed", direction="above", value=20)
    later = run_episodes(more_keys, limits.checked, limits.breach, through=again.through,
                         in_episode=again.in_episode, episode_start=again.episode_start)
    assert later.fired == [13] and later.checked == 3  # the last checked day is walked again, then two new ones


def test_a_partial_last_period_completed_later_fires_then():
    keys = [f"2025-10-{d + 1:02d}" for d in range(11)]
    partial = thresholds(np.asarray(QUIET + [5], dtype=float), kind="fixed", direction="above", value=20)
    first = run_episodes(keys, partial.checked, partial.breach, first_check=11)
    assert first.fired == [] and first.through == keys[-1]
    complete = thresholds(np.asarray(QUIET + [28], dtype=float), kind="fixed", direction="above", value=20)
    later = run_episodes(keys, complete.checked, complete.breach, through=first.through, in_episode=False)
    assert later.fired == [10]


def test_the_first_check_looks_at_the_latest_periods_only():
    values = QUIET[:5] + [40] + QUIET + [41]  # an old spike (day 6) and a recent one (the last day)
    limits = thresholds(np.asarray(values, dtype=float), kind="fixed", direction="above", value=20)
    keys = [f"2025-10-{d + 1:02d}" for d in range(len(values))]
    outcome = run_episodes(keys, limits.checked, limits.breach, first_check=7)
    assert outcome.fired == [len(values) - 1]
    everything = run_episodes(keys, limits.checked, limits.breach, first_check=len(values))
    assert everything.fired == [5, len(values) - 1]  # control: the old one is there when looked at


def test_too_little_history_never_fires_a_sigma_rule_but_a_fixed_one_may():
    values = [10, 11, 50]
    fired, outcome = check(values, window=7)
    assert fired == [] and outcome.checked == 3
    fired, _ = check(values, kind="fixed", value=20)
    assert fired == [2]
    fired, _ = check(values, window=2)  # positive control: with a window the data can fill, it fires
    assert fired == [2]


def test_fixed_and_sigma_thresholds_disagree_where_they_should():
    values = QUIET + [18]
    assert check(values)[0] == [10]  # 18 is far above a quiet ~10.5 ± 1.1
    assert check(values, kind="fixed", value=20)[0] == []  # but below a fixed 20
    assert check(values, kind="sigma", k=8)[0] == []  # and not 8 σ away


def test_a_topic_volume_rule_fires_on_its_topic_only():
    days = [[("neutral", "Réseau", 0)] * 5 + [("neutral", "Offres", 0)] * 5 for _ in range(9)]
    days[8] = days[8] + [("negative", "Réseau", 1)] * 20
    rows = frame(days)
    reseau = metric_series(rows, "topic_volume", "UTC", "day", topic="Réseau")["value"].to_numpy()
    offres = metric_series(rows, "topic_volume", "UTC", "day", topic="Offres")["value"].to_numpy()
    assert check(reseau, kind="fixed", value=20)[0] == [8]
    assert check(offres, kind="fixed", value=20)[0] == []


def test_net_sentiment_below_a_floor():
    happy = [("positive", "Offres", 0)] * 12 + [("negative", "Réseau", 1)] * 4  # +0.5
    angry = [("positive", "Offres", 0)] * 3 + [("negative", "Réseau", 1)] * 13  # −0.625
    rows = frame([happy] * 8 + [angry])
    net = metric_series(rows, "net_sentiment", "UTC", "day")["value"].to_numpy()
    assert net[0] == pytest.approx(0.5) and net[-1] == pytest.approx(-10 / 16)
    assert check(net, kind="fixed", direction="below", value=-0.3)[0] == [8]
    assert check(net, kind="fixed", direction="above", value=-0.3)[0] == [0]  # control: direction matters
    # σ of a constant history is 0: any drop is below mean − k·σ
    assert check(net, kind="sigma", direction="below", window=7)[0] == [8]


def test_net_sentiment_of_a_period_with_few_opinions_is_not_checked():
    few = [("negative", "Réseau", 1)] * (MIN_POLAR_TWEETS - 1) + [("neutral", "Offres", 0)] * 30
    enough = [("positive", "Offres", 0)] * MIN_POLAR_TWEETS
    rows = frame([enough] * 3 + [few] + [enough])
    net = metric_series(rows, "net_sentiment", "UTC", "day")["value"].to_numpy()
    assert np.isnan(net[3]) and net[4] == 1.0
    fired, outcome = check(net, kind="fixed", direction="below", value=0.0)
    assert fired == []  # −1.0 from 9 opinions is not news
    limits = thresholds(net, kind="fixed", direction="below", value=0.0)
    assert not limits.checked[3] and limits.checked[4]


def test_a_period_without_a_value_neither_fires_nor_ends_an_episode():
    values = np.array([30, np.nan, 31, 10, 32], dtype=float)
    limits = thresholds(values, kind="fixed", direction="above", value=20)
    keys = [f"2025-10-{d + 1:02d}" for d in range(5)]
    assert run_episodes(keys, limits.checked, limits.breach, first_check=5).fired == [0, 4]


def test_unknown_words_are_refused():
    with pytest.raises(ValueError):
        metric_series(negatives([1]), "volume", "UTC", "day")
    with pytest.raises(ValueError):
        thresholds(np.ones(3), kind="percent", direction="above")
    with pytest.raises(ValueError):
        thresholds(np.ones(3), kind="fixed", direction="sideways")
