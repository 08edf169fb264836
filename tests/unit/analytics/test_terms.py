"""dallosh.analytics.terms on small hand-counted frames: tokenisation rules, counts once per tweet, selections,
groups, ties, and term_mask agreeing with the counts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from dallosh.analytics import fold_text, terms
from dallosh.analytics.terms import build_term_index, term_mask, terms_by, terms_of, top_terms


def series(*texts: str | None) -> pd.Series:
    return pd.Series(list(texts), dtype="str")


def counts(frame: pd.DataFrame) -> dict[str, int]:
    return dict(zip(frame["term"], frame["tweets"], strict=True))


# ------------------------------------------------------------------------------------------------ tokenising


def test_words_are_folded_like_the_search_folds_them():
    assert terms_of("Réseau RESEAU réseau") == {"reseau"}
    assert terms_of("Fibre COUPÉE à Saint-Étienne") == {"fibre", "coupee", "saint-etienne"}
    assert terms_of("re\u0301seau") == {"reseau"}  # an accent typed as a combining mark stays in its word
    assert terms_of("ﬁbre Straße") == {"fibre", "strasse"} == {fold_text(w) for w in ("ﬁbre", "Straße")}
    # non-ASCII punctuation and emoji glued to words (one piece for the fast cut) still separate them
    assert terms_of("l’Internet «coupé»…😡Panne — résilié") == {"internet", "coupe", "panne", "resilie"}


def test_links_handles_escapes_and_numbers_are_not_terms():
    assert terms_of("@Freebox panne https://t.co/AbC123 www.free.fr pic.twitter.com/xyz") == {"panne"}
    assert terms_of("fibre\\ncoupée") == {"fibre", "coupee"}  # the literal escape, not "ncoupee"
    # links typed in capitals (phones auto-capitalise) are links too, not the terms "https" and "tco"
    assert terms_of("PANNE HTTPS://T.CO/AbC123 WWW.FREE.FR Pic.Twitter.com/xyz") == {"panne"}
    assert terms_of("depuis 3 jours, 62,04 € prélevés, 10h, 2eme fois, 31560") == {"preleves"}
    # positive control: the same words without the noise around them are terms
    assert terms_of("freebox tco abc") == {"freebox", "tco", "abc"}


def test_stopwords_short_words_and_kept_product_words():
    assert terms_of("Bonjour, je n'ai plus de connexion depuis hier, merci") == {"connexion"}
    assert terms_of("the network is down") == {"network", "down"}
    assert terms_of("4G et 5G ok, la TV aussi, le wi-fi non") == {"4g", "5g", "tv", "wi-fi"}
    assert terms_of("est-ce normal ? peut-être") == {"normal"}  # every part of the compound is dropped
    assert "bonjour" in terms.stopwords() and "freebox" not in terms.stopwords()
    assert {"4g", "tv"} <= terms.kept_terms()


def test_hashtags_are_kept_as_hashtags_unless_they_hold_no_letter():
    assert terms_of("#Panne #FIBRE #bonjour #1 #2024 panne") == {"#panne", "#fibre", "#bonjour", "panne"}


def test_the_word_lists_are_data_files_with_comments():
    text = terms.STOPWORDS_FILE.read_text(encoding="utf-8")
    assert text.startswith("#") and "\nbonjour\n" in text
    assert not any(line.startswith("#") for line in terms.stopwords())
    assert terms.stopwords() is terms.stopwords()  # read once


# ----------------------------------------------------------------------------------------------- top_terms


@pytest.fixture
def tweets() -> pd.Series:
    return series(
        "Panne fibre à Lyon, panne panne !",  # 0: panne counted once
        "Plus de fibre depuis hier #panne",  # 1
        "@free La fibre est coupée",  # 2
        "PANNE réseau",  # 3
        "Panne fibre à Lyon, panne panne !",  # 4: same text as row 0
        None,  # 5: no text
        "Réseau 4G saturé",  # 6
    )


def test_each_term_counts_once_per_tweet_and_repeated_texts_count_per_row(tweets: pd.Series):
    index = build_term_index(tweets)
    top = top_terms(index)
    assert list(top.columns) == ["term", "label", "tweets", "share"]
    assert counts(top) == {"fibre": 4, "panne": 3, "lyon": 2, "reseau": 2, "#panne": 1, "4g": 1, "coupee": 1,
                           "sature": 1}
    assert top["share"].tolist()[:2] == pytest.approx([4 * 100 / 7, 3 * 100 / 7])  # % of the 7 selected rows
    assert top["term"].tolist()[:4] == ["fibre", "panne", "lyon", "reseau"]  # ties alphabetical
    assert top["term"].tolist()[4:] == ["#panne", "4g", "coupee", "sature"]  # "#" sorts first


def test_rows_select_the_tweets_counted(tweets: pd.Series):
    index = build_term_index(tweets)
    assert counts(top_terms(index, np.array([2, 3, 5]))) == {"coupee": 1, "fibre": 1, "panne": 1, "reseau": 1}
    assert top_terms(index, np.array([2, 3, 5]))["share"].tolist() == pytest.approx([100 / 3] * 4)
    mask = np.zeros(len(tweets), dtype=bool)
    mask[[0, 4]] = True
    assert counts(top_terms(index, mask)) == {"lyon": 2, "fibre": 2, "panne": 2}
    assert top_terms(index, np.array([5])).empty and top_terms(index, np.array([], dtype=np.int64)).empty


def test_n_and_the_hashtag_switch(tweets: pd.Series):
    index = build_term_index(tweets)
    assert top_terms(index, n=3)["term"].tolist() == ["fibre", "panne", "lyon"]
    assert top_terms(index, n=0).empty
    assert top_terms(index, hashtags=True)["term"].tolist() == ["#panne"]
    words = top_terms(index, hashtags=False)["term"].tolist()
    assert "#panne" not in words and words[:2] == ["fibre", "panne"]


def test_an_empty_or_termless_column_gives_empty_tables():
    for texts in (series(), series(None, "", "le la les 2024")):
        index = build_term_index(texts)
        assert top_terms(index).empty
        assert list(top_terms(index).columns) == ["term", "label", "tweets", "share"]
        by = terms_by(index, pd.Series(["a"] * len(texts), dtype="str"))
        assert list(by) == (["a"] if len(texts) else []) and all(frame.empty for frame in by.values())


def test_a_categorical_column_is_indexed_like_a_text_column(tweets: pd.Series):
    assert top_terms(build_term_index(tweets.astype("category"))).equals(top_terms(build_term_index(tweets)))


# ------------------------------------------------------------------------------------------------ terms_by


def test_terms_by_group_biggest_group_first_with_shares_of_the_group(tweets: pd.Series):
    index = build_term_index(tweets)
    topics = pd.Series(["Réseau", "Réseau", "Service", "Réseau", "Réseau", "Service", None], dtype="category")
    by = terms_by(index, topics, n=2)
    assert list(by) == ["Réseau", "Service"]  # 4 rows, then 2 (the row without a topic is left out)
    assert by["Réseau"]["term"].tolist() == ["fibre", "panne"]  # 3 each (row 1 says #panne): alphabetical
    assert by["Réseau"]["tweets"].tolist() == [3, 3]
    assert by["Réseau"]["share"].tolist() == pytest.approx([75.0, 75.0])
    assert counts(by["Service"]) == {"coupee": 1, "fibre": 1}
    assert by["Service"]["share"].tolist() == pytest.approx([50.0, 50.0])  # row 5 has no text but counts


def test_terms_by_follows_the_selection_and_leaves_out_groups_without_rows(tweets: pd.Series):
    index = build_term_index(tweets)
    sentiment = pd.Series(["negative", "negative", "neutral", "negative", "positive", "neutral", "negative"])
    by = terms_by(index, sentiment, np.array([2, 3, 6]))
    assert list(by) == ["negative", "neutral"]  # sizes 2, 1; "positive" has no selected row
    assert counts(by["negative"]) == {"reseau": 2, "4g": 1, "panne": 1, "sature": 1}
    tied = terms_by(index, pd.Series(["b", "a", "b", "a", "c", "c", "c"]), np.array([0, 1, 2, 3]))
    assert list(tied) == ["a", "b"]  # equal sizes: by name
    with pytest.raises(ValueError, match="groups has 2 rows"):
        terms_by(index, pd.Series(["a", "b"]))


def test_terms_by_with_many_groups_takes_the_sorting_path(monkeypatch: pytest.MonkeyPatch, tweets: pd.Series):
    index = build_term_index(tweets)
    authors = pd.Series([f"user{i % 3}" for i in range(len(tweets))])
    dense = terms_by(index, authors)
    monkeypatch.setattr(terms, "DENSE_CELLS", 0)
    sparse = terms_by(index, authors)
    assert list(sparse) == list(dense) == ["user0", "user1", "user2"]
    for name in dense:
        pd.testing.assert_frame_equal(sparse[name], dense[name])


# ----------------------------------------------------------------------------------------------- term_mask


@pytest.mark.parametrize("term", ["fibre", "panne", "#panne", "reseau", "Réseau", "4g", "lyon"])
def test_term_mask_agrees_with_the_counts(tweets: pd.Series, term: str):
    index = build_term_index(tweets)
    with_index = term_mask(tweets, term, index=index)
    assert with_index.tolist() == term_mask(tweets, term).tolist()
    assert with_index.sum() == counts(top_terms(index))[fold_text(term)]
    rows = np.array([0, 2, 3, 6])
    assert with_index[rows].sum() == counts(top_terms(index, rows)).get(fold_text(term), 0)


def test_term_mask_is_a_token_match_not_a_substring(tweets: pd.Series):
    index = build_term_index(tweets)
    assert term_mask(tweets, "panne", index=index).tolist() == [True, False, False, True, True, False, False]
    assert term_mask(tweets, "#panne", index=index).tolist() == [False, True, False, False, False, False, False]
    for absent in ("pan", "bonjour", "", "lyon fibre"):  # a piece of a word, a stopword, nothing, two words
        assert not term_mask(tweets, absent, index=index).any()
        assert not term_mask(tweets, absent).any()
    with pytest.raises(ValueError, match="texts has 2 rows"):
        term_mask(series("a", "b"), "panne", index=index)


def test_a_big_batch_matches_text_by_text_tokenising():
    rng = np.random.default_rng(0)
    words = np.array(["Panne", "fibre", "@free", "https://t.co/x", "10h", "#Wifi", "réseau", "\\n", "4G", "le",
                      "l’Internet", "«coupé»", "😡FIBRE"])
    texts = pd.Series([" ".join(rng.choice(words, 6)) for _ in range(3 * terms._BATCH)] + ["a\x00b panne"])
    index = build_term_index(texts)
    for row in (0, 1, terms._BATCH, len(texts) - 1):
        got = set(index.terms[index.indices[index.indptr[index.codes[row]]:index.indptr[index.codes[row] + 1]]])
        assert got == terms_of(texts[row]), row


def test_terms_are_shown_with_their_accents_and_filter_the_same_tweets():
    texts = pd.Series(["Le reseau est en panne", "Réseau général coupé", "RÉSEAU HS", "plus de wifi"])
    index = build_term_index(texts)
    top = top_terms(index, None, 1)
    assert (top["term"].iloc[0], top["label"].iloc[0], top["tweets"].iloc[0]) == ("reseau", "réseau", 3)
    # the label filters the same tweets as the folded term (what the count says)
    assert term_mask(texts, "réseau", index=index).tolist() == term_mask(texts, "reseau", index=index).tolist() \
        == [True, True, True, False]
    # positive control: a term written without accents everywhere is shown as written
    assert top_terms(index, None, 10).set_index("term").loc["wifi", "label"] == "wifi"
