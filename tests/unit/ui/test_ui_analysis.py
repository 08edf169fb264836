"""The analysis view's helpers: table pages, drill masks, id sorting, KPI formatting, chart JSON, labelled
corrections.

The view itself, on the real services, is tested in ``tests/integration/ui/test_ui_analysis.py``.
"""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd

from dallosh import analytics
from dallosh.ui.analysis import (
    CHARTS,
    Drill,
    drill_mask,
    figure_json,
    format_delay,
    format_kpis,
    labelled_corrections,
    plotly_chart,
    sort_order,
    table_page,
    themed,
    tweet_link,
)
from tests.factories import tweet_row

TZ = "Europe/Paris"


# -- pure helpers ------------------------------------------------------------------------------------------


def test_table_page_keeps_19_digit_ids_and_links_and_shows_local_times():
    frame = analytics.load_analysed(pd.DataFrame([
        tweet_row(1, url="javascript:alert(1)"),
        tweet_row(2, url="http://127.0.0.1:8000/hub/user-redirect/voila/render/home/overview.ipynb?theme=x"),
        tweet_row(3, created_at="2025-10-01 22:30:00"),
    ]))
    frame = analytics.apply_corrections(frame, pd.DataFrame({"id": [frame["id"][0]], "field": ["priority"],
                                                             "new_value": [2]}))
    page = table_page(frame, TZ)
    assert page["id"].tolist() == ["1790000000000000001", "1790000000000000002", "1790000000000000003"]
    # Built from the id alone: neither a javascript: url nor a link planted in the CSV's url column.
    assert page["link"][0] == "https://x.com/i/status/1790000000000000001"
    assert page["link"][1] == "https://x.com/i/status/1790000000000000002"
    assert page["date"][2] == "2025-10-02 00:30"  # 22:30 UTC is past midnight in Paris
    assert page["corrected"].tolist() == ["✎", "", ""] and page["priority"][0] == "2 · high"
    assert set(page["model"]) <= {"the built-in analyzer", "unknown"}  # who labelled each row, in words
    assert tweet_link("1790000000000000001") == "https://x.com/i/status/1790000000000000001"
    assert tweet_link("row-1") == tweet_link("") == tweet_link("１２") == tweet_link("12?x=1") == ""


def test_drill_masks_match_the_charts_definitions():
    rows = [tweet_row(i, created_at=f"2025-10-0{1 + i % 2} {8 + i}:00:00", screen_name=f"u{i % 3}")
            for i in range(6)]
    frame = analytics.load_analysed(pd.DataFrame(rows))
    frame["sentiment"] = pd.Categorical(["negative", "positive", "negative", "neutral", "negative", "positive"],
                                        categories=["negative", "neutral", "positive"])
    frame["priority"] = np.array([2, 0, 1, 2, 2, 0], dtype=np.int8)
    frame["main_topic"] = pd.Categorical(["Réseau", "Réseau", "Offres", "Réseau", "Offres", "Offres"])
    assert drill_mask(frame, Drill("sentiment", "negative", ""), TZ).sum() == 3
    assert drill_mask(frame, Drill("priority", 2, ""), TZ).sum() == 3
    assert drill_mask(frame, Drill("topic_sentiment", ("Offres", "negative"), ""), TZ).tolist() == [
        False, False, True, False, True, False]
    assert drill_mask(frame, Drill("critical_topic", "Réseau", ""), TZ).tolist() == [
        True, False, False, False, False, False]
    assert drill_mask(frame, Drill("author", "u1", ""), TZ).sum() == 2
    assert drill_mask(frame, Drill("ids", (frame["id"][5],), ""), TZ).tolist()[-1]
    day = pd.Timestamp("2025-10-01")
    assert drill_mask(frame, Drill("day", day, ""), TZ).sum() == 3
    assert drill_mask(frame, Drill("hour", 10, ""), TZ).sum() == 1  # 08:00 UTC = 10 h in Paris


def test_sort_order_sorts_ids_numerically_and_missing_last():
    frame = pd.DataFrame({"id": pd.Series(["99", "1000", "123"], dtype="str"),
                          "created_at": pd.to_datetime(["2025-01-02", None, "2025-01-01"], utc=True)})
    assert sort_order(frame, "id", True).tolist() == [0, 2, 1]
    assert sort_order(frame, "created_at", False).tolist() == [0, 2, 1]


def test_kpi_formatting():
    assert format_delay(None) == "–" and format_delay(pd.Timedelta(minutes=42)) == "42 min"
    assert format_delay(pd.Timedelta(minutes=125)) == "2 h 05" and format_delay(pd.Timedelta(hours=50)) == "2 d 2 h"
    shown_kpis = format_kpis({"volume": 200, "negative_share": 41.234, "net_sentiment": -0.5,
                              "high_priority_count": 50, "median_first_reply_time": None,
                              "engagement_median": 2.0, "engagement_rate": 3.456, "engagement_outliers": 3}, 250)
    assert shown_kpis["engagement_median"] == ("2", "interactions per tweet · mean 3.46 without 3 viral")
    assert shown_kpis["volume"] == ("200", "of 250 loaded")
    assert shown_kpis["negative_share"][0] == "41.2 %" and shown_kpis["net_sentiment"][0] == "-0.50"
    assert shown_kpis["high_priority_count"] == ("50", "25.0 % of tweets")


def test_every_chart_is_valid_plotly_json_even_when_empty():
    empty = analytics.apply_corrections(analytics.load_analysed(pd.DataFrame({"id": pd.Series([], dtype="str")})),
                                        pd.DataFrame({"id": [], "field": [], "new_value": []}))
    for name, (build, with_tz, _wide) in CHARTS.items():
        figure, keys = build(empty, TZ) if with_tz else build(empty)
        spec = json.loads(figure_json(themed(figure, "dark")))
        assert spec["data"] and len(keys) == len(spec["data"]), name
        assert spec["layout"]["paper_bgcolor"] == "rgba(0,0,0,0)"
    assert "NaN" not in figure_json({"data": [{"y": np.array([1.0, np.nan])}]})


def test_the_charts_load_plotly_basic_bundle_which_draws_every_trace_they_use(monkeypatch, tmp_path):
    bundle = plotly_chart.plotly_js()
    header = bundle[:200].decode()
    assert "plotly.js (basic - minified)" in header and len(bundle) < 2_000_000  # npm's, not the 4.8 MB one
    full_version = re.search(r"plotly\.js v(\S+)", plotly_chart.full_plotly_js().read_text()[:200])[1]
    assert f"v{full_version}\n" in header  # the version the plotly package builds its figures for
    registered = set(re.findall(rb'moduleType:"trace",name:"([a-z0-9]+)"', bundle))
    assert {t.encode() for t in plotly_chart.TRACE_TYPES} == registered
    empty = analytics.apply_corrections(analytics.load_analysed(pd.DataFrame({"id": pd.Series([], dtype="str")})),
                                        pd.DataFrame({"id": [], "field": [], "new_value": []}))
    drawn = set()
    for build, with_tz, _wide in CHARTS.values():
        figure, _keys = build(empty, TZ) if with_tz else build(empty)
        drawn |= {trace.get("type", "scatter") for trace in figure["data"]}
    assert drawn <= plotly_chart.TRACE_TYPES, drawn - plotly_chart.TRACE_TYPES
    # without npm's packages the charts still draw, with the plotly package's full bundle
    monkeypatch.setattr(plotly_chart, "node_modules_dirs", lambda: [tmp_path])
    plotly_chart.plotly_js.cache_clear()
    try:
        assert plotly_chart.plotly_js() == plotly_chart.full_plotly_js().read_bytes()
    finally:
        plotly_chart.plotly_js.cache_clear()


def test_labelled_corrections_keeps_the_model_and_the_reference_labels():
    raw = analytics.load_analysed(pd.DataFrame([tweet_row(i) for i in range(3)]), dataset_names=["a.csv"])
    raw["sentiment"] = pd.Categorical(["negative"] * 3, categories=["negative", "neutral", "positive"])
    history = [{"file_id": "f1", "tweet_id": raw["id"][1], "field": "sentiment", "old_value": "negative",
                "new_value": "positive", "by": "ana@free.com", "when": pd.Timestamp("2025-11-01", tz="UTC")},
               {"file_id": "f1", "tweet_id": raw["id"][1], "field": "priority", "old_value": "0", "new_value": 2,
                "by": "bob@free.com", "when": pd.Timestamp("2025-11-02", tz="UTC")},
               {"file_id": "other", "tweet_id": raw["id"][2], "field": "priority", "old_value": "0",
                "new_value": 2, "by": "x", "when": pd.Timestamp("2025-11-02", tz="UTC")}]
    effective = pd.DataFrame({"id": [raw["id"][1]] * 2, "field": ["sentiment", "priority"],
                              "new_value": ["positive", 2]})
    out = labelled_corrections(raw, analytics.apply_corrections(raw, effective), history, {"f1": "a.csv"})
    assert out["id"].tolist() == [raw["id"][1]]  # a correction of a dataset not shown is left out
    row = out.iloc[0]
    assert (row["model_sentiment"], row["sentiment"], row["priority"]) == ("negative", "positive", 2)
    assert row["corrected_fields"] == "sentiment; priority" and row["corrected_by"] == "bob@free.com"


