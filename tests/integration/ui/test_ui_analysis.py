"""The analysis view on real analysed files: datasets, filters, KPIs, chart clicks, table, exports, corrections.

Datasets are added through the services and analysed in-process by the real pipeline (built-in analyzer), then
their task is walked to ``done`` (the ``finish`` fixture) — the same files the worker would write.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import pandas as pd
import pytest
from markupsafe import escape

from dallosh import analytics
from dallosh.datasets import read_dataset
from dallosh.errors import PermissionDenied
from dallosh.llm.builtin import BuiltinAnalyzer
from dallosh.pipeline import Run, run_steps
from dallosh.storage import ANALYSED
from dallosh.ui.analysis import (
    CHARTS,
    PAGE_SIZE,
    AnalysisView,
    Drill,
)
from dallosh.ui.components import is_visible
from tests.factories import make_csv, tweet_row
from tools.synthetic import generate_tweets

TZ = "Europe/Paris"


def process(services, file_uid: str) -> Path:
    """Run the pipeline in-process on a stored dataset (what the worker does), with the built-in analyzer."""
    storage = services.storage
    general = services.settings.general()
    run_steps(Run(source=storage.path("datasets", file_uid), cleaned=storage.path("cleaned", file_uid),
                  analysed=storage.path(ANALYSED, file_uid), checkpoints=storage.checkpoints(file_uid),
                  topics=list(general.topics), operator_accounts=list(general.operatorAccounts),
                  providers=lambda: [BuiltinAnalyzer()]))
    return storage.path(ANALYSED, file_uid)


@pytest.fixture
def analysed_files(services, analyst, finish):
    """Two analysed datasets, newest last: (septembre, octobre) file records."""
    files = []
    for name, rows, seed in (("septembre.csv", 400, 3), ("octobre.csv", 250, 4)):
        file, task = services.files.add(analyst, name, generate_tweets(rows, seed=seed).to_csv(index=False).encode())
        process(services, file.uid)
        finish(task.uid)
        files.append(file)
    return files


def shown(ctx, actor, **params) -> AnalysisView:
    view = AnalysisView(ctx(actor))
    view.on_show(**params)
    return view


def reference(services, actor, files) -> pd.DataFrame:
    """What a power user gets in a notebook: the same files, the same corrections, the same functions."""
    paths = [services.files.path(actor, f.uid, ANALYSED) for f in files]
    frame = analytics.load_analysed(paths, dataset_names=[f.data.filename for f in files])
    return analytics.apply_corrections(frame, services.corrections.effective(actor, [f.uid for f in files]))


def kpi_numbers(view: AnalysisView) -> dict[str, str]:
    return {key: card.number for key, card in view.kpis.items()}


def click(view: AnalysisView, chart: str, point: int, trace: int = 0) -> None:
    """What the page sends when a chart segment is clicked."""
    view.charts[chart].handle({"type": "click", "curve": trace, "point": point})


# -- the view ----------------------------------------------------------------------------------------------


#: A small analysed file whose KPIs are counted by hand below: 7 customer tweets (c0–c6), 3 operator replies.
#: (key, created_at UTC, sentiment, priority, topic, engagement, operator reply to)
HAND_COUNTED = [
    ("c0", "2025-10-01 08:00:00", "negative", "2", "Réseau", 4, ""),
    ("c1", "2025-10-01 09:00:00", "negative", "2", "Réseau", 0, ""),
    ("c2", "2025-10-02 08:00:00", "negative", "1", "Facturation", 2, ""),
    ("c3", "2025-10-02 09:00:00", "neutral", "0", "Facturation", 1, ""),
    ("c4", "2025-10-03 08:00:00", "positive", "0", "Réseau", 3, ""),
    ("c5", "2025-10-03 09:00:00", "positive", "1", "Offres", 0, ""),
    ("c6", "2025-10-03 10:00:00", "", "0", "", 0, ""),  # not labelled: counts in volumes, not in shares
    ("op7", "2025-10-01 08:30:00", "neutral", "0", "Réseau", 0, "c0"),  # 30 min after c0: its first reply
    ("op8", "2025-10-01 10:00:00", "neutral", "0", "Réseau", 5, "c0"),  # 2 h after c0: not the first
    ("op9", "2025-10-02 08:10:00", "neutral", "0", "Facturation", 0, "c2"),  # 10 min after c2
]


def write_hand_counted(services, analyst, finish):
    """Add a dataset, then store ``HAND_COUNTED`` as its analysed file (what the worker would have written)."""
    ids = {key: str(1790000000000000000 + i) for i, (key, *_) in enumerate(HAND_COUNTED)}
    rows = []
    for key, created_at, sentiment, priority, topic, engagement, reply_to in HAND_COUNTED:
        operator = key.startswith("op")
        row = tweet_row(len(rows), id=ids[key], created_at=created_at, screen_name="free" if operator else key,
                        in_reply_to=ids.get(reply_to, ""), favorite_count=str(engagement), retweet_count="0")
        rows.append({**row, "is_retweet": "False", "is_operator": str(operator), "is_engagement_outlier": "False",
                     "engagement": str(engagement), "sentiment": sentiment, "priority": priority,
                     "main_topic": topic, "labelled_by": "rule:operator" if operator else "builtin"})
    file, task = services.files.add(analyst, "compte.csv", make_csv(rows))
    finish(task.uid)
    path = services.storage.path(ANALYSED, file.uid)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(rows).to_csv(path, index=False)
    return file


def test_kpi_cards_show_the_numbers_counted_by_hand(services, analyst, ctx, finish):
    write_hand_counted(services, analyst, finish)
    view = shown(ctx, analyst)
    assert view.alert.kind == ""
    cards = {key: (card.number, card.sub) for key, card in view.kpis.items()}
    assert cards == {
        # c0–c6; the 3 operator replies are left out by default but loaded (10 rows)
        "volume": ("7", "of 10 loaded"),
        # negative c0, c1, c2 of the 6 labelled tweets (c6 has no sentiment): 3 / 6
        "negative_share": ("50.0 %", "of labelled tweets"),
        # (2 positive c4, c5 − 3 negative) / (2 + 3); the neutral c3 is ignored
        "net_sentiment": ("-0.20", "(pos − neg) / (pos + neg)"),
        # priority 2: c0, c1; 2 / 7 tweets
        "high_priority_count": ("2", "28.6 % of tweets"),
        # first replies: c0 after 30 min (op7, not op8's 2 h), c2 after 10 min (op9): median of 10 and 30
        "median_first_reply_time": ("20 min", "to the operator's first reply"),
        # customer engagements 0 0 0 1 2 3 4: median 1; mean (4 + 0 + 2 + 1 + 3 + 0 + 0) / 7 = 1.43 (no viral
        # outlier flagged); op8's 5 interactions are the operator's
        "engagement_median": ("1", "interactions per tweet · mean 1.43"),
    }
    # 3 negative, 1 neutral (c3), 2 positive: c6 is not labelled
    assert json.loads(view.charts["sentiment"].spec)["data"][0]["values"] == [3, 1, 2]
    view.include_operator.value = True  # with the 3 replies: 10 tweets, 3 negative of 9 labelled, 15 interactions
    assert (view.kpis["volume"].number, view.kpis["negative_share"].number) == ("10", "33.3 %")
    # engagements 0 0 0 0 0 1 2 3 4 5: median (0 + 1) / 2; mean 15 / 10
    assert (view.kpis["engagement_median"].number, view.kpis["engagement_median"].sub) == (
        "0.5", "interactions per tweet · mean 1.50")


def test_newest_dataset_is_shown_by_default_with_its_charts_and_table(services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    assert view.alert.kind == ""
    octobre = analysed_files[1]
    assert view.selected() == (octobre.uid,)  # the newest analysed dataset by default
    assert [label for label, _ in view.dataset_select.options][0].startswith("octobre.csv")
    frame = reference(services, analyst, [octobre])
    filtered = analytics.apply_filters(frame, analytics.Filters(tz=TZ))
    assert view.kpis["volume"].number.replace("\u202f", "") == str(len(filtered))
    assert view.kpis["median_first_reply_time"].number != "–"  # the synthetic export has operator replies
    assert int(view.frame["is_operator"].sum()) == int(frame["is_operator"].sum())  # KPIs never write to the frame
    assert is_visible(view.content) and "octobre.csv" in view.status.value and TZ in view.status.value
    assert set(view.charts) == set(CHARTS)
    sentiment = json.loads(view.charts["sentiment"].spec)["data"][0]
    assert sentiment["values"] == analytics.sentiment_counts(filtered)["count"].tolist()
    critical = json.loads(view.charts["critical_tweets"].spec)["data"][0]
    top = analytics.top_critical_tweets(filtered, len(critical["y"]))
    assert [label.split(": ", 1)[1][:20] for label in critical["y"]] == [
        str(escape(" ".join(t.split())[:20]))
        for t in top["full_text"]]  # the texts come from the loaded frame (the selection is slim)
    page = view.grid.grid_data_in
    assert len(page) == PAGE_SIZE and page["id"].str.len().min() == 19
    assert page["text"].str.len().min() > 0 and page["link"].str.startswith("http").all()
    assert page["date"].tolist() == sorted(page["date"], reverse=True)  # newest first


def test_several_datasets_are_combined(services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    view.dataset_select.value = tuple(f.uid for f in analysed_files)
    frame = reference(services, analyst, analysed_files)
    assert view.frame is not None and len(view.frame) == len(frame)
    assert set(view.frame["dataset"].astype(str)) == {"septembre.csv", "octobre.csv"}
    assert view.grid.user_params["show_dataset"] is True
    assert view.kpis["volume"].number.replace("\u202f", "") == str(
        len(analytics.apply_filters(frame, analytics.Filters(tz=TZ))))
    view.dataset_select.value = (analysed_files[0].uid,)
    assert set(view.cache) == {analysed_files[0].uid}  # frames no longer shown are released
    assert view.grid.user_params["show_dataset"] is False


def test_filters_apply_to_kpis_charts_and_table(services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    frame = reference(services, analyst, [analysed_files[1]])
    view.sentiment.value = "negative"
    view.priority.value = 2
    expected = analytics.apply_filters(frame, analytics.Filters(sentiments=["negative"], priorities=[2], tz=TZ))
    assert view.kpis["volume"].number == str(len(expected)) and view.kpis["negative_share"].number == "100.0 %"
    assert set(view.rows["sentiment"].astype(str)) == {"negative"}
    view.search.value = "reseau"
    searched = analytics.apply_filters(frame, analytics.Filters(sentiments=["negative"], priorities=[2],
                                                                search="reseau", tz=TZ))
    assert 0 < len(searched) < len(expected) and view.kpis["volume"].number == str(len(searched))
    day = frame["created_at"].dt.tz_convert(TZ).dt.date.min()
    view.reset_filters()
    view.date_from.value = view.date_to.value = day
    dated = analytics.apply_filters(frame, analytics.Filters(date_from=day, date_to=day, tz=TZ))
    assert view.kpis["volume"].number == str(len(dated))
    view.reset_filters()
    customers = int(view.kpis["volume"].number.replace("\u202f", ""))
    view.include_operator.value = True
    assert int(view.kpis["volume"].number.replace("\u202f", "")) > customers  # the operator's replies count
    view.reset_filters()
    assert view.filters() == analytics.Filters(tz=TZ)


def test_chart_clicks_cross_filter_every_kpi_chart_and_the_table(services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    total = len(view.rows)
    frame = reference(services, analyst, [analysed_files[1]])
    customers = analytics.apply_filters(frame, analytics.Filters(tz=TZ))
    topics = view.charts["topics"].point_keys[0]
    click(view, "topics", 1)
    assert view.drills == (Drill("topic", topics[1], f"Topic = {topics[1]}"),)
    assert set(view.rows["main_topic"].astype(str)) == {topics[1]} and len(view.rows) < total
    in_topic = customers[customers["main_topic"] == topics[1]]
    # every number follows the click: the KPIs, the charts, the table
    assert view.kpis["volume"].number.replace("\u202f", "") == str(len(in_topic))
    assert json.loads(view.charts["topics"].spec)["data"][0]["y"] == [len(in_topic)]
    assert sum(json.loads(view.charts["sentiment"].spec)["data"][0]["values"]) == in_topic["sentiment"].notna().sum()
    assert is_visible(view.chips) and any(topics[1] in c.description for c in view.chips.children)
    # a second topic is an alternative; a sentiment must hold as well
    click(view, "topics", 0)  # the topics chart now shows only topics[1]: its bar 0 is that topic → removed
    assert view.drills == ()
    click(view, "topics", 1)
    view.set_drill(Drill("topic", topics[0], f"Topic = {topics[0]}"))
    assert set(view.rows["main_topic"].astype(str)) == {topics[0], topics[1]}
    click(view, "sentiment", 0)  # negative
    assert set(view.rows["sentiment"].astype(str)) == {"negative"}
    assert set(view.rows["main_topic"].astype(str)) <= {topics[0], topics[1]}
    both = customers[customers["main_topic"].isin(topics[:2]) & (customers["sentiment"] == "negative")]
    assert view.kpis["volume"].number.replace("\u202f", "") == str(len(both))
    # a chip's ✕ removes it alone; "Clear all" removes every chip
    chip = next(c for c in view.chips.children if "Sentiment = negative" in getattr(c, "description", ""))
    chip.click()
    assert [d.kind for d in view.drills] == ["topic", "topic"]
    view.clear_drill()
    assert len(view.rows) == total and not is_visible(view.chips)
    click(view, "critical_tweets", 0)
    assert len(view.rows) == 1 and view.rows["priority"].iloc[0] == 2
    view.clear_drill()
    grain = view.timeline_grain  # a bar is a day, a week… (chosen from the range shown)
    click(view, "timeline", 0, trace=1)
    assert view.drills[0].kind == grain and len(view.rows) >= 1
    click(view, "hours", 30)  # a point that does not exist is ignored
    assert len(view.drills) == 1
    view.reset_filters()
    assert view.drills == () and len(view.rows) == total


def test_table_pages_and_sorts_every_filtered_row(services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    assert view.prev_button.disabled and not view.next_button.disabled
    view.go_to_page(1)
    assert view.page_label.value.startswith(f"{PAGE_SIZE + 1}–")
    view.grid.user_params = {**view.grid.user_params, "sort": ["engagement", "desc"], "seq": 1}
    assert view.page == 0
    top = view.grid.grid_data_in["engagement"].tolist()
    assert top[0] == int(view.rows["engagement"].max()) and top == sorted(top, reverse=True)
    view.grid.user_params = {**view.grid.user_params, "sort": ["id", "asc"], "seq": 2}
    ids = view.grid.grid_data_in["id"].tolist()
    assert ids[0] == min(view.rows["id"], key=int)
    view.grid.user_params = {**view.grid.user_params, "sort": None, "seq": 3}
    assert view.sort == ("date", False)


def test_correcting_a_label_changes_kpis_marks_the_row_and_survives_reprocessing(
        services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    octobre = analysed_files[1]
    frame = view.frame
    target = frame[(frame["sentiment"] == "positive") & ~frame["is_operator"]]["id"].iloc[0]
    before = view.kpis["negative_share"].number
    view.grid.user_params = {**view.grid.user_params, "opened": target, "seq": 1}  # a row clicked in the grid
    assert view.correct_id.value == target and "positive" in view.selected_info.value
    assert is_visible(view.panel) and view.panel.tweet_id == target
    view.correct_field.value = "sentiment"
    assert [v for _, v in view.correct_value.options] == ["negative", "neutral", "positive"]
    view.correct_value.value = "negative"
    view.save_correction()
    assert view.alert.kind == "success" and "positive → negative" in view.alert.message
    assert view.kpis["negative_share"].number != before
    assert view.frame.loc[view.frame["id"] == target, "corrected"].all()
    assert "corrected" in view.selected_info.value
    (item,) = services.corrections.history(analyst, octobre.uid)
    assert (item["by"], item["old_value"], item["new_value"]) == ("analyst@free.com", "positive", "negative")
    assert "analyst@free.com" in view.history_html.value and target in view.history_html.value
    view.grid.user_params = {**view.grid.user_params, "sort": ["corrected", "desc"], "seq": 2}
    assert view.grid.grid_data_in["corrected"].iloc[0] == "✎"
    view.correct_field.value = "main_topic"
    assert [v for _, v in view.correct_value.options] == services.settings.topics()

    process(services, octobre.uid)  # reprocessing rewrites the analysed CSV...
    again = shown(ctx, analyst)
    assert again.frame.loc[again.frame["id"] == target, "sentiment"].astype(str).tolist() == ["negative"]
    assert again.kpis["negative_share"].number == view.kpis["negative_share"].number  # ...corrections still apply


def test_correction_errors_are_explained(services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    view.save_correction()
    assert view.alert.kind == "error" and "click a row" in view.alert.message
    view.correct_id.value = "123"
    assert "No tweet with id 123" in view.selected_info.value
    view.save_correction()
    assert view.alert.kind == "error" and "not a tweet of the chosen datasets" in view.alert.message
    tweet = view.frame["id"].iloc[0]
    view.correct_id.value = tweet
    view.correct_field.value = "priority"
    view.correct_value.value = int(view.frame["priority"].iloc[0])
    view.save_correction()
    assert view.alert.kind == "info" and "already has priority" in view.alert.message
    assert services.corrections.history(analyst, analysed_files[1].uid) == []


def test_readers_see_corrections_but_cannot_correct(services, analyst, ctx, analysed_files, make_actor):
    first_id = read_dataset(services.storage.path("analysed", analysed_files[1].uid))["id"].iloc[0]
    services.corrections.correct(analyst, analysed_files[1].uid, first_id, "sentiment", "neutral")
    reader = make_actor("read_datasets")
    view = shown(ctx, reader)
    assert not is_visible(view.panel.form) and "1 correction(s)" in view.history_html.value
    tweet = view.frame["id"].iloc[0]
    view.correct_id.value = tweet
    view.correct_value.value = "neutral" if view.frame["sentiment"].iloc[0] != "neutral" else "negative"
    assert is_visible(view.panel)  # a reader reads the tweet, without the form
    view.save_correction()  # the service checks the permission even if the form is bypassed
    assert view.alert.kind == "error"
    with pytest.raises(PermissionDenied):
        services.corrections.correct(reader, analysed_files[1].uid, tweet, "sentiment", "neutral")


def test_exports_are_the_table_rows_with_corrections_and_no_formulas(services, analyst, ctx, finish):
    rows = [tweet_row(i) for i in range(8)]
    rows[0]["full_text"] = "=HYPERLINK(\"http://evil\") réseau en panne"
    rows[1]["screen_name"] = "@cmd"
    file, task = services.files.add(analyst, "risky.csv", make_csv(rows))
    process(services, file.uid)
    finish(task.uid)
    view = shown(ctx, analyst)
    tweet = view.frame["id"].iloc[2]
    view.correct_id.value = tweet
    view.correct_field.value = "priority"
    view.correct_value.value = 0 if int(view.frame["priority"].iloc[2]) else 1
    view.save_correction()
    view.export("csv")
    name, data = view.last_export
    assert name.startswith("risky-tweets-") and name.endswith(".csv")
    exported = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert len(exported) == len(view.rows) and set(exported["id"]) == set(view.rows["id"])  # 19 digits intact
    assert exported.loc[exported["full_text"].str.contains("HYPERLINK"), "full_text"].iloc[0].startswith("'=")
    assert exported.loc[exported["id"] == tweet, "corrected"].iloc[0] == "True"
    assert exported.loc[exported["id"] == tweet, "priority"].iloc[0] == str(view.correct_value.value)
    assert view.downloader.status.startswith("Preparing")  # the browser pulls the file next
    assert not list(services.storage.tmp_dir.glob("export-*"))  # nothing is left behind in storage

    click(view, "sentiment", SENTIMENT_INDEX[str(view.frame["sentiment"].iloc[0])])
    view.export("xlsx")
    name, data = view.last_export
    from openpyxl import load_workbook

    sheet = load_workbook(io.BytesIO(data)).active
    header = [c.value for c in next(sheet.iter_rows(max_row=1))]
    ids = [row[header.index("id")] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert name.endswith(".xlsx") and sorted(ids) == sorted(view.rows["id"])  # the drill applies to exports

    view.export_corrections()
    name, data = view.last_export
    labelled = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert name.startswith("risky-corrections-") and labelled["id"].tolist() == [tweet]
    assert labelled["corrected_fields"].tolist() == ["priority"] and labelled["corrected_by"][0] == "analyst@free.com"
    assert labelled["model_priority"][0] != labelled["priority"][0]


SENTIMENT_INDEX = {"negative": 0, "neutral": 1, "positive": 2}


def test_no_analysed_dataset_yet(services, analyst, ctx, added):
    view = shown(ctx, analyst)
    assert is_visible(view.empty) and not is_visible(view.content) and not view.dataset_select.options
    assert view.alert.kind == ""
    view.export("csv")
    assert view.alert.kind == "info"


def test_a_reprocessed_file_is_read_again_and_theme_restyles_charts(services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    key = view.cache[analysed_files[1].uid][0]
    path = services.files.path(analyst, analysed_files[1].uid, ANALYSED)
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.head(100).to_csv(path, index=False)  # a new analysed file (fewer rows)
    view.refresh()
    view.request("load")
    assert view.cache[analysed_files[1].uid][0] != key and len(view.raw) == 100
    assert json.loads(view.charts["topics"].spec)["layout"]["font"]["color"] == "#1d1d1f"
    view.on_theme("dark")
    assert json.loads(view.charts["topics"].spec)["layout"]["font"]["color"] == "#ececee"


def test_the_page_asks_plotly_js_once_and_clicks_reach_the_kernel(services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    chart = view.charts["priority"]
    sent: list[tuple[dict, list]] = []
    chart.send = lambda content, buffers=None: sent.append((content, buffers))
    chart.handle({"type": "need-plotly-js"})
    ((content, buffers),) = sent
    assert content == {"type": "plotly-js"} and buffers[0][:200].find(b"plotly.js (basic") >= 0
    chart.handle({"type": "click", "curve": 0, "point": 2})
    assert view.drills == (Drill("priority", 2, "Priority = 2 · high"),)
    chart.handle({"type": "click", "curve": "x"})  # malformed messages are ignored
    assert [d.kind for d in view.drills] == ["priority"]


def test_registry_lists_analysis_for_dataset_readers(services, admin, analyst, make_actor):
    from dallosh.ui import registry

    spec = registry.get("analysis")
    assert spec is not None and spec.order == 50
    assert spec.allowed(admin) and spec.allowed(analyst) and spec.allowed(make_actor("read_datasets"))
    assert not spec.allowed(make_actor("read_tasks", email="tasks@free.com"))


# -- comparing periods, sharing, reading and correcting tweets ------------------------------------------------


def test_kpis_compare_with_the_previous_period_of_the_same_length(services, analyst, ctx, finish):
    write_hand_counted(services, analyst, finish)
    view = shown(ctx, analyst)
    assert all(card.change is None for card in view.kpis.values())  # no date range: nothing to compare
    view.date_from.value = view.date_to.value = pd.Timestamp("2025-10-03").date()
    assert view.period.value == "custom"
    # 3 Oct: c4, c5 (positive), c6 (unlabelled); the previous day, 2 Oct: c2 (negative), c3 (neutral)
    cards = {key: (card.number, card.change) for key, card in view.kpis.items()}
    assert cards["volume"][0] == "3"
    assert cards["volume"][1]["text"] == "+1 (+50 %) vs the previous 1 day"
    assert cards["volume"][1]["arrow"] == "▲" and cards["volume"][1]["tone"] == "neutral"
    assert cards["negative_share"][0] == "0.0 %"
    assert cards["negative_share"][1]["text"] == "-50.0 pts vs the previous 1 day"
    assert cards["negative_share"][1]["tone"] == "good"  # fewer negative tweets is better
    assert cards["high_priority_count"][1]["arrow"] == "="  # none on either day
    assert "▲ +1 (+50 %)" in view.kpis["volume"].value  # the card shows it
    # a preset ends on the last day of the loaded tweets (3 Oct), not today
    view.period.value = "last_7"
    assert (view.date_from.value, view.date_to.value) == (pd.Timestamp("2025-09-27").date(),
                                                          pd.Timestamp("2025-10-03").date())
    assert view.kpis["volume"].number == "7"
    assert view.kpis["volume"].change["text"].startswith("+7") and "previous 7 days" in \
        view.kpis["volume"].change["text"]
    view.period.value = ""
    assert view.date_from.value is None and view.kpis["volume"].change is None


def test_every_kpi_says_how_it_is_computed(services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    for key, card in view.kpis.items():
        assert card.help and f'title="{escape(card.help)}"' in card.value, key
    assert not is_visible(view.glossary)
    view.glossary_button.click()
    assert is_visible(view.glossary) and "Median first reply" in view.glossary.value
    assert "previous period" in view.glossary.value


def test_a_shared_view_opens_the_same_numbers_for_a_colleague(services, analyst, ctx, analysed_files, make_actor):
    view = shown(ctx, analyst)
    view.dataset_select.value = tuple(f.uid for f in analysed_files)
    view.sentiment.value = "negative"
    topics = view.charts["topics"].point_keys[0]
    click(view, "topics", 0)
    fragment = view.state().to_fragment()
    assert analysed_files[0].uid in fragment and "sent=negative" in fragment

    reader = make_actor("read_datasets", email="colleague@free.com")
    other = shown(ctx, reader)
    assert other.selected() == (analysed_files[1].uid,)  # before the link: the newest dataset
    other.apply_address_state(fragment)
    assert set(other.loaded) == {f.uid for f in analysed_files}
    assert other.sentiment.value == "negative" and other.drills == view.drills
    assert {k: c.number for k, c in other.kpis.items()} == {k: c.number for k, c in view.kpis.items()}
    assert set(other.rows["main_topic"].astype(str)) == {topics[0]}
    assert other.alert.kind == ""

    # a link naming a dataset the reader cannot see (deleted, or never existed) shows what it can, and says so
    services.files.delete(analyst, analysed_files[0].uid)
    third = shown(ctx, reader)
    third.refresh()
    third.apply_address_state(fragment)
    assert third.loaded == (analysed_files[1].uid,) and third.sentiment.value == "negative"
    assert third.alert.kind == "info" and "1 dataset of this link is not available to you" in third.alert.message
    # a crafted link: what the page could not have written is left out, with a note
    third.apply_address_state(f'ds={analysed_files[1].uid}&sent=<script>&f=[["exec","x"]]')
    assert third.sentiment.value == "" and third.drills == ()
    assert "not understood" in third.alert.message


def test_a_link_to_a_dataset_older_than_the_pickers_list_still_opens_it(services, analyst, ctx, analysed_files,
                                                                         make_actor, monkeypatch):
    import dallosh.ui.analysis.view as view_module

    monkeypatch.setattr(view_module, "LIST_LIMIT", 1)  # the picker lists the newest dataset only
    older, newest = analysed_files
    fragment = f"ds={older.uid}&sent=negative"
    reader = make_actor("read_datasets", email="colleague@free.com")
    view = shown(ctx, reader)
    assert set(view.choices) == {newest.uid}  # control: the older one is not listed
    view.apply_address_state(fragment)
    assert view.loaded == (older.uid,) and view.sentiment.value == "negative" and view.alert.kind == ""
    assert older.uid in [uid for _, uid in view.dataset_select.options]  # the picker shows what is open
    view.refresh()  # the list read again keeps it (a reload of the list must not drop the open dataset)
    assert view.loaded == (older.uid,) and view.selected() == (older.uid,)
    assert len(view.frame) == len(reference(services, reader, [older]))  # the older dataset's rows, all of them

    # looked up with the reader's permissions: without read_datasets, nothing opens
    outsider = make_actor("view_overview", email="outsider@free.com")
    blocked = AnalysisView(ctx(outsider))
    blocked.resolve_unlisted([older.uid])
    assert blocked.choices == {} and blocked.unlisted == {}
    # a dataset without an analysed file yet is not offered either
    services.storage.path(ANALYSED, older.uid).unlink()
    again = shown(ctx, reader)
    again.apply_address_state(fragment)
    assert again.loaded == (newest.uid,) and "1 dataset of this link is not available" in again.alert.message


def test_the_side_panel_shows_the_whole_tweet_its_labels_and_the_operators_replies(services, analyst, ctx,
                                                                                  finish):
    write_hand_counted(services, analyst, finish)
    view = shown(ctx, analyst)
    c0 = view.frame.loc[view.frame["screen_name"] == "c0", "id"].iloc[0]
    view.grid.user_params = {**view.grid.user_params, "opened": c0, "seq": 1}
    assert is_visible(view.panel)
    details = view.panel.details.value
    assert "@c0" in details and "Replies from the operator" in details
    assert details.count("dl-thread-reply") == 2 and "30 min later" in details and "2 h 00 later" in details
    assert "Labelled by the built-in analyzer" in details and "% sure" in details
    # an operator's reply shows the customer tweet it answers
    op7 = view.frame.loc[view.frame["screen_name"] == "free", "id"].iloc[0]
    view.open_tweet(op7)
    assert "In reply to" in view.panel.details.value and "@c0" in view.panel.details.value
    assert "% sure" not in view.panel.details.value  # a rule labelled it: no model confidence
    # the correction form is in the panel
    view.correct_field.value = "sentiment"
    view.correct_value.value = "negative"
    view.save_correction()
    assert view.alert.kind == "success" and "neutral → negative" in view.alert.message
    view.close_panel()
    assert not is_visible(view.panel)


def test_ticked_rows_are_corrected_together(services, analyst, ctx, analysed_files, make_actor):
    view = shown(ctx, analyst)
    page = view.grid.grid_data_in
    ticked = page["id"].head(3).tolist()
    assert not is_visible(view.bulk_bar)
    view.grid.user_params = {**view.grid.user_params, "checked": ticked, "seq": 1}
    assert is_visible(view.bulk_bar) and "3 tweets ticked" in view.bulk_label.value
    view.bulk_field.value = "main_topic"
    topic = services.settings.topics()[-1]
    view.bulk_value.value = topic
    already = int((view.frame[view.frame["id"].isin(ticked)]["main_topic"] == topic).sum())
    view.save_bulk()
    assert view.alert.kind == "success", view.alert.message
    assert set(view.frame.loc[view.frame["id"].isin(ticked), "main_topic"].astype(str)) == {topic}
    history = services.corrections.history(analyst, analysed_files[1].uid)
    assert sorted(h["tweet_id"] for h in history) == sorted(
        i for i in ticked if i not in set(view.raw.loc[view.raw["main_topic"] == topic, "id"]))
    assert len(history) == 3 - already
    assert not is_visible(view.bulk_bar)
    # a reader cannot correct: no bar, and the service refuses anyway
    reader = make_actor("read_datasets")
    other = shown(ctx, reader)
    other.check(ticked)
    assert not is_visible(other.bulk_bar)
    with pytest.raises(PermissionDenied):
        services.corrections.correct_many(reader, analysed_files[1].uid, [(ticked[0], None)], "sentiment", "neutral")


def test_terms_show_what_customers_say_and_a_click_filters_by_one(services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    chips = [c for line in view.terms.body.children for c in line.children[-1].children]
    assert chips, "the synthetic tweets have frequent words"
    term = chips[0].description.split(" · ")[0]
    chips[0].click()
    assert view.drills[-1].kind == "term" and view.drills[-1].value == term
    texts = view.frame["full_text"].take(view.rows.index.to_numpy()).astype(str).str.lower()
    folded = analytics.fold_text(term).lstrip("#")
    assert len(texts) and texts.map(lambda t: folded in analytics.fold_text(t)).all()
    view.terms.grouping.value = "topic"
    groups = [line.children[0].value for line in view.terms.body.children]
    assert groups and all(g for g in groups)


def test_the_analyst_chooses_the_tables_columns(services, analyst, ctx, analysed_files):
    view = shown(ctx, analyst)
    view.columns_button.click()
    assert is_visible(view.columns_box)
    view.column_checks["author"].value = False
    view.column_checks["model"].value = False
    assert view.grid.user_params["hidden"] == ["author", "model"]
    view.column_checks["author"].value = True
    assert view.grid.user_params["hidden"] == ["model"]


def test_a_click_on_a_spike_explains_what_rose(services, analyst, ctx, finish):
    """14 quiet days, then a day of "panne fibre" complaints: its bar is a spike, and a click says why."""
    rows = []
    quiet = ["Merci pour votre aide", "Question sur ma facture du mois", "Comment changer mon offre ?"]
    for day in range(1, 15):
        for k in range(3):
            rows.append((f"2025-10-{day:02d} 1{k}:00:00", quiet[k], "neutral", "Facturation"))
    for k in range(15):
        rows.append((f"2025-10-15 {8 + k % 10:02d}:{k:02d}:00", f"Panne fibre à Lyon depuis ce matin #{k}",
                     "negative", "Réseau"))
    records = []
    for i, (created_at, text, sentiment, topic) in enumerate(rows):
        row = tweet_row(i, id=str(1790000000000000000 + i), created_at=created_at, full_text=text,
                        screen_name=f"client{i}")
        records.append({**row, "is_retweet": "False", "is_operator": "False", "is_engagement_outlier": "False",
                        "engagement": "0", "sentiment": sentiment, "priority": "1", "main_topic": topic,
                        "labelled_by": "builtin"})
    file, task = services.files.add(analyst, "pics.csv", make_csv(records))
    finish(task.uid)
    path = services.storage.path(ANALYSED, file.uid)
    path.parent.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(records).to_csv(path, index=False)

    view = shown(ctx, analyst)
    figure = view.raw_figures["timeline"]
    spikes = figure["layout"]["meta"]["spikes"]
    assert len(spikes) == 1 and view.timeline_grain == "day"
    click(view, "timeline", spikes[0])
    assert view.drills[0].kind == "day" and is_visible(view.spike_card)
    text = view.spike_html.value
    assert "Why this spike?" in text and "2025-10-15" in text
    assert "panne" in text and "fibre" in text and "Réseau" in text  # what rose: terms and the topic
    assert "facture" not in text.split("share of the rise")[1].split("</table>")[0]  # the quiet words did not rise
    assert text.count("dl-thread-item") == 3  # three representative tweets
    # positive control: a click on a quiet day filters without an explanation
    view.clear_drill()
    view.spike_card.layout.display = "none"
    click(view, "timeline", 0)
    assert view.drills[0].kind == "day" and not is_visible(view.spike_card)


# -- a page prepared by a preheated kernel --------------------------------------------------------------------


def opened(app, state: str = "") -> None:
    """What the page's address widget sends once the browser shows the page (``dallosh.ui.location``)."""
    app.location.handle({"type": "opened", "href": "http://127.0.0.1/voila/render/home/analysis.ipynb",
                         "state": state})


def test_a_warm_up_gives_way_to_a_page_that_opened(services, analyst, analysed_files, monkeypatch):
    """A pooled kernel still warming up when its page opens (a link opened right after the pool refilled) stops
    at its next step: the page's own work waits for the same lock."""
    from dallosh.ui.analysis import address
    from dallosh.ui.app import App

    monkeypatch.setenv("JUPYTERHUB_USER", analyst.email)
    indexed: list[int] = []
    build = address.terms.build_term_index
    monkeypatch.setattr(address.terms, "build_term_index", lambda texts: indexed.append(len(texts)) or build(texts))
    view = App(services, analyst, view="analysis", live=False, preheated=True).view
    assert indexed and "warm_up_s" in view.timings  # positive control: not opened, it warmed up fully
    view.cache.clear()
    indexed.clear()
    del view.timings["warm_up_s"]
    view.on_page_open(f"ds={analysed_files[0].uid}")  # a link: the page's state decides what to read
    view._warm_up()  # e.g. queued before the page opened
    assert not indexed and not view.cache and "warm_up_s" not in view.timings


def test_a_preheated_page_reads_user_settings_theme_and_datasets_again_when_it_opens(
        services, admin, analyst, ctx, analysed_files, finish, monkeypatch):
    from dallosh.ui.app import App

    monkeypatch.setenv("JUPYTERHUB_USER", analyst.email)
    app = App(services, analyst, view="analysis", live=False, preheated=True)
    view = app.view
    # nothing shown yet (the address may name other datasets than the newest), but the newest was read and the
    # page's computations ran once out of sight (imports and caches warm), leaving the widgets alone
    assert "dl-preheated" in app._dom_classes and view.loaded == () and view.choices
    assert set(view.cache) == {analysed_files[1].uid} and "warm_up_s" in view.timings
    assert view.filtered is None and not any(chart.figure for chart in view.charts.values())
    # meanwhile (the kernel waits in the pool): a dataset is analysed, the app renamed, the theme changed
    fresh = analysed_files[0]
    file, task = services.files.add(analyst, "janvier.csv", generate_tweets(120, seed=9).to_csv(index=False).encode())
    process(services, file.uid)
    finish(task.uid)
    services.settings.update_general(admin, appName="Free Care")
    services.auth.update_account(analyst, theme="dark")
    assert file.uid not in view.choices and app.theme == "light"  # control: what it read before

    opened(app, f"ds={file.uid}&sent=negative")
    assert "dl-preheated" not in app._dom_classes
    assert "Free Care" in app.brand.value and app.theme == "dark" and "dl-dark" in app._dom_classes
    assert view.loaded == (file.uid,) and view.sentiment.value == "negative" and view.alert.kind == ""
    assert fresh.uid in view.choices  # the list read again
    assert app.location.title == "Analysis · Free Care"
    # a second "opened" (the widget shown again) changes nothing
    view.sentiment.value = "positive"
    opened(app)
    assert view.sentiment.value == "positive"

    # the page opened without a link: the newest dataset, as on a page that was not preheated
    plain = App(services, analyst, view="analysis", live=False, preheated=True)
    assert plain.view.loaded == ()
    opened(plain)
    assert plain.view.loaded == (file.uid,) and plain.view.alert.kind == ""
    assert App(services, analyst, view="analysis", live=False).view.loaded == (file.uid,)  # control


def test_a_preheated_page_whose_users_role_changed_is_loaded_again(services, analyst, make_actor, monkeypatch,
                                                                   analysed_files):
    from dallosh.services import SYSTEM
    from dallosh.ui.app import App

    monkeypatch.setenv("JUPYTERHUB_USER", analyst.email)
    sent: list[dict] = []
    same = App(services, analyst, view="analysis", live=False, preheated=True)
    same.location.send = sent.append  # what would go to the browser
    opened(same)
    assert sent == [] and "dl-preheated" not in same._dom_classes  # control: nothing changed, it shows

    app = App(services, analyst, view="analysis", live=False, preheated=True)
    app.location.send = sent.append
    reader = services.roles.create(SYSTEM, "reader-only", ["read_datasets"])
    services.users.update(SYSTEM, analyst.uid, role_id=reader.uid)
    opened(app, f"ds={analysed_files[0].uid}")
    assert sent == [{"type": "reload"}]  # a new page, built for the role the user has now
    assert "dl-preheated" in app._dom_classes and app.view.loaded == ()  # nothing of the link was read
