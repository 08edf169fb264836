"""``dallosh.evaluation``: scores checked against numbers computed by hand, inputs of every accepted shape."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pandas as pd
import pytest

from dallosh.cleaning import author_roles
from dallosh.errors import ProviderError, ValidationError
from dallosh.evaluation import (
    ProgressBar,
    evaluate_model,
    evaluate_predictions,
    format_report,
    load_gold,
    rows_for,
    score_field,
)
from dallosh.llm.base import Label, Provider, Row

TOPICS = ["Réseau", "Facturation", "Autre"]


def test_score_field_by_hand() -> None:
    # gold a a b b c / pred a b b b a: 3 right of 5. F1(a) = 0.5 (P 1/2, R 1/2), F1(b) = 0.8 (P 2/3, R 1),
    # F1(c) = 0 → macro (0.5 + 0.8 + 0) / 3.
    score = score_field("x", list("aabbc"), list("abbba"), ["a", "b", "c"])
    assert score.accuracy == pytest.approx(0.6)
    assert score.macro_f1 == pytest.approx(1.3 / 3)
    assert score.classes == ["a", "b", "c"]
    assert score.confusion == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert score.n == 5


def test_score_field_orders_known_classes_first_and_skips_absent_ones() -> None:
    score = score_field("x", ["b", "z"], ["b", "b"], ["c", "b", "a"])
    assert score.classes == ["b", "z"]  # "c" and "a" appear nowhere: not averaged
    assert score.macro_f1 == pytest.approx((2 / 3 + 0) / 2)  # F1(b): P 1/2, R 1


def test_score_field_rejects_mismatched_lengths() -> None:
    with pytest.raises(ValueError, match="2 gold labels but 1 predictions"):
        score_field("x", ["a", "b"], ["a"])
    assert score_field("x", ["a"], ["a"]).accuracy == 1.0  # positive control


def _csv(tmp_path, name: str, frame: pd.DataFrame):
    path = tmp_path / name
    frame.to_csv(path, index=False)
    return path


GOLD = pd.DataFrame({
    "id": ["1816385357836874222", "2", "3", "4"],
    "sentiment": ["negative", "neutral", "negative", "positive"],
    "priority": ["2", "0.0", "1", "0"],
    "main_topic": ["Réseau", "Autre", "Facturation", "Autre"],
    "split": ["test", "train", "test", "test"],
})
TEXTS = pd.DataFrame({
    "id": ["1816385357836874222", "2", "3", "9"],
    "full_text": ["plus de réseau", "bonjour", "facture fausse", "other"],
    "screen_name": ["alice", "Freebox", "bob", "carol"],
})


def test_load_gold_filters_the_split_and_joins_texts_by_exact_id(tmp_path) -> None:
    gold = load_gold(_csv(tmp_path, "g.csv", GOLD), split="test", texts=_csv(tmp_path, "t.csv", TEXTS))
    assert gold["id"].tolist() == ["1816385357836874222", "3", "4"]  # 19-digit ids stay exact
    assert gold["full_text"].tolist()[:2] == ["plus de réseau", "facture fausse"]
    assert pd.isna(gold["full_text"].iloc[2])  # id 4 has no text
    assert load_gold(_csv(tmp_path, "g.csv", GOLD))["priority"].tolist() == ["2", "0", "1", "0"]
    # --texts wins over texts already in the gold file.
    inline = GOLD.assign(full_text="stale")
    assert load_gold(_csv(tmp_path, "i.csv", inline), texts=_csv(tmp_path, "t.csv", TEXTS))["full_text"][0] == (
        "plus de réseau")


def test_load_gold_errors_say_what_is_missing(tmp_path) -> None:
    with pytest.raises(ValidationError, match="main_topic"):
        load_gold(_csv(tmp_path, "g.csv", GOLD.drop(columns=["main_topic"])))
    with pytest.raises(ValidationError, match="split"):
        load_gold(_csv(tmp_path, "g.csv", GOLD.drop(columns=["split"])), split="test")
    assert len(load_gold(_csv(tmp_path, "g.csv", GOLD), split="train")) == 1  # positive control


class Fixed(Provider):
    """Answers the same label for every row, or fails."""

    def __init__(self, name: str, label: Label | None):
        self.name, self._label = name, label

    def label(self, rows: Sequence[Row], topics: Sequence[str]) -> dict[str, Label]:
        if self._label is None:
            raise ProviderError("down")
        return {r.id: self._label for r in rows}


def test_evaluate_model_by_hand_and_counts_rows_without_text(tmp_path) -> None:
    gold = load_gold(_csv(tmp_path, "g.csv", GOLD), texts=_csv(tmp_path, "t.csv", TEXTS))
    report = evaluate_model(gold, [Fixed("fixed", Label("negative", 2, "Réseau"))], TOPICS)
    # Scored rows: ids 1816…, 2, 3 (id 4 has no text). Gold negative/neutral/negative → 2 of 3 right.
    assert (report.rows, report.missing) == (3, 1)
    sentiment, priority, topic = report.fields
    assert sentiment.accuracy == pytest.approx(2 / 3)
    # F1(negative) = 2·(2/3)·1/(2/3+1) = 0.8; F1(neutral) = 0 → 0.4.
    assert sentiment.macro_f1 == pytest.approx(0.4)
    assert priority.accuracy == pytest.approx(1 / 3)
    assert topic.confusion == [[1, 0, 0], [1, 0, 0], [1, 0, 0]]  # classes Réseau, Facturation, Autre
    assert report.labelled_by == {"fixed": 3}


def test_evaluate_model_falls_back_like_the_pipeline_and_says_so(tmp_path) -> None:
    gold = load_gold(_csv(tmp_path, "g.csv", GOLD), texts=_csv(tmp_path, "t.csv", TEXTS))
    report = evaluate_model(gold, [Fixed("llm", None), Fixed("builtin", Label("neutral", 0, "Autre"))], TOPICS)
    assert report.labelled_by == {"builtin": 3}
    with pytest.raises(ProviderError):
        evaluate_model(gold, [Fixed("llm", None)], TOPICS)


def test_evaluate_model_needs_texts(tmp_path) -> None:
    with pytest.raises(ValidationError, match="--texts"):
        evaluate_model(load_gold(_csv(tmp_path, "g.csv", GOLD)), [Fixed("f", Label("neutral", 0, "Autre"))], TOPICS)


def test_rows_carry_the_cleaned_text_and_the_authors_role() -> None:
    frame = pd.DataFrame({"full_text": ["a\\nb &amp; c", "RT @free: promo", "x"],
                          "screen_name": ["bob", "carol", "@Freebox"]})
    rows = rows_for(frame)
    assert [r.text for r in rows] == ["a\nb & c", "RT @free: promo", "x"]
    assert [r.author for r in rows] == ["customer", "retweet", "operator"]


def test_author_roles_prefer_the_cleaning_flags() -> None:
    frame = pd.DataFrame({"full_text": ["a", "b", "c"], "screen_name": ["free", "x", "y"],
                          "is_operator": ["False", "True", "False"], "is_retweet": ["False", "False", "True"]})
    assert author_roles(frame, ["free"]).tolist() == ["customer", "operator", "retweet"]
    assert author_roles(frame.drop(columns=["is_operator", "is_retweet"]), ["free"]).tolist() == [
        "operator", "customer", "customer"]


def test_evaluate_predictions_of_an_analysed_file(tmp_path) -> None:
    gold = load_gold(_csv(tmp_path, "g.csv", GOLD))
    analysed = pd.DataFrame({"id": ["1816385357836874222", "2", "3", "77"], "sentiment": ["negative"] * 4,
                             "priority": ["2", "1", "1", "0"], "main_topic": ["Réseau", "Autre", "Réseau", "Autre"],
                             "labelled_by": ["builtin", "builtin", "ollama:x", "builtin"]})
    report = evaluate_predictions(gold, _csv(tmp_path, "a.csv", analysed), TOPICS)
    assert (report.rows, report.missing) == (3, 1)  # id 4 has no prediction; id 77 is not gold
    assert [f.accuracy for f in report.fields] == pytest.approx([2 / 3, 2 / 3, 2 / 3])
    assert report.labelled_by == {"builtin": 2, "ollama:x": 1}


def test_evaluate_predictions_of_a_corrections_export_uses_its_model_columns(tmp_path) -> None:
    # The export's sentiment/priority/main_topic are the corrected labels (gold), model_* what the model said.
    export = pd.DataFrame({
        "dataset": ["a.csv", "b.csv"], "id": ["5", "5"], "full_text": ["t", "u"], "labelled_by": ["builtin"] * 2,
        "model_sentiment": ["positive", "negative"], "model_priority": [0, 2], "model_main_topic": ["Autre"] * 2,
        "sentiment": ["negative", "negative"], "priority": [2, 2], "main_topic": ["Réseau", "Autre"],
    })
    path = _csv(tmp_path, "corrections.csv", export)
    report = evaluate_predictions(load_gold(path), path, TOPICS)
    assert report.rows == 2  # joined on (dataset, id): the same tweet id in two datasets stays two rows
    assert [f.accuracy for f in report.fields] == [0.5, 0.5, 0.5]


def test_evaluate_predictions_rejects_a_file_without_labels(tmp_path) -> None:
    gold = load_gold(_csv(tmp_path, "g.csv", GOLD))
    with pytest.raises(ValidationError, match="main_topic"):
        evaluate_predictions(gold, _csv(tmp_path, "p.csv", pd.DataFrame({"id": ["1"], "sentiment": ["x"],
                                                                          "priority": ["0"]})), TOPICS)
    assert evaluate_predictions(gold, _csv(tmp_path, "g2.csv", GOLD), TOPICS).fields[0].accuracy == 1.0


def test_format_report_shows_scores_and_matrix(tmp_path) -> None:
    gold = load_gold(_csv(tmp_path, "g.csv", GOLD))
    report = evaluate_predictions(gold, _csv(tmp_path, "g2.csv", GOLD), TOPICS)
    report.source = "self"
    text = format_report(report)
    assert text.startswith("self: 4 rows scored")
    assert "sentiment: accuracy 1.000  macro-F1 1.000  (n=4)" in text
    assert "gold \\ pred" in text


def test_progress_bar_draws_on_one_line() -> None:
    stream = io.StringIO()
    bar = ProgressBar(stream, width=10)
    bar(5, 10, "builtin")
    bar(10, 10, "builtin")
    assert stream.getvalue() == ("\rlabelling [#####.....] 5/10 rows (builtin)"
                                 "\rlabelling [##########] 10/10 rows (builtin)\n")
