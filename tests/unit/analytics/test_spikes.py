"""dallosh.analytics.spikes: what rose in a spike, on constructed data where the answer is known."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from dallosh import analytics as an
from dallosh.analytics import spikes as sp

#: A quiet day: 10 tweets, "bonjour" in half of them (on every day: it must never be listed), one "panne fibre".
QUIET = [
    ("bonjour, ma facture est fausse", "Facturation", "negative"),
    ("bonjour, merci pour la nouvelle offre", "Offres", "positive"),
    ("bonjour, la box redémarre toute seule", "Réseau", "negative"),
    ("bonjour, question sur mon forfait mobile", "Offres", "neutral"),
    ("bonjour, le service client ne répond pas", "Service Client", "negative"),
    ("mon abonnement change de prix", "Facturation", "neutral"),
    ("super débit ce matin", "Réseau", "positive"),
    ("le conseiller était sympa", "Service Client", "positive"),
    ("panne fibre chez moi", "Réseau", "negative"),
    ("comment résilier mon contrat", "Facturation", "neutral"),
]
#: The spike day's extra tweets: 15 more "panne fibre" (with a hashtag), so 25 tweets of which 16 hold "panne".
EXTRA = [(f"panne fibre {k} #PanneFree", "Réseau", "negative") for k in range(15)]


def make_frame(days: int = 14, spike_day: int | None = 14) -> pd.DataFrame:
    """``days`` quiet days from 2025-10-01, then (``spike_day``) a day with the quiet tweets plus EXTRA."""
    rows = []
    for day in range(days + (spike_day is not None)):
        tweets = QUIET + (EXTRA if day == spike_day else [])
        for k, (text, topic, sentiment) in enumerate(tweets):
            rows.append({"id": str(100000 + 1000 * day + k), "full_text": text, "main_topic": topic,
                         "sentiment": sentiment, "engagement": str(k),
                         "created_at": f"{pd.Timestamp('2025-10-01') + pd.Timedelta(days=day):%Y-%m-%d} "
                                       f"{8 + k % 10:02d}:{k % 60:02d}:00"})
    return an.load_analysed(pd.DataFrame(rows, dtype="str"))


def test_the_formula_on_a_hand_computed_table():
    # Period 8 and 2 occurrences (n = 10), baseline 2 and 8 (n' = 10), α = 1 each (α0 = 2):
    # δ1 = log(9 / 3) − log(3 / 9) = 2 log 3; σ² = 1/9 + 1/3 = 4/9; z = 2 log 3 / (2/3) = 3 log 3.
    delta, z = sp.log_odds(np.array([8, 2]), 10, np.array([2, 8]), 10, np.array([1.0, 1.0]), 2.0)
    assert delta[0] == pytest.approx(2 * math.log(3)) and delta[1] == pytest.approx(-2 * math.log(3))
    assert z[0] == pytest.approx(3 * math.log(3)) and z[1] == pytest.approx(-3 * math.log(3))
    same, z_same = sp.log_odds(np.array([5, 5]), 10, np.array([5, 5]), 10, np.array([1.0, 1.0]), 2.0)
    assert same.tolist() == [0.0, 0.0] and z_same.tolist() == [0.0, 0.0]


def test_the_day_panne_fibre_rose_is_flagged_and_explained():
    df = make_frame()
    found = sp.spikes(df, "UTC", grain="day")
    assert [s.start for s in found] == [pd.Timestamp("2025-10-15")]
    assert (found[0].volume, found[0].expected) == (25, 10.0)
    why = sp.explain_spike(df, "UTC", "2025-10-15", "day")
    assert (why.baseline_periods, why.volume, why.expected, why.excess) == (7, 25, 10.0, 15.0)
    assert {why.terms[0].key, why.terms[1].key} == {"panne", "fibre"}
    panne = next(r for r in why.terms if r.key == "panne")
    # 16 of 25 tweets hold "panne"; 1 a day expected: 15 extra tweets of the 15 extra: all of the rise.
    assert (panne.count, panne.baseline, panne.expected, panne.excess) == (16, 7, 1.0, 15.0)
    assert panne.share == pytest.approx(1.0) and panne.z > sp.MIN_Z
    assert all(r.key != "bonjour" for r in why.terms)  # 5 a day on both sides: did not rise
    assert [r.key for r in why.hashtags] == ["#pannefree"] and why.hashtags[0].label == "#pannefree"
    assert why.topics[0].key == "Réseau" and why.topics[0].share == pytest.approx(1.0)
    assert all(r.key != "Offres" for r in why.topics)


def test_representative_tweets_hold_the_top_term_and_are_distinct():
    why = sp.explain_spike(make_frame(), "UTC", pd.Timestamp("2025-10-15 13:00"), "day")
    assert len(why.tweets) == sp.REPRESENTATIVE_TWEETS
    texts = [t["full_text"] for t in why.tweets]
    assert all(why.terms[0].key in an.terms_of(text) for text in texts)
    assert len({an.text_key(text) for text in texts}) == len(texts)
    assert texts[0] == "panne fibre 14 #PanneFree"  # the most engaging (k = 24)


def test_a_share_below_one_when_the_term_explains_part_of_the_rise():
    df = make_frame()
    # The first 6 extra tweets lose "panne" (and the hashtag): 10 of 25 hold it, 9 extra of the 15.
    spike = (df["created_at"].dt.day == 15).to_numpy() & df["full_text"].str.endswith("#PanneFree").to_numpy()
    texts = df["full_text"].to_numpy(dtype=object).copy()
    for row in np.flatnonzero(spike)[:6]:
        texts[row] = "encore un souci de débit"
    df = df.assign(full_text=pd.Series(texts, index=df.index, dtype="str"))
    panne = next(r for r in sp.explain_spike(df, "UTC", "2025-10-15", "day").terms if r.key == "panne")
    assert (panne.count, panne.excess) == (10, 9.0) and panne.share == pytest.approx(9 / 15)


def test_a_period_without_excess_has_an_empty_explanation():
    df = make_frame()
    quiet = sp.explain_spike(df, "UTC", "2025-10-12", "day")
    assert quiet.empty and quiet.excess == 0.0 and quiet.tweets == () and quiet.volume == 10
    assert not sp.explain_spike(df, "UTC", "2025-10-15", "day").empty  # positive control


def test_without_a_spike_nothing_is_flagged():
    assert sp.spikes(make_frame(spike_day=None), "UTC", grain="day") == []
    assert len(sp.spikes(make_frame(), "UTC", grain="day")) == 1  # positive control


def test_negative_and_topic_scopes():
    df = make_frame()
    negative = sp.spikes(df, "UTC", scope="negative", grain="day")
    assert [(s.start, s.volume, s.expected) for s in negative] == [(pd.Timestamp("2025-10-15"), 19, 4.0)]
    why = sp.explain_spike(df, "UTC", "2025-10-15", "day", scope="negative")
    assert why.excess == 15.0 and why.terms[0].key in {"panne", "fibre"}
    assert all(t["sentiment"] == "negative" for t in why.tweets)
    network = sp.spikes(df, "UTC", scope=("topic", "Réseau"), grain="day")
    assert [s.volume for s in network] == [18]
    assert sp.spikes(df, "UTC", scope=("topic", "Offres"), grain="day") == []
    assert sp.explain_spike(df, "UTC", "2025-10-15", "day", scope=("topic", "Réseau")).topics == ()


def test_an_unknown_scope_is_refused():
    with pytest.raises(ValueError, match="unknown spike scope"):
        sp.scope_mask(make_frame(), "angry")
    assert sp.scope_mask(make_frame(), "negative").sum() == 15 * 4 + 15  # positive control


def test_hours_for_short_ranges_with_a_shorter_baseline_when_the_data_starts_late():
    rows = [{"id": str(i), "full_text": "bonjour, question sur mon forfait", "main_topic": "Offres",
             "sentiment": "neutral", "engagement": "0", "created_at": f"2025-10-01 {i % 6:02d}:10:00"}
            for i in range(12)]
    rows += [{"id": str(100 + i), "full_text": "coupure 4g en ville", "main_topic": "Réseau",
              "sentiment": "negative", "engagement": "1", "created_at": "2025-10-01 06:20:00"} for i in range(8)]
    df = an.load_analysed(pd.DataFrame(rows, dtype="str"))
    why = sp.explain_spike(df, "Europe/Paris", "2025-10-01 08:00", "hour")  # 06:00 UTC is 08:00 in Paris
    assert why.baseline_periods == 6 and why.expected == 2.0 and why.excess == 6.0
    assert {r.key for r in why.terms} == {"coupure", "ville", "4g"}
    assert why.topics[0].key == "Réseau"


@pytest.mark.parametrize(("count", "total", "baseline", "baseline_total", "listed"), [
    (2, 30, 0, 300, False),  # a word new in 2 tweets of a quiet hour: noise
    (3, 30, 0, 300, True),
    (10, 25, 7, 70, True),  # 40 % of the tweets against 10 %
    (5, 25, 35, 70, False),  # 20 % against 50 %: it fell
])
def test_the_prior_keeps_noise_out_and_clear_rises_in(count, total, baseline, baseline_total, listed):
    prior = sp.PRIOR_SCALE * np.array([count + baseline], dtype=float)
    _, z = sp.log_odds(np.array([count]), total, np.array([baseline]), baseline_total, prior,
                       sp.PRIOR_SCALE * (total + baseline_total))
    assert bool(z[0] >= sp.MIN_Z) is listed
