"""Cross-filter chips: how clicks combine, what each kind selects, and what a shared link may carry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dallosh.ui.analysis.crossfilter import (
    MAX_DRILLS,
    Drill,
    cross_mask,
    decode_drill,
    encode_value,
    make_drill,
    toggle,
)

TZ = "Europe/Paris"


@pytest.fixture
def slim() -> pd.DataFrame:
    """A slim selection as the view keeps it: its index holds the loaded frame's positions (here 10…15)."""
    return pd.DataFrame({
        "id": ["1", "2", "3", "4", "5", "6"],
        "created_at": pd.to_datetime(["2025-10-01 06:30", "2025-10-01 22:30", "2025-10-06 09:00",
                                      "2025-11-02 10:00", None, "2025-10-02 09:15"], utc=True),
        "screen_name": pd.Categorical(["a", "b", "a", "c", "d", "a"]),
        "sentiment": pd.Categorical(["negative", "neutral", "negative", "positive", "negative", "neutral"]),
        "priority": np.array([2, 0, 1, 2, 2, 0], dtype=np.int8),
        "main_topic": pd.Categorical(["Réseau", "Offres", "Réseau", "Facturation", "Offres", "Réseau"]),
    }, index=range(10, 16))


def ids(df: pd.DataFrame, mask: np.ndarray | None) -> list[str]:
    return df["id"].tolist() if mask is None else df["id"][mask].tolist()


def test_chips_of_one_kind_are_alternatives_and_of_different_kinds_all_hold(slim):
    reseau, offres = make_drill("topic", "Réseau", TZ), make_drill("topic", "Offres", TZ)
    negative = make_drill("sentiment", "negative", TZ)
    assert ids(slim, cross_mask(slim, [reseau], TZ)) == ["1", "3", "6"]
    assert ids(slim, cross_mask(slim, [reseau, offres], TZ)) == ["1", "2", "3", "5", "6"]  # or
    assert ids(slim, cross_mask(slim, [reseau, offres, negative], TZ)) == ["1", "3", "5"]  # and
    assert cross_mask(slim, [], TZ) is None  # no chip: everything


def test_a_click_on_a_chip_already_there_removes_it_and_the_list_is_bounded():
    a, b = make_drill("topic", "Réseau", TZ), make_drill("sentiment", "negative", TZ)
    assert toggle((a,), b) == (a, b)
    assert toggle((a, b), make_drill("topic", "Réseau", TZ)) == (b,)
    many: tuple[Drill, ...] = ()
    for hour in range(MAX_DRILLS + 3):
        many = toggle(many, make_drill("hour", hour, TZ))
    assert len(many) == MAX_DRILLS and many[-1].value == MAX_DRILLS + 2


def test_time_chips_select_local_days_weeks_months_and_hours(slim):
    # 2025-10-01 22:30 UTC is 2025-10-02 00:30 in Paris: it belongs to the 2nd there.
    assert ids(slim, cross_mask(slim, [make_drill("day", pd.Timestamp("2025-10-02"), TZ)], TZ)) == ["2", "6"]
    assert ids(slim, cross_mask(slim, [make_drill("week", pd.Timestamp("2025-09-29"), TZ)], TZ)) == ["1", "2", "6"]
    assert ids(slim, cross_mask(slim, [make_drill("month", pd.Timestamp("2025-11-01"), TZ)], TZ)) == ["4"]
    assert ids(slim, cross_mask(slim, [make_drill("at_hour", pd.Timestamp("2025-10-01 08:00"), TZ)], TZ)) == ["1"]
    # 11 h in Paris, in summer time (UTC+2: rows 3, 6) and in winter time (UTC+1: row 4)
    assert ids(slim, cross_mask(slim, [make_drill("hour", 11, TZ)], TZ)) == ["3", "4", "6"]
    # positive control: the same day in UTC would have been another row set
    assert ids(slim, cross_mask(slim, [make_drill("day", pd.Timestamp("2025-10-01"), "UTC")], "UTC")) == ["1", "2"]


def test_a_term_chip_reads_the_loaded_frame_by_position(slim):
    loaded = np.zeros(16, dtype=bool)
    loaded[[11, 15]] = True  # positions 11 and 15 of the loaded frame say the term
    drill = make_drill("term", "coupure", TZ)
    assert drill.label == "Says “coupure”"
    assert ids(slim, cross_mask(slim, [drill], TZ, lambda term: loaded)) == ["2", "6"]
    with pytest.raises(ValueError):
        cross_mask(slim, [drill], TZ)


@pytest.mark.parametrize("drill", [
    make_drill("day", pd.Timestamp("2025-10-02"), TZ), make_drill("at_hour", pd.Timestamp("2025-10-02 13:00"), TZ),
    make_drill("priority", 2, TZ), make_drill("topic_sentiment", ("Réseau", "negative"), TZ),
    make_drill("ids", ("1790000000000000001",), TZ), make_drill("author", "free", TZ),
    make_drill("term", "#panne", TZ), make_drill("hour", 0, TZ)])
def test_every_chip_survives_a_shared_link(drill):
    assert decode_drill(drill.kind, encode_value(drill), TZ) == drill


@pytest.mark.parametrize("kind,value", [
    ("python", "x"), ("day", "2025-13-45"), ("day", 20251002), ("hour", 24), ("hour", "3"), ("priority", 7),
    ("sentiment", "furious"), ("topic_sentiment", ["Réseau"]), ("topic_sentiment", ["Réseau", "angry"]),
    ("ids", []), ("ids", ["1"] * 51), ("ids", [{"$gt": ""}]), ("topic", ""), ("topic", "x" * 201),
    ("author", ["a"]), ("at_hour", "2025-10-02"),
])
def test_a_crafted_link_cannot_make_a_chip_the_page_could_not(kind, value):
    assert decode_drill(kind, value, TZ) is None
    # positive control: a well-formed value of a known kind is accepted
    assert decode_drill("topic", "Réseau", TZ) == make_drill("topic", "Réseau", TZ)
