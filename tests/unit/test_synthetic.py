"""The synthetic export generator: format, determinism, proportions, and that its CSV reads back intact."""

from __future__ import annotations

import re
import subprocess
import sys

import pandas as pd
import pytest

from dallosh.cleaning import clean_tweets
from dallosh.defaults import DATASET_COLUMNS, DEFAULT_OPERATOR_ACCOUNTS
from tools.synthetic import EN_TEMPLATES, FR_TEMPLATES, generate_tweets, write_csv

N = 20_000
#: Words found in every English template and in no French one (checked below), to measure the language mix.
ENGLISH = re.compile(
    r"\b(?:the|[Mm]y|is|was|for|to|and|in|of|still|why|every|with|ago|from|over|has|get|got|I|it|this|by"
    r"|tonight)\b"
)


@pytest.fixture(scope="module")
def tweets() -> pd.DataFrame:
    return generate_tweets(N, seed=7)


@pytest.fixture(scope="module")
def cleaned(tweets):
    return clean_tweets(tweets, DEFAULT_OPERATOR_ACCOUNTS)


def test_exactly_the_export_columns_all_strings(tweets):
    assert list(tweets.columns) == list(DATASET_COLUMNS)
    assert len(tweets) == N
    assert all(str(dtype) == "str" for dtype in tweets.dtypes)
    assert not tweets.isna().any().any()


def test_ids_are_19_digit_strings_and_replies_point_to_earlier_customer_tweets(tweets):
    assert tweets["id"].str.fullmatch(r"\d{19}").all()
    replies = tweets[tweets["in_reply_to"] != ""]
    assert len(replies) > 0
    assert replies["in_reply_to"].str.fullmatch(r"\d{19}").all()
    assert replies["screen_name"].isin(DEFAULT_OPERATOR_ACCOUNTS).all()
    by_id = tweets.drop_duplicates("id").set_index("id")
    parents = by_id.loc[replies["in_reply_to"]]
    assert not parents["screen_name"].isin(DEFAULT_OPERATOR_ACCOUNTS).any()
    assert (parents["created_at"].to_numpy() <= replies["created_at"].to_numpy()).all()
    # The reply mentions the customer it answers.
    assert all(
        t.startswith("@" + s + " ") for t, s in zip(replies["full_text"], parents["screen_name"], strict=True)
    )


def test_created_at_has_the_sample_format_over_about_sixty_days_with_spikes(tweets):
    assert tweets["created_at"].str.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}").all()
    when = pd.to_datetime(tweets["created_at"], format="%Y-%m-%d %H:%M:%S")
    assert 55 <= (when.max() - when.min()).days <= 60
    per_day = when.dt.date.value_counts()
    assert per_day.max() > 1.8 * per_day.median()  # outage days stand out


def test_same_seed_same_frame_other_seed_other_frame():
    pd.testing.assert_frame_equal(generate_tweets(2_000, seed=3), generate_tweets(2_000, seed=3))
    assert not generate_tweets(2_000, seed=3).equals(generate_tweets(2_000, seed=4))


def test_proportions_are_roughly_respected(cleaned):
    removed, flagged = cleaned.report["removed"], cleaned.report["flagged"]
    assert removed["duplicate_rows"] + removed["duplicate_ids"] == pytest.approx(0.01 * N, rel=0.05)
    assert removed["duplicate_ids"] > 0 and removed["duplicate_rows"] > removed["duplicate_ids"]
    assert removed["empty_text"] == pytest.approx(0.005 * N, rel=0.1)
    assert flagged["retweets"] == pytest.approx(0.05 * N, rel=0.1)
    assert flagged["operator_accounts"] == pytest.approx(0.03 * N, rel=0.1)
    assert 0 < flagged["engagement_outliers"] < 0.1 * N


def test_custom_proportions():
    df = generate_tweets(10_000, seed=1, duplicates=0.1, empty=0.05, retweets=0.2, operator_share=0.1)
    report = clean_tweets(df, DEFAULT_OPERATOR_ACCOUNTS).report
    assert report["removed"]["duplicate_rows"] + report["removed"]["duplicate_ids"] == pytest.approx(
        1_000, rel=0.05
    )
    assert report["removed"]["empty_text"] == pytest.approx(500, rel=0.15)
    assert report["flagged"]["retweets"] == pytest.approx(2_000 * 0.9, rel=0.1)
    assert report["flagged"]["operator_accounts"] == pytest.approx(1_000 * 0.9, rel=0.1)


def test_zero_shares_give_a_clean_customer_only_export():
    df = generate_tweets(3_000, seed=2, duplicates=0, empty=0, retweets=0, operator_share=0)
    report = clean_tweets(df, DEFAULT_OPERATOR_ACCOUNTS).report
    assert report["rows_out"] == 3_000
    assert report["flagged"]["retweets"] == report["flagged"]["operator_accounts"] == 0


def test_english_markers_separate_the_template_banks():
    for bank in EN_TEMPLATES.values():
        assert all(ENGLISH.search(t) for t in bank), bank
    for bank in FR_TEMPLATES.values():
        assert not any(ENGLISH.search(t) for t in bank), bank


@pytest.mark.parametrize("share", [0.0, 0.2, 0.6])
def test_english_share(share):
    df = clean_tweets(generate_tweets(5_000, seed=5, english_share=share), DEFAULT_OPERATOR_ACCOUNTS).frame
    customers = df[~df["is_retweet"] & ~df["is_operator"]]["full_text"]
    measured = customers.str.contains(ENGLISH).mean()
    assert measured == pytest.approx(share, abs=0.03)


def test_texts_are_realistic_and_varied():
    df = generate_tweets(100_000, seed=0)
    text = df["full_text"]
    assert text.nunique() >= 0.3 * len(df)
    for needle in ("é", "’", "'", "😡", "@free", "&amp;", "&gt;", "&#39;", "\\n", "\n", "RT @", "« "):
        assert text.str.contains(needle, regex=False).any(), needle
    assert text.str.contains("\n", regex=False).mean() < 0.05  # quoted newlines: a few, not most
    assert df["screen_name"].nunique() > 10_000


def test_engagement_has_a_heavy_tail(cleaned):
    engagement = cleaned.frame["engagement"]
    assert engagement.median() <= 5
    assert engagement.max() > 100 * max(engagement.median(), 1)


def test_csv_round_trips_with_quoted_newlines(tmp_path, tweets):
    path = write_csv(tweets, tmp_path / "sub" / "export.csv")
    back = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert len(back) == len(tweets)
    assert tweets["full_text"].str.contains("\n", regex=False).any()
    pd.testing.assert_frame_equal(back, tweets)


def test_tiny_and_empty_sizes():
    assert list(generate_tweets(0).columns) == list(DATASET_COLUMNS)
    assert len(generate_tweets(0)) == 0
    for n in (1, 2, 5, 50):
        assert len(generate_tweets(n, seed=n)) == n


@pytest.mark.parametrize(
    "kwargs", [{"duplicates": -0.1}, {"empty": 1.5}, {"retweets": 0.6, "operator_share": 0.5}]
)
def test_bad_shares_are_rejected(kwargs):
    with pytest.raises(ValueError):
        generate_tweets(100, **kwargs)


def test_cli_writes_a_csv(tmp_path):
    out = tmp_path / "cli.csv"
    subprocess.run(
        [sys.executable, "-m", "tools.synthetic", "500", str(out), "--seed", "3"],
        check=True,
        capture_output=True,
    )
    back = pd.read_csv(out, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(back, generate_tweets(500, seed=3))
