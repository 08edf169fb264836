"""Cleaning rules (DESIGN.md §6): what is dropped and counted, what is only flagged, how texts are decoded."""

from __future__ import annotations

import io
import json

import pandas as pd
import pytest

from dallosh.cleaning import FLAG_COLUMNS, clean_tweets, normalise_texts, planned_report, removals
from dallosh.defaults import DATASET_COLUMNS, DEFAULT_OPERATOR_ACCOUNTS
from dallosh.errors import ValidationError

OPERATORS = DEFAULT_OPERATOR_ACCOUNTS


def frame(rows: list[dict[str, str]], columns: tuple[str, ...] = DATASET_COLUMNS) -> pd.DataFrame:
    """A frame shaped like ``read_csv(dtype=str, keep_default_na=False)``: every column, all strings."""
    data = {c: [str(row.get(c, "")) for row in rows] for c in columns}
    return pd.DataFrame(data, dtype="str")


def tweet(i: int, text: str = "", **fields: str) -> dict[str, str]:
    base = {
        "id": str(1_962_404_500_417_282_000 + i),
        "created_at": f"2025-09-01 10:{i % 60:02d}:00",
        "full_text": text or f"Panne internet numéro {i} à Lyon",
        "screen_name": f"client{i}",
        "favorite_count": "1",
        "retweet_count": "0",
        "reply_count": "0",
        "quote_count": "0",
    }
    base.update(fields)
    return base


def texts_after(*texts: str) -> list[str]:
    return normalise_texts(pd.Series(list(texts), dtype="str")).tolist()


# ---- removals


def test_removals_found_by_the_upload_preview_give_the_same_cleaning():
    rows = [tweet(1), tweet(2), tweet(1), tweet(2, favorite_count="9"), tweet(4, full_text="&nbsp; \\n"), tweet(5)]
    df = frame(rows)
    _, _, planned = planned_report(df)
    reused = clean_tweets(df, OPERATORS, removed=planned)
    computed = clean_tweets(df, OPERATORS)
    assert reused.report == computed.report
    assert reused.report["removed"] == {"duplicate_rows": 1, "duplicate_ids": 1, "empty_text": 1}
    pd.testing.assert_frame_equal(reused.frame, computed.frame)


def test_removals_of_another_frame_are_not_reused():
    other = removals(frame([tweet(1), tweet(1)]))  # two rows, one a duplicate: wrong length for this frame
    result = clean_tweets(frame([tweet(1), tweet(2), tweet(3)]), OPERATORS, removed=other)
    assert result.report["rows_out"] == 3


def test_exact_duplicate_rows_are_removed_and_counted_first_kept():
    rows = [tweet(1), tweet(2), tweet(1), tweet(3), tweet(1)]
    result = clean_tweets(frame(rows), OPERATORS)
    assert result.frame["id"].tolist() == [tweet(i)["id"] for i in (1, 2, 3)]
    assert result.report["removed"] == {"duplicate_rows": 2, "duplicate_ids": 0, "empty_text": 0}


def test_duplicate_ids_with_different_content_keep_the_first_row():
    rescraped = tweet(1, favorite_count="40")  # same tweet scraped again later: same id, more likes
    rows = [tweet(1), tweet(2), rescraped, tweet(1)]
    result = clean_tweets(frame(rows), OPERATORS)
    assert result.frame["id"].tolist() == [tweet(1)["id"], tweet(2)["id"]]
    assert result.frame["favorite_count"].tolist() == ["1", "1"]
    # The exact copy counts as a duplicate row, the re-scraped one as a duplicate id: never both.
    assert result.report["removed"] == {"duplicate_rows": 1, "duplicate_ids": 1, "empty_text": 0}


def test_blank_ids_are_not_duplicates_of_each_other():
    rows = [tweet(1, id=""), tweet(2, id=""), tweet(3)]
    result = clean_tweets(frame(rows), OPERATORS)
    assert len(result.frame) == 3
    assert result.report["removed"]["duplicate_ids"] == 0


@pytest.mark.parametrize(
    "blank", ["", "   ", "\\n", " \\n\\n ", "\\t", "\\r\\n", "\n \n", "&nbsp;", " &#32; "]
)
def test_texts_empty_after_normalisation_are_removed(blank):
    rows = [tweet(1), tweet(2, full_text=blank), tweet(3)]
    result = clean_tweets(frame(rows), OPERATORS)
    assert result.frame["id"].tolist() == [tweet(1)["id"], tweet(3)["id"]]
    assert result.report["removed"] == {"duplicate_rows": 0, "duplicate_ids": 0, "empty_text": 1}


def test_each_removal_is_counted_once_in_rule_order():
    rows = [
        tweet(1),
        tweet(1),  # exact duplicate row
        tweet(1, full_text="autre texte"),  # duplicate id
        tweet(2, full_text=" "),  # empty
        tweet(2, full_text=" "),  # exact duplicate of an empty row: a duplicate row, not a second empty text
        tweet(3),
    ]
    report = clean_tweets(frame(rows), OPERATORS).report
    assert report["removed"] == {"duplicate_rows": 2, "duplicate_ids": 1, "empty_text": 1}
    assert report["rows_in"] == 6
    assert report["rows_out"] == 2
    assert report["rows_in"] - sum(report["removed"].values()) == report["rows_out"]


# ---- text normalisation


def test_literal_escape_sequences_become_real_characters():
    assert texts_after("Ligne 1\\nLigne 2") == ["Ligne 1\nLigne 2"]
    assert texts_after("a\\r\\nb") == ["a\nb"]
    assert texts_after("a\\rb") == ["a\nb"]
    assert texts_after("col1\\tcol2") == ["col1\tcol2"]
    assert texts_after("real\r\nwindows\rline ends") == ["real\nwindows\nline ends"]


def test_html_entities_are_unescaped():
    assert texts_after("Internet &amp; TV coupés") == ["Internet & TV coupés"]
    assert texts_after("ping &gt; 300 ms &lt;3") == ["ping > 300 ms <3"]
    assert texts_after("plus d&#39;internet, c&apos;est &quot;génial&quot;") == [
        "plus d'internet, c'est \"génial\""
    ]
    assert texts_after("&#128545; merci") == ["😡 merci"]


def test_unescape_runs_once_so_escaped_entities_stay_readable():
    # A tweet that talks about "&amp;" is exported as "&amp;amp;": one decoding gives back the author's text.
    assert texts_after("écrivez &amp;amp; pas &") == ["écrivez &amp; pas &"]


def test_whitespace_runs_collapse_but_newlines_stay_meaningful():
    assert texts_after("  trop   d'espaces \t ici  ") == ["trop d'espaces ici"]
    assert texts_after("Titre  \n  corps") == ["Titre\ncorps"]
    assert texts_after("para 1\n\n\n\n\npara 2") == ["para 1\n\npara 2"]
    assert texts_after("para 1\\n\\npara 2") == ["para 1\n\npara 2"]
    assert texts_after("un\ttab") == ["un\ttab"]


def test_french_typography_no_break_space_is_kept_alone_but_collapsed_in_runs():
    assert texts_after("Vraiment\xa0?") == ["Vraiment\xa0?"]
    assert texts_after("Vraiment \xa0 ?") == ["Vraiment ?"]


def test_accents_apostrophes_and_emoji_are_kept_intact():
    text = "Ça fait 3 jours qu’on n'a plus de réseau à Saint-Étienne 😡🤦‍♂️ 👏🏻 🇫🇷 « top » …"
    assert texts_after(text) == [text]
    result = clean_tweets(frame([tweet(1, full_text=text)]), OPERATORS)
    assert result.frame["full_text"].tolist() == [text]
    assert result.report["texts_normalised"] == 0


def test_texts_normalised_counts_rows_whose_text_changed():
    rows = [
        tweet(1, full_text="a &amp; b"),
        tweet(2, full_text="ok"),
        tweet(3, full_text="x\\ny"),
        tweet(4, full_text=" z "),
    ]
    result = clean_tweets(frame(rows), OPERATORS)
    assert result.frame["full_text"].tolist() == ["a & b", "ok", "x\ny", "z"]
    assert result.report["texts_normalised"] == 3


# ---- flags, never drops


def test_retweets_are_flagged_not_dropped():
    rows = [
        tweet(1, retweeted_status="1962404500417281111"),
        tweet(2, full_text="RT @client9: plus de réseau"),
        tweet(3, full_text="Je ne suis pas un RT @quelqu'un"),
        tweet(4, retweeted_status=""),
        tweet(5, retweeted_status="None"),
    ]
    result = clean_tweets(frame(rows), OPERATORS)
    assert len(result.frame) == 5
    assert result.frame["is_retweet"].tolist() == [True, True, False, False, False]
    assert result.report["flagged"]["retweets"] == 2


def test_operator_accounts_are_flagged_case_insensitively_and_ignore_at_sign():
    rows = [
        tweet(1, screen_name="free"),
        tweet(2, screen_name="Freebox"),
        tweet(3, screen_name="@FREEMOBILE"),
        tweet(4, screen_name="FreeboxFan42"),  # a customer, not the operator
        tweet(5, screen_name="free_1337 "),
        tweet(6, screen_name="client6"),
    ]
    result = clean_tweets(frame(rows), ["@free", "freebox", "FreeMobile", "free_1337"])
    assert len(result.frame) == 6
    assert result.frame["is_operator"].tolist() == [True, True, True, False, True, False]
    assert result.report["flagged"]["operator_accounts"] == 4
    assert result.frame["screen_name"].tolist()[2] == "@FREEMOBILE"  # value kept as exported


def test_no_operator_accounts_flags_nobody():
    result = clean_tweets(frame([tweet(1, screen_name="free")]), [])
    assert result.frame["is_operator"].tolist() == [False]


def test_engagement_is_the_sum_of_four_counts_with_non_numeric_as_zero():
    rows = [
        tweet(
            1, favorite_count="10", retweet_count="5", reply_count="2", quote_count="1", views_count="9999"
        ),
        tweet(2, favorite_count="", retweet_count="n/a", reply_count="3", quote_count="-4"),
        tweet(3, favorite_count="7.0", retweet_count=" 2 ", reply_count="0", quote_count="0"),
    ]
    result = clean_tweets(frame(rows), OPERATORS)
    assert result.frame["engagement"].tolist() == [18, 3, 9]
    assert str(result.frame["engagement"].dtype) == "int64"


def test_engagement_outliers_are_flagged_above_q3_plus_three_iqr():
    counts = [str(v) for v in range(1, 41)] + ["500"]  # Q1=11, Q3=31, IQR=20: fence 91
    rows = [tweet(i, favorite_count=c) for i, c in enumerate(counts)]
    result = clean_tweets(frame(rows), OPERATORS)
    assert len(result.frame) == 41
    assert result.frame["is_engagement_outlier"].tolist() == [False] * 40 + [True]
    assert result.report["flagged"]["engagement_outliers"] == 1


def test_outliers_are_customer_tweets_judged_among_customer_tweets():
    # The operator's widely seen replies would raise the fence (Q3 over every row: 500) and be flagged themselves.
    customers = [tweet(i, favorite_count=str(i)) for i in range(1, 41)] + [tweet(41, favorite_count="300")]
    operator = [tweet(100 + i, screen_name="free", favorite_count="500") for i in range(30)]
    result = clean_tweets(frame(customers + operator), OPERATORS)
    flagged = result.frame.loc[result.frame["is_engagement_outlier"], "screen_name"].tolist()
    assert flagged == ["client41"]
    assert result.report["flagged"] == {"retweets": 0, "operator_accounts": 30, "engagement_outliers": 1,
                                        "blank_ids": 0, "invalid_counts": 0}


def test_no_outliers_when_there_are_too_few_rows():
    rows = [tweet(1, favorite_count="1"), tweet(2, favorite_count="2"), tweet(3, favorite_count="100000")]
    result = clean_tweets(frame(rows), OPERATORS)
    assert not result.frame["is_engagement_outlier"].any()
    assert result.report["flagged"]["engagement_outliers"] == 0


def test_outliers_are_computed_after_removals():
    # 30 copies of one viral row would move the quartiles if duplicates were not removed first.
    rows = [tweet(i, favorite_count=str(i % 5)) for i in range(30)] + [tweet(99, favorite_count="1000")] * 30
    result = clean_tweets(frame(rows), OPERATORS)
    assert result.report["removed"]["duplicate_rows"] == 29
    assert result.frame["is_engagement_outlier"].tolist() == [False] * 30 + [True]


# ---- columns, ids, order


def test_original_columns_and_values_are_kept_and_flags_appended():
    rows = [
        tweet(
            1,
            url="https://twitter.com/client1/status/1",
            favorited="False",
            in_reply_to="1800000000000000001",
        )
    ]
    result = clean_tweets(frame(rows), OPERATORS)
    assert list(result.frame.columns) == [*DATASET_COLUMNS, *FLAG_COLUMNS]
    for column in DATASET_COLUMNS:
        if column != "full_text":
            assert result.frame[column].tolist() == [rows[0].get(column, "")], column
    assert result.frame["is_retweet"].dtype == bool


def test_nineteen_digit_ids_are_unchanged_strings():
    ids = ["1962404500417282838", "1800000000000003336", "0000000000000000001", "9223372036854775807"]
    rows = [tweet(i, id=v) for i, v in enumerate(ids)]
    csv = frame(rows).to_csv(index=False)
    raw = pd.read_csv(io.StringIO(csv), dtype=str, keep_default_na=False)
    result = clean_tweets(raw, OPERATORS)
    assert result.frame["id"].tolist() == ids
    assert result.frame["in_reply_to"].tolist() == [""] * 4


def test_row_order_is_preserved_and_index_reset():
    order = [7, 3, 9, 1, 5]
    rows = [tweet(i) for i in order]
    rows.insert(2, tweet(3))  # duplicate in the middle
    result = clean_tweets(frame(rows), OPERATORS)
    assert result.frame["id"].tolist() == [tweet(i)["id"] for i in order]
    assert result.frame.index.tolist() == list(range(5))


def test_only_id_and_full_text_are_required():
    df = pd.DataFrame(
        {"id": ["1", "2", "2"], "full_text": ["RT @free: promo", "a &amp; b", "x"]}, dtype="str"
    )
    result = clean_tweets(df, OPERATORS)
    assert list(result.frame.columns) == ["id", "full_text", *FLAG_COLUMNS]
    assert result.frame["full_text"].tolist() == ["RT @free: promo", "a & b"]
    assert result.frame["is_retweet"].tolist() == [True, False]
    assert result.frame["is_operator"].tolist() == [False, False]
    assert result.frame["engagement"].tolist() == [0, 0]
    assert result.report["removed"]["duplicate_ids"] == 1


@pytest.mark.parametrize("missing", ["id", "full_text"])
def test_missing_required_column_is_a_validation_error(missing):
    df = frame([tweet(1)]).drop(columns=[missing])
    with pytest.raises(ValidationError, match=missing):
        clean_tweets(df, OPERATORS)


def test_input_frame_is_not_modified():
    df = frame([tweet(1, full_text="a &amp; b"), tweet(1, full_text="a &amp; b")])
    before = df.copy()
    clean_tweets(df, OPERATORS)
    pd.testing.assert_frame_equal(df, before)


def test_cleaning_a_cleaned_frame_keeps_its_flag_columns_renamed():
    first = clean_tweets(frame([tweet(1), tweet(2, full_text="RT @x: y")]), OPERATORS).frame
    as_read = first.astype(str)  # what read_csv(dtype=str) gives back for the cleaned file
    again = clean_tweets(as_read, OPERATORS)
    inputs = [f"{c}_input" for c in FLAG_COLUMNS]
    assert list(again.frame.columns) == [*DATASET_COLUMNS, *inputs, *FLAG_COLUMNS]
    assert again.frame["is_retweet"].tolist() == [False, True]
    assert again.frame["is_retweet_input"].tolist() == ["False", "True"]
    assert again.report["columns_renamed"] == dict(zip(FLAG_COLUMNS, inputs, strict=True))
    assert again.report["rows_out"] == 2


def test_empty_frame_gives_an_empty_result():
    result = clean_tweets(frame([]), OPERATORS)
    assert len(result.frame) == 0
    assert result.report["rows_in"] == result.report["rows_out"] == 0


def test_report_is_plain_json():
    rows = [tweet(i) for i in range(30)] + [tweet(0)]
    report = clean_tweets(frame(rows), OPERATORS).report
    assert json.loads(json.dumps(report)) == report
    assert set(report) == {"rows_in", "rows_out", "removed", "flagged", "counts_read", "columns_renamed",
                           "texts_normalised"}
    assert set(report["flagged"]) == {"retweets", "operator_accounts", "engagement_outliers", "blank_ids",
                                      "invalid_counts"}
    assert all(type(v) is int for v in (*report["removed"].values(), *report["flagged"].values()))
