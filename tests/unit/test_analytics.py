"""dallosh.analytics on small hand-computed examples: every expected number below is worked out by hand."""

from __future__ import annotations

import io
import unicodedata
from datetime import datetime
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
import pytest

from dallosh import analytics as an
from dallosh.analytics import Filters
from dallosh.cleaning import clean_tweets
from dallosh.defaults import DATASET_COLUMNS, DEFAULT_OPERATOR_ACCOUNTS
from tools.synthetic import generate_tweets

ANALYSED_COLUMNS = (
    *DATASET_COLUMNS, "is_retweet", "is_operator", "is_engagement_outlier", "engagement",
    "sentiment", "priority", "main_topic", "labelled_by",
)
BASE_ID = 1_962_404_500_417_282_000  # 19 digits, above 2**53: a float would lose the last digits


def tid(i: int) -> str:
    return str(BASE_ID + i)


def tweet(i: int, **fields: object) -> dict[str, str]:
    """One analysed row, every value a string (as read back from the analysed CSV)."""
    row = {
        "id": tid(i),
        "created_at": "2025-09-01 10:00:00",
        "full_text": f"tweet {i}",
        "screen_name": f"client{i}",
        "name": f"Client {i}",
        "favorite_count": "0",
        "is_retweet": "False",
        "is_operator": "False",
        "is_engagement_outlier": "False",
        "engagement": "0",
        "sentiment": "neutral",
        "priority": "0",
        "main_topic": "Réseau",
        "labelled_by": "builtin",
    }
    row.update({k: str(v) for k, v in fields.items()})
    return row


def raw(rows: list[dict[str, str]]) -> pd.DataFrame:
    return pd.DataFrame({c: [r.get(c, "") for r in rows] for c in ANALYSED_COLUMNS}, dtype="str")


def load(rows: list[dict[str, str]]) -> pd.DataFrame:
    return an.load_analysed(raw(rows), dataset_names=["test"])


def labelled(*spec: tuple[str, int, int]) -> pd.DataFrame:
    """Rows from (sentiment, priority, engagement) triples."""
    return load([tweet(i, sentiment=s, priority=p, engagement=e) for i, (s, p, e) in enumerate(spec)])


@pytest.fixture
def mixed() -> pd.DataFrame:
    """3 positive, 5 negative, 2 neutral; priority 2 on rows 3, 4, 5 and 9; engagement 0..9 (sum 45)."""
    spec = [("positive", 0, 0), ("positive", 1, 1), ("positive", 0, 2),
            ("negative", 2, 3), ("negative", 2, 4), ("negative", 2, 5), ("negative", 1, 6), ("negative", 0, 7),
            ("neutral", 1, 8), ("neutral", 2, 9)]
    return labelled(*spec)


# ---------------------------------------------------------------------------------------------------- loading


def test_load_types_every_column_and_keeps_19_digit_ids_exact():
    df = load([tweet(1, favorite_count="12", engagement="15", is_retweet="True", priority="2",
                     sentiment="negative", in_reply_to=tid(7))])
    assert df["id"].tolist() == [tid(1)] and len(df["id"][0]) == 19
    assert df["in_reply_to"].astype("str").tolist() == [tid(7)]
    assert str(df["created_at"].dtype) == "datetime64[us, UTC]"
    assert df["created_at"][0] == pd.Timestamp("2025-09-01 10:00:00", tz="UTC")
    assert df["favorite_count"].dtype == np.int64 and df["favorite_count"][0] == 12
    assert df["engagement"].dtype == np.int64 and df["engagement"][0] == 15
    assert df["is_retweet"].dtype == bool and bool(df["is_retweet"][0]) is True
    assert df["is_operator"].dtype == bool and bool(df["is_operator"][0]) is False
    assert df["priority"].tolist() == [2]
    assert isinstance(df["sentiment"].dtype, pd.CategoricalDtype)
    assert list(df["sentiment"].cat.categories) == ["negative", "neutral", "positive"]
    assert isinstance(df["main_topic"].dtype, pd.CategoricalDtype)
    assert df["dataset"].astype("str").tolist() == ["test"]


def test_load_coerces_bad_values_instead_of_crashing():
    rows = [
        tweet(1, favorite_count="abc", engagement="-4", priority="urgent", sentiment=" Negative "),
        tweet(2, favorite_count="", engagement="3.0", priority="7", sentiment="angry", main_topic=""),
        tweet(3, favorite_count="99999999999999999999999", is_retweet="true", is_operator="1"),
    ]
    df = load(rows)
    assert df["favorite_count"].tolist() == [0, 0, 10**12]
    assert df["engagement"].tolist() == [0, 3, 0]
    assert df["priority"].tolist() == [0, 0, 0]
    assert df["sentiment"].astype(object).tolist()[0] == "negative"
    assert df["sentiment"].isna().tolist() == [False, True, False]
    assert df["main_topic"].isna().tolist() == [False, True, False]
    assert df["is_retweet"].tolist() == [False, False, True]
    assert df["is_operator"].tolist() == [False, False, True]


def test_created_at_accepts_export_iso_and_twitter_formats_and_never_crashes():
    values = pd.Series([
        "2025-09-01 10:00:00",  # the export's format (UTC)
        "2025-09-01T12:00:00+02:00",  # ISO with offset → 10:00 UTC
        "2025-09-01T10:00:00Z",
        "Mon Sep 01 10:00:00 +0000 2025",  # Twitter API
        "01/09/2025 10:00",  # French spreadsheet
        "not a date", "", "2025-13-45 99:99:99", "  ",
    ], dtype="str")
    parsed = an.parse_created_at(values)
    ten = pd.Timestamp("2025-09-01 10:00:00", tz="UTC")
    assert parsed[:5].tolist() == [ten] * 5
    assert parsed[5:].isna().all()


def test_load_several_csvs_names_datasets_and_keeps_categoricals(tmp_path: Path):
    first, second = tmp_path / "september.csv", tmp_path / "october.csv"
    raw([tweet(1, main_topic="Réseau"), tweet(2, main_topic="Offres")]).to_csv(first, index=False)
    raw([tweet(3, main_topic="Facturation"), tweet(4, main_topic="Réseau")]).to_csv(second, index=False)
    df = an.load_analysed([first, second])
    assert df["dataset"].astype("str").tolist() == ["september", "september", "october", "october"]
    assert df["id"].tolist() == [tid(1), tid(2), tid(3), tid(4)]
    assert isinstance(df["main_topic"].dtype, pd.CategoricalDtype)
    assert isinstance(df["screen_name"].dtype, pd.CategoricalDtype)
    assert df["main_topic"].astype("str").tolist() == ["Réseau", "Offres", "Facturation", "Réseau"]
    named = an.load_analysed([first, second], dataset_names=["a", "b"])
    assert named["dataset"].astype("str").tolist() == ["a", "a", "b", "b"]
    with pytest.raises(ValueError):
        an.load_analysed([first, second], dataset_names=["only one"])


def test_load_reads_in_chunks_without_changing_the_result(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "a.csv"
    topics = ["Réseau", "Offres", "Autre", "Réseau", "Facturation"]
    raw([tweet(i, main_topic=t, screen_name=f"u{i % 2}") for i, t in enumerate(topics)]).to_csv(path, index=False)
    whole = an.load_analysed(path)
    typed: list[int] = []
    type_frame = an.load._type_frame
    monkeypatch.setattr(an.load, "_type_frame", lambda raw, name: typed.append(len(raw)) or type_frame(raw, name))
    monkeypatch.setattr(an.load, "LOAD_CHUNK_ROWS", 2)  # the module that reads it, not the package's re-export
    chunked = an.load_analysed(path)
    assert typed == [2, 2, 1]
    assert chunked.index.tolist() == [0, 1, 2, 3, 4]
    assert chunked["main_topic"].astype("str").tolist() == topics
    assert list(chunked["main_topic"].cat.categories) == ["Autre", "Facturation", "Offres", "Réseau"]
    assert isinstance(chunked["screen_name"].dtype, pd.CategoricalDtype)
    for column in whole.columns:
        assert whole[column].astype(object).tolist() == chunked[column].astype(object).tolist(), column


def test_load_accepts_typed_frames_and_is_idempotent():
    cleaned = clean_tweets(generate_tweets(100, seed=1), DEFAULT_OPERATOR_ACCOUNTS).frame  # bool/int columns
    cleaned["sentiment"] = "negative"
    cleaned["priority"] = 2  # int64, as the pipeline's in-memory frame holds it
    cleaned["main_topic"] = "Réseau"
    once = an.load_analysed(cleaned)
    assert once["priority"].tolist() == [2] * len(cleaned)
    assert once["is_operator"].tolist() == cleaned["is_operator"].tolist()
    assert once["dataset"].astype("str").unique().tolist() == ["dataset_1"]
    twice = an.load_analysed(once)
    pd.testing.assert_frame_equal(once, twice)
    ints = an.load_analysed(pd.DataFrame({"id": [BASE_ID], "in_reply_to": [BASE_ID + 1]}))
    assert ints["id"].tolist() == [tid(0)] and ints["in_reply_to"].astype("str").tolist() == [tid(1)]


def test_load_columns_option_keeps_the_analysis_columns(tmp_path: Path):
    path = tmp_path / "a.csv"
    raw([tweet(1)]).to_csv(path, index=False)
    df = an.load_analysed(path, columns=["full_text"])
    assert {"id", "created_at", "full_text", "sentiment", "priority", "engagement"} <= set(df.columns)
    assert "url" not in df.columns and "profile_image_url" not in df.columns


def test_load_real_pipeline_shape(tmp_path: Path):
    cleaned = clean_tweets(generate_tweets(400, seed=3), DEFAULT_OPERATOR_ACCOUNTS).frame
    rng = np.random.default_rng(0)
    cleaned["sentiment"] = rng.choice(["negative", "neutral", "positive"], len(cleaned))
    cleaned["priority"] = rng.integers(0, 3, len(cleaned))
    cleaned["main_topic"] = "Réseau"
    cleaned["labelled_by"] = "builtin"
    path = tmp_path / "analysed.csv"
    cleaned.to_csv(path, index=False)
    df = an.load_analysed(path)
    assert len(df) == len(cleaned)
    assert df["id"].tolist() == cleaned["id"].tolist()
    assert df["created_at"].notna().all()
    assert df["is_operator"].tolist() == cleaned["is_operator"].tolist()
    assert df["engagement"].tolist() == cleaned["engagement"].tolist()
    assert an.median_first_reply_time(df, DEFAULT_OPERATOR_ACCOUNTS) > pd.Timedelta(0)


# ------------------------------------------------------------------------------------------------------- KPIs


def test_kpis_on_a_hand_computed_frame(mixed: pd.DataFrame):
    assert an.volume(mixed) == 10
    assert an.negative_share(mixed) == pytest.approx(50.0)  # 5 / 10
    assert an.net_sentiment(mixed) == pytest.approx(-0.25)  # (3 - 5) / (3 + 5)
    assert an.high_priority_count(mixed) == 4
    assert an.engagement_rate(mixed) == pytest.approx(4.5)  # 45 / 10
    assert an.kpis(mixed) == {
        "volume": 10, "negative_share": pytest.approx(50.0), "net_sentiment": pytest.approx(-0.25),
        "high_priority_count": 4, "median_first_reply_time": None, "engagement_median": an.engagement_median(mixed),
        "engagement_rate": pytest.approx(4.5), "engagement_outliers": 0,
    }


def test_kpis_of_an_empty_frame():
    empty = load([])
    assert an.kpis(empty, DEFAULT_OPERATOR_ACCOUNTS) == {
        "volume": 0, "negative_share": None, "net_sentiment": None, "high_priority_count": 0,
        "median_first_reply_time": None, "engagement_median": None, "engagement_rate": None,
        "engagement_outliers": 0,
    }


def test_engagement_headline_is_robust_to_the_viral_tweets_cleaning_flags():
    # Nine ordinary tweets with 0-4 interactions and one viral tweet with 3,000 (flagged by cleaning).
    rows = [tweet(i, engagement=i % 5) for i in range(9)]
    rows.append(tweet(9, engagement=3000, is_engagement_outlier="True"))
    df = load(rows)
    assert an.engagement_median(df) == 2.0  # sorted 0 0 1 1 2 2 3 3 4 3000: the middle two are 2 and 2
    assert an.engagement_rate(df) == pytest.approx(16 / 9)  # 0+1+2+3+4+0+1+2+3: the viral tweet left out
    assert an.engagement_outlier_count(df) == 1
    assert float(df["engagement"].mean()) == pytest.approx(301.6)  # what the old mean showed: 3016 / 10


def test_all_neutral_has_no_net_sentiment_and_zero_negative_share():
    df = labelled(("neutral", 0, 1), ("neutral", 1, 2), ("neutral", 0, 3))
    assert an.net_sentiment(df) is None
    assert an.negative_share(df) == 0.0
    assert an.engagement_rate(df) == pytest.approx(2.0)


def test_unlabelled_rows_are_left_out_of_sentiment_shares():
    df = labelled(("negative", 0, 0), ("positive", 0, 0), ("", 0, 0), ("bogus", 0, 0))
    assert an.negative_share(df) == pytest.approx(50.0)  # 1 of the 2 labelled rows
    assert an.net_sentiment(df) == 0.0


def reply_rows() -> list[dict[str, str]]:
    """Customer tweets 1–4 and 7, operator replies; first-reply delays 5, 30 and 60 min (median 30 min)."""
    return [
        tweet(1, created_at="2025-09-01 10:00:00"),
        tweet(2, created_at="2025-09-01 11:00:00"),
        tweet(3, created_at="2025-09-01 12:00:00"),  # only a reply dated before it: ignored
        tweet(4, created_at="2025-09-01 13:00:00"),
        tweet(7, created_at="2025-09-01 09:00:00"),  # answered by another customer only
        tweet(11, screen_name="Free", is_operator="True", in_reply_to=tid(1), created_at="2025-09-01 10:10:00"),
        tweet(12, screen_name="freebox", is_operator="True", in_reply_to=tid(1), created_at="2025-09-01 10:05:00"),
        tweet(13, screen_name="@FreeMobile", is_operator="True", in_reply_to=tid(2),
              created_at="2025-09-01 11:30:00"),
        tweet(14, screen_name="free", is_operator="True", in_reply_to=tid(3), created_at="2025-09-01 11:00:00"),
        tweet(15, screen_name="free", is_operator="True", in_reply_to=tid(4), created_at="2025-09-01 14:00:00"),
        tweet(16, screen_name="someone", in_reply_to=tid(7), created_at="2025-09-01 09:01:00"),
        tweet(17, screen_name="free", is_operator="True", in_reply_to=tid(99), created_at="2025-09-01 09:00:00"),
    ]


def test_median_first_reply_time_uses_the_earliest_reply_and_ignores_negative_delays():
    df = load(reply_rows())
    delays = an.first_reply_delays(df, DEFAULT_OPERATOR_ACCOUNTS)
    assert delays.to_dict() == {tid(1): pd.Timedelta(minutes=5), tid(2): pd.Timedelta(minutes=30),
                                tid(4): pd.Timedelta(minutes=60)}
    assert an.median_first_reply_time(df, DEFAULT_OPERATOR_ACCOUNTS) == pd.Timedelta(minutes=30)
    assert an.median_first_reply_time(df) == pd.Timedelta(minutes=30)  # no list: the is_operator flag


def test_first_reply_time_of_a_filtered_view_looks_replies_up_in_the_full_frame():
    df = load(reply_rows())
    customers = an.apply_filters(df, Filters())  # default: operator tweets hidden
    assert an.median_first_reply_time(customers, DEFAULT_OPERATOR_ACCOUNTS) is None
    assert an.median_first_reply_time(customers, DEFAULT_OPERATOR_ACCOUNTS, replies_from=df) == pd.Timedelta(
        minutes=30)
    only_first = an.apply_filters(df, Filters(ids=[tid(1)]))
    assert an.kpis(only_first, DEFAULT_OPERATOR_ACCOUNTS, replies_from=df)["median_first_reply_time"] == (
        pd.Timedelta(minutes=5))


def test_no_operator_reply_gives_none():
    df = load([tweet(1), tweet(2, screen_name="someone", in_reply_to=tid(1), created_at="2025-09-01 10:30:00")])
    assert an.median_first_reply_time(df, DEFAULT_OPERATOR_ACCOUNTS) is None
    assert an.median_first_reply_time(df, []) is None


def test_reply_time_skips_unparseable_dates():
    rows = reply_rows()
    rows[0]["created_at"] = "garbage"  # tweet 1 loses its date: only tweets 2 and 4 count (30, 60 min)
    assert an.median_first_reply_time(load(rows), DEFAULT_OPERATOR_ACCOUNTS) == pd.Timedelta(minutes=45)


# ------------------------------------------------------------------------------------------------- chart data


def test_sentiment_and_priority_counts(mixed: pd.DataFrame):
    sentiments = an.sentiment_counts(mixed)
    assert sentiments["sentiment"].tolist() == ["negative", "neutral", "positive"]
    assert sentiments["count"].tolist() == [5, 2, 3]
    assert sentiments["share"].tolist() == pytest.approx([50.0, 20.0, 30.0])
    priorities = an.priority_counts(mixed)
    assert priorities["priority"].tolist() == [0, 1, 2]
    assert priorities["count"].tolist() == [3, 3, 4]
    assert priorities["share"].tolist() == pytest.approx([30.0, 30.0, 40.0])


def test_counts_of_an_empty_frame_are_zero():
    empty = load([])
    assert an.sentiment_counts(empty)["count"].tolist() == [0, 0, 0]
    assert an.sentiment_counts(empty)["share"].tolist() == [0.0, 0.0, 0.0]
    assert an.priority_counts(empty)["count"].tolist() == [0, 0, 0]
    assert an.topic_counts(empty).empty
    assert an.daily_volume_and_sentiment(empty).empty
    assert an.hour_of_day_activity(empty)["tweets"].sum() == 0
    assert an.topic_sentiment_matrix(empty).empty
    assert an.critical_topics(empty).empty
    assert an.top_authors(empty).empty
    assert an.top_critical_tweets(empty).empty
    assert an.engagement_by_sentiment(empty)["tweets"].tolist() == [0, 0, 0]


def topic_rows() -> list[dict[str, str]]:
    """Réseau: 3 neg (2 of them priority 2), 1 pos; Facturation: 2 neg (1 priority 2), 1 neutral;
    Offres: 1 neutral, 1 positive; one row without topic."""
    spec = [("Réseau", "negative", 2), ("Réseau", "negative", 2), ("Réseau", "negative", 1),
            ("Réseau", "positive", 2), ("Facturation", "negative", 2), ("Facturation", "negative", 0),
            ("Facturation", "neutral", 2), ("Offres", "neutral", 0), ("Offres", "positive", 1), ("", "negative", 2)]
    return [tweet(i, main_topic=t, sentiment=s, priority=p) for i, (t, s, p) in enumerate(spec)]


def test_topic_counts_most_frequent_first():
    counts = an.topic_counts(load(topic_rows()))
    assert counts["main_topic"].tolist() == ["Réseau", "Facturation", "Offres"]
    assert counts["count"].tolist() == [4, 3, 2]
    assert counts["share"].tolist() == pytest.approx([400 / 9, 300 / 9, 200 / 9])


def test_topic_sentiment_matrix_counts_and_percentages():
    matrix = an.topic_sentiment_matrix(load(topic_rows()))
    assert matrix.index.tolist() == ["Réseau", "Facturation", "Offres"]
    assert matrix.columns.tolist() == ["negative", "neutral", "positive"]
    assert matrix.to_numpy().tolist() == [[3, 0, 1], [2, 1, 0], [0, 1, 1]]
    shares = an.topic_sentiment_matrix(load(topic_rows()), normalize=True)
    assert shares.loc["Réseau"].tolist() == pytest.approx([75.0, 0.0, 25.0])
    assert shares.loc["Offres"].tolist() == pytest.approx([0.0, 50.0, 50.0])


def test_critical_topics_count_negative_and_priority_2():
    critical = an.critical_topics(load(topic_rows()))
    assert critical["main_topic"].tolist() == ["Réseau", "Facturation", "Offres"]
    assert critical["critical"].tolist() == [2, 1, 0]
    assert critical["volume"].tolist() == [4, 3, 2]
    assert critical["critical_share"].tolist() == pytest.approx([50.0, 100 / 3, 0.0])


def test_engagement_by_sentiment(mixed: pd.DataFrame):
    table = an.engagement_by_sentiment(mixed).set_index("sentiment")
    assert table["tweets"].tolist() == [5, 2, 3]
    assert table["engagement"].tolist() == [25, 17, 3]  # 3+4+5+6+7, 8+9, 0+1+2
    assert table["mean_engagement"].tolist() == pytest.approx([5.0, 8.5, 1.0])
    assert table["median_engagement"].tolist() == pytest.approx([5.0, 8.5, 1.0])


def test_top_authors_by_tweets_then_engagement_then_name():
    rows = [
        tweet(1, screen_name="bob", sentiment="negative", engagement=1),
        tweet(2, screen_name="bob", sentiment="positive", engagement=2),
        tweet(3, screen_name="alice", sentiment="negative", engagement=5, name="Alice A."),
        tweet(4, screen_name="alice", sentiment="negative", engagement=0, name="Alice later"),
        tweet(5, screen_name="carol", engagement=100),
        tweet(6, screen_name="dave", engagement=100),
        tweet(7, screen_name="", engagement=1000),
    ]
    top = an.top_authors(load(rows), n=3)
    assert top["screen_name"].tolist() == ["alice", "bob", "carol"]
    assert top["name"].tolist() == ["Alice A.", "Client 1", "Client 5"]
    assert top["tweets"].tolist() == [2, 2, 1]
    assert top["negative"].tolist() == [2, 1, 0]
    assert top["engagement"].tolist() == [5, 3, 100]
    assert len(an.top_authors(load(rows), n=10)) == 4  # the blank screen name is not an author


def test_top_critical_tweets_by_engagement_newest_first_on_ties():
    rows = [
        tweet(1, sentiment="negative", priority=2, engagement=10, created_at="2025-09-01 10:00:00"),
        tweet(2, sentiment="negative", priority=2, engagement=50, created_at="2025-09-01 10:00:00"),
        tweet(3, sentiment="negative", priority=2, engagement=10, created_at="2025-09-02 10:00:00"),
        tweet(4, sentiment="negative", priority=1, engagement=999),  # not priority 2
        tweet(5, sentiment="neutral", priority=2, engagement=999),  # not negative
        tweet(6, sentiment="negative", priority=2, engagement=1),
    ]
    top = an.top_critical_tweets(load(rows), n=3)
    assert top["id"].tolist() == [tid(2), tid(3), tid(1)]
    assert top["engagement"].tolist() == [50, 10, 10]
    assert {"full_text", "screen_name", "created_at", "main_topic"} <= set(top.columns)
    assert an.top_critical_tweets(load(rows), n=10)["id"].tolist() == [tid(2), tid(3), tid(1), tid(6)]


def test_top_critical_tweets_list_a_text_once():
    """The operator's identical reply to many customers is one entry (its most engaging copy), not ten."""
    reply = "La messagerie privée n'est plus disponible, écrivez-nous sur https://free.fr/assistance/{}"
    critical = {"sentiment": "negative", "priority": 2}
    rows = [tweet(i, full_text=f"@client{i}  " + reply.format(i).upper() if i % 2 else f"@c{i} " + reply.format(i),
                  engagement=100 - i, **critical) for i in range(1, 30)]
    rows += [tweet(40, full_text="Plus de réseau depuis ce matin", engagement=5, **critical),
             tweet(41, full_text="Box en panne, personne ne répond", engagement=4, **critical)]
    frame = load(rows)
    top = an.top_critical_tweets(frame, n=3)
    assert top["id"].tolist() == [tid(1), tid(40), tid(41)]  # 29 copies of one reply: the first, once
    # the view's slim selection has no text column: it passes the texts by position
    slim = frame.drop(columns=["full_text"])
    texts = frame["full_text"].to_numpy(dtype=object)
    assert an.top_critical_tweets(slim, n=3, texts=texts.take)["id"].tolist() == [tid(1), tid(40), tid(41)]
    # positive control: different texts are all listed
    assert len(an.top_critical_tweets(load(rows[-2:] + rows[:1]), n=10)) == 3
    assert an.text_key("@a  Hello https://x.y/1 WORLD") == an.text_key("@b hello world https://x.y/2")


def test_hour_of_day_activity_in_a_timezone():
    rows = [
        tweet(1, created_at="2025-09-01 08:15:00", sentiment="negative"),  # 10h in Paris (UTC+2)
        tweet(2, created_at="2025-09-02 08:59:59", sentiment="positive"),  # 10h
        tweet(3, created_at="2025-09-01 22:30:00", sentiment="negative"),  # 0h30 the next day
        tweet(4, created_at="unknown"),  # no date: left out
    ]
    utc = an.hour_of_day_activity(load(rows))
    assert utc.loc[utc["tweets"] > 0, "hour"].tolist() == [8, 22]
    paris = an.hour_of_day_activity(load(rows), "Europe/Paris")
    assert len(paris) == 24
    assert paris.loc[10, "tweets"] == 2 and paris.loc[10, "negative"] == 1
    assert paris.loc[10, "negative_share"] == pytest.approx(50.0)
    assert paris.loc[0, "tweets"] == 1 and paris.loc[0, "negative_share"] == pytest.approx(100.0)
    assert paris["tweets"].sum() == 3
    assert np.isnan(paris.loc[5, "negative_share"])


def daily_rows(volumes: list[int]) -> list[dict[str, str]]:
    rows = []
    for day, count in enumerate(volumes):
        for k in range(count):
            sentiment = "negative" if k % 2 == 0 else "positive"
            rows.append(tweet(len(rows), created_at=f"2025-09-{day + 1:02d} 12:{k % 60:02d}:00", sentiment=sentiment))
    return rows


def test_daily_spike_is_above_the_trailing_7_day_mean_plus_two_sigma():
    # Days 1–7: 9, 11, 9, 11, 9, 11, 10 → mean 10, sample σ = sqrt(6 / 6) = 1, threshold 12.
    daily = an.daily_volume_and_sentiment(load(daily_rows([9, 11, 9, 11, 9, 11, 10, 13, 10])))
    assert daily["day"].dt.day.tolist() == list(range(1, 10))
    assert daily["volume"].tolist() == [9, 11, 9, 11, 9, 11, 10, 13, 10]
    assert daily["trailing_mean"][:7].isna().all()
    assert daily.loc[7, "trailing_mean"] == pytest.approx(10.0)
    assert daily.loc[7, "trailing_std"] == pytest.approx(1.0)
    assert daily.loc[7, "threshold"] == pytest.approx(12.0)
    # Day 9: window = days 2–8 = 11, 9, 11, 9, 11, 10, 13 → mean 74/7; day 9's 10 is no spike.
    assert daily.loc[8, "trailing_mean"] == pytest.approx(74 / 7)
    assert daily["spike"].tolist() == [False] * 7 + [True, False]
    assert daily.loc[0, "negative"] == 5 and daily.loc[0, "positive"] == 4
    assert daily.loc[0, "negative_share"] == pytest.approx(500 / 9)


def test_volume_equal_to_the_threshold_is_not_a_spike_and_empty_days_count_as_zero():
    daily = an.daily_volume_and_sentiment(load(daily_rows([9, 11, 9, 11, 9, 11, 10, 12])))
    assert daily["spike"].tolist() == [False] * 8
    # A gap: days 1–7 have 2 tweets except day 4 (none) → the series has 8 days, day 4 at 0.
    gap = an.daily_volume_and_sentiment(load(daily_rows([2, 2, 2, 0, 2, 2, 2, 9])))
    assert gap["volume"].tolist() == [2, 2, 2, 0, 2, 2, 2, 9]
    # mean 12/7, sample σ = sqrt((6·(2/7)² + (12/7)²) / 6) = sqrt(4/7) ≈ 0.756 → threshold ≈ 3.23 < 9
    assert gap.loc[7, "trailing_std"] == pytest.approx((4 / 7) ** 0.5)
    assert gap["spike"].tolist() == [False] * 7 + [True]


def test_daily_buckets_follow_the_timezone():
    rows = [tweet(1, created_at="2025-09-01 21:30:00"), tweet(2, created_at="2025-09-01 22:30:00")]
    assert an.daily_volume_and_sentiment(load(rows))["volume"].tolist() == [2]
    paris = an.daily_volume_and_sentiment(load(rows), "Europe/Paris")
    assert paris["day"].tolist() == [pd.Timestamp("2025-09-01"), pd.Timestamp("2025-09-02")]
    assert paris["volume"].tolist() == [1, 1]


# ---------------------------------------------------------------------------------------------------- filters


@pytest.fixture
def corpus() -> pd.DataFrame:
    rows = [
        tweet(0, created_at="2025-09-01 08:00:00", main_topic="Réseau", sentiment="negative", priority=2,
              full_text="Panne RÉSEAU à Saint-Étienne"),
        tweet(1, created_at="2025-09-02 23:30:00", main_topic="Facturation", sentiment="negative", priority=1,
              full_text="Facture trop élevée"),
        tweet(2, created_at="2025-09-03 12:00:00", main_topic="Réseau", sentiment="positive", priority=0,
              full_text="Le reseau est revenu, merci"),
        tweet(3, created_at="2025-09-04 12:00:00", main_topic="Offres", sentiment="neutral", priority=0,
              full_text="RT @bob: offre fibre", is_retweet="True"),
        tweet(4, created_at="2025-09-05 12:00:00", main_topic="Service Client", sentiment="neutral", priority=1,
              full_text="@client1 Nous regardons ça", screen_name="free", is_operator="True"),
        tweet(5, created_at="???", main_topic="Réseau", sentiment="negative", priority=2,
              full_text=unicodedata.normalize("NFD", "Coupure été à Nîmes")),
    ]
    return load(rows)


def selected(df: pd.DataFrame, **kwargs: object) -> list[int]:
    return [int(i) - BASE_ID for i in an.apply_filters(df, Filters(**kwargs))["id"]]  # type: ignore[arg-type]


def test_default_filters_keep_customer_tweets_and_retweets(corpus: pd.DataFrame):
    assert selected(corpus) == [0, 1, 2, 3, 5]
    assert selected(corpus, include_operator=True) == [0, 1, 2, 3, 4, 5]
    assert selected(corpus, include_retweets=False) == [0, 1, 2, 5]


def test_date_filters_are_inclusive_whole_days(corpus: pd.DataFrame):
    assert selected(corpus, date_from="2025-09-02") == [1, 2, 3]
    assert selected(corpus, date_to="2025-09-02") == [0, 1]  # 23:30 on the 2nd included
    assert selected(corpus, date_from=pd.Timestamp("2025-09-02").date(), date_to="2025-09-03") == [1, 2]
    assert selected(corpus, date_to=pd.Timestamp("2025-09-02 12:00", tz="UTC")) == [0]
    # In Paris (UTC+2) tweet 1 (23:30 UTC on the 2nd) is on the 3rd.
    assert selected(corpus, date_from="2025-09-03", date_to="2025-09-03", tz="Europe/Paris") == [1, 2]


def test_category_filters(corpus: pd.DataFrame):
    assert selected(corpus, topics=["Réseau"]) == [0, 2, 5]
    assert selected(corpus, sentiments=["negative"]) == [0, 1, 5]
    assert selected(corpus, sentiments=["Positive"]) == [2]
    assert selected(corpus, priorities=[2]) == [0, 5]
    assert selected(corpus, priorities=[0, 1]) == [1, 2, 3]
    assert selected(corpus, topics=[]) == []  # an explicit empty choice selects nothing


def test_ids_filter_for_drill_down(corpus: pd.DataFrame):
    assert selected(corpus, ids=[tid(2), tid(0), "123"]) == [0, 2]
    assert selected(corpus, ids=[tid(4)]) == []  # operator tweets stay hidden unless included
    assert selected(corpus, ids=[]) == []


def test_search_ignores_case_and_accents(corpus: pd.DataFrame):
    assert selected(corpus, search="reseau") == [0, 2]
    assert selected(corpus, search="RÉSEAU") == [0, 2]
    assert selected(corpus, search="saint-etienne") == [0]
    assert selected(corpus, search="elevee") == [1]
    assert selected(corpus, search="ETE a nimes") == [5]  # decomposed (NFD) text
    assert selected(corpus, search="  revenu,  merci ") == [2]
    assert selected(corpus, search="(") == []  # regex characters are literal
    assert selected(corpus, search="   ") == [0, 1, 2, 3, 5]


def test_combined_filters(corpus: pd.DataFrame):
    assert selected(corpus, topics=["Réseau"], sentiments=["negative"], date_from="2025-09-01") == [0]
    assert selected(corpus, topics=["Réseau", "Facturation"], priorities=[1, 2], search="e",
                    date_to="2025-09-30") == [0, 1]
    assert selected(corpus, include_operator=True, include_retweets=False, sentiments=["neutral"]) == [4]


def test_filters_keep_the_index_and_do_not_modify_the_input(corpus: pd.DataFrame):
    before = corpus.copy()
    out = an.apply_filters(corpus, Filters(topics=["Réseau"]))
    assert out.index.tolist() == [0, 2, 5]
    pd.testing.assert_frame_equal(corpus, before)


# ------------------------------------------------------------------------------------------------ corrections


def test_corrections_override_labels_and_change_the_kpis(mixed: pd.DataFrame):
    corrections = pd.DataFrame({
        "id": [tid(3), tid(4), tid(0), tid(0), tid(9), "0000"],
        "field": ["sentiment", "sentiment", "priority", "priority", "main_topic", "sentiment"],
        "new_value": ["positive", "positive", "1", 2, "Nouveau sujet", "negative"],
    })
    fixed = an.apply_corrections(mixed, corrections)
    # Now 5 positive, 3 negative: net (5 - 3) / 8 = 0.25, negative share 3 / 10 = 30 %.
    assert an.net_sentiment(fixed) == pytest.approx(0.25)
    assert an.negative_share(fixed) == pytest.approx(30.0)
    assert an.high_priority_count(fixed) == 5  # row 0 → 2 (the last correction wins)
    assert fixed["corrected"].tolist() == [True, False, False, True, True, False, False, False, False, True]
    assert "Nouveau sujet" in an.topic_counts(fixed)["main_topic"].tolist()
    assert isinstance(fixed["sentiment"].dtype, pd.CategoricalDtype)
    assert an.net_sentiment(mixed) == pytest.approx(-0.25)  # the input is untouched
    assert "corrected" not in mixed.columns


def test_a_correction_applies_to_every_copy_of_the_tweet():
    first, second = raw([tweet(1, sentiment="negative")]), raw([tweet(1, sentiment="negative"), tweet(2)])
    both = an.load_analysed([first, second], dataset_names=["a", "b"])
    fixed = an.apply_corrections(both, pd.DataFrame({"id": [BASE_ID + 1], "field": ["sentiment"],
                                                     "new_value": ["neutral"]}))
    assert fixed["sentiment"].astype("str").tolist() == ["neutral", "neutral", "neutral"]
    assert fixed["corrected"].tolist() == [True, True, False]
    assert an.negative_share(both) == pytest.approx(200 / 3) and an.negative_share(fixed) == 0.0


def test_invalid_corrections_are_refused():
    df = labelled(("negative", 0, 0))
    with pytest.raises(ValueError, match="field"):
        an.apply_corrections(df, pd.DataFrame({"id": [tid(0)], "field": ["full_text"], "new_value": ["x"]}))
    with pytest.raises(ValueError, match="sentiment"):
        an.apply_corrections(df, pd.DataFrame({"id": [tid(0)], "field": ["sentiment"], "new_value": ["angry"]}))
    with pytest.raises(ValueError, match="priority"):
        an.apply_corrections(df, pd.DataFrame({"id": [tid(0)], "field": ["priority"], "new_value": ["5"]}))
    empty = an.apply_corrections(df, pd.DataFrame({"id": [], "field": [], "new_value": []}))
    assert empty["corrected"].tolist() == [False]


# ----------------------------------------------------------------------------------------------------- export


def test_export_frame_neutralises_only_formulas_and_keeps_types():
    texts = ["=1+1", "+cmd|' /C calc'!A0", "-2+3+cmd|x", "@SUM(A1)", "\t=1+2",  # run by a spreadsheet
             "@Freebox ça marche pas", "-12", "+33.5", "\tTAB", "plain", "a=b"]  # shown as they are
    df = load([tweet(i, full_text=text) for i, text in enumerate(texts)])
    out = an.export_frame(df)
    assert out["full_text"].tolist() == ["'" + t for t in texts[:5]] + texts[5:]
    assert out["id"].tolist() == [tid(i) for i in range(len(texts))]
    assert out["engagement"].dtype == np.int64 and out["is_retweet"].dtype == bool
    assert out["created_at"][0] == "2025-09-01 10:00:00+00:00"
    assert out["sentiment"][0] == "neutral"
    renamed = an.export_frame(pd.DataFrame({"=cmd": ["=x"], "n": [-5]}))
    assert renamed.columns.tolist() == ["'=cmd", "n"] and renamed.iloc[0].tolist() == ["'=x", -5]


def test_export_dates_are_in_the_app_time_zone_with_their_offset():
    df = load([tweet(1, created_at="2025-09-01 10:00:00"), tweet(2, created_at="2025-01-15 23:30:00"),
               tweet(3, created_at="")])
    out = an.export_frame(df, tz="Europe/Paris")
    # Summer (+02:00) and winter (+01:00, the next day in Paris): the time the pages show, nothing lost.
    assert out["created_at"].tolist() == ["2025-09-01 12:00:00+02:00", "2025-01-16 00:30:00+01:00", ""]
    back = an.load_analysed(io.BytesIO(an.to_csv_bytes(df, tz="Europe/Paris")))
    assert back["created_at"].tolist() == df["created_at"].tolist()


def test_csv_round_trip_keeps_19_digit_ids(mixed: pd.DataFrame):
    data = an.to_csv_bytes(mixed)
    back = pd.read_csv(io.BytesIO(data), dtype=str, keep_default_na=False)
    assert back["id"].tolist() == [tid(i) for i in range(10)]
    reloaded = an.load_analysed(io.BytesIO(data))
    assert reloaded["id"].tolist() == mixed["id"].tolist()
    assert reloaded["created_at"].tolist() == mixed["created_at"].tolist()
    assert an.kpis(reloaded) == an.kpis(mixed)


def test_xlsx_round_trip_keeps_ids_as_text_and_formulas_inert():
    df = load([tweet(1, full_text="=HYPERLINK(\"http://evil\")"), tweet(2, full_text="bad\x00char\x07s")])
    data = an.to_xlsx_bytes(df)
    sheet = openpyxl.load_workbook(io.BytesIO(data)).active
    header = [c.value for c in sheet[1]]
    first, second = sheet[2], sheet[3]
    id_cell = first[header.index("id")]
    assert id_cell.data_type == "s" and id_cell.value == tid(1)
    text_cell = first[header.index("full_text")]  # a text cell: shown as written, never run, no apostrophe
    assert text_cell.data_type == "s" and text_cell.value == "=HYPERLINK(\"http://evil\")"
    assert second[header.index("full_text")].value == "badchars"
    assert first[header.index("engagement")].value == 0
    back = pd.read_excel(io.BytesIO(data), dtype=str)
    assert back["id"].tolist() == [tid(1), tid(2)]


def test_xlsx_cells_are_typed_in_the_app_time_zone_without_prefixes():
    df = load([tweet(1, full_text="@Freebox panne", created_at="2025-09-01 10:00:00", engagement="12"),
               tweet(2, full_text="-2+3", created_at="")])
    sheet = openpyxl.load_workbook(io.BytesIO(an.to_xlsx_bytes(df, tz="Europe/Paris"))).active
    header = [c.value for c in sheet[1]]
    first, second = sheet[2], sheet[3]
    assert first[header.index("full_text")].value == "@Freebox panne"
    assert second[header.index("full_text")].value == "-2+3"  # a text cell: never run, so no apostrophe
    when = first[header.index("created_at")]
    assert when.is_date and when.value == datetime(2025, 9, 1, 12, 0)  # Paris wall clock, as the pages show
    assert second[header.index("created_at")].value is None
    assert first[header.index("engagement")].data_type == "n" and first[header.index("engagement")].value == 12
