"""``dallosh eval``: the command a team runs to measure a model on labelled tweets (docs/labels.md)."""

from __future__ import annotations

import json
import subprocess
import sys

import pandas as pd
import pytest


def _eval(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dallosh", "eval", *args], capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def gold(tmp_path):
    """Raw-style tweets with their texts inline (the shape of evaluation/raw_style.csv)."""
    path = tmp_path / "gold.csv"
    pd.DataFrame({
        "id": ["1", "2", "3", "4"],
        "full_text": ["@free PLUS DE CONNEXION depuis 3 jours\\nc'est inadmissible https://t.co/x",
                      "Merci Free, la fibre marche parfaitement 👍",
                      "@Freebox Le service client ne répond jamais",
                      "Bonjour, nous sommes désolés pour la gêne occasionnée"],
        "screen_name": ["alice", "bob", "carol", "Freebox"],
        "sentiment": ["negative", "positive", "negative", "neutral"],
        "priority": [2, 0, 1, 0],
        "main_topic": ["Réseau", "Autre", "Service Client", "Service Client"],
        "split": ["test", "test", "train", "test"],
    }).to_csv(path, index=False)
    return path


def test_eval_builtin_json_with_progress_bar(gold):
    result = _eval(str(gold), "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["rows"] == 4 and report["missing"] == 0
    assert report["labelled_by"] == {"builtin": 4}
    assert set(report["fields"]) == {"sentiment", "priority", "topic"}
    for score in report["fields"].values():
        assert 0 <= score["accuracy"] <= 1 and 0 <= score["macro_f1"] <= 1
        assert sum(map(sum, score["confusion"])) == 4
    assert "labelling [" in result.stderr and "4/4 rows (builtin)" in result.stderr


def test_eval_split_filters_rows(gold):
    result = _eval(str(gold), "--split", "test", "--json", "--quiet")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["rows"] == 3
    assert result.stderr == ""


def test_eval_predictions_by_hand_in_text_form(gold, tmp_path):
    analysed = tmp_path / "analysed.csv"
    pd.DataFrame({"id": ["1", "2", "3", "4"], "sentiment": ["negative", "negative", "negative", "neutral"],
                  "priority": [2, 0, 2, 0], "main_topic": ["Réseau", "Autre", "Réseau", "Service Client"],
                  "labelled_by": "builtin"}).to_csv(analysed, index=False)
    result = _eval(str(gold), "--predictions", str(analysed))
    assert result.returncode == 0, result.stderr
    # sentiment 3/4 right; F1(negative) = 2·(2/3)·1/(2/3+1) = 0.8, F1(neutral) = 1, F1(positive) = 0 → 0.6.
    assert "sentiment: accuracy 0.750  macro-F1 0.600  (n=4)" in result.stdout
    # priority 3/4: F1(0) = 1, F1(1) = 0, F1(2) = 2·(1/2)·1/(1/2+1) = 2/3 → 0.556.
    assert "priority: accuracy 0.750  macro-F1 0.556  (n=4)" in result.stdout
    assert "labelled by: builtin 4" in result.stdout


def test_eval_texts_joined_by_id_and_errors_are_messages(gold, tmp_path):
    labels = tmp_path / "labels.csv"
    pd.read_csv(gold, dtype=str).drop(columns=["full_text", "screen_name"]).to_csv(labels, index=False)
    missing = _eval(str(labels), "--quiet")
    assert missing.returncode == 1 and "pass --texts FILE" in missing.stderr
    joined = _eval(str(labels), "--texts", str(gold), "--json", "--quiet")
    assert joined.returncode == 0, joined.stderr
    assert json.loads(joined.stdout)["rows"] == 4
