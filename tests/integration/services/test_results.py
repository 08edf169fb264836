"""The read side: Overview's headline numbers are the ones Analysis shows (corrections in, operator out)."""

from __future__ import annotations

import pytest

from dallosh import analytics
from dallosh.errors import PermissionDenied
from dallosh.services import SYSTEM
from dallosh.services.results import DEFAULT_SCOPE
from dallosh.storage import ANALYSED
from tests.factories import make_csv

#: id, sentiment, priority, topic, is_operator. Six customer tweets and two of the operator's own.
ROWS = [
    ("101", "negative", "2", "Réseau", "False"),
    ("102", "negative", "1", "Réseau", "False"),
    ("103", "positive", "0", "Offres", "False"),
    ("104", "neutral", "2", "Réseau", "False"),
    ("105", "negative", "0", "Facturation", "False"),
    ("106", "positive", "0", "Offres", "False"),
    ("201", "neutral", "0", "Service Client", "True"),
    ("202", "neutral", "0", "Service Client", "True"),
]


@pytest.fixture
def dataset(services, analyst):
    file, _ = services.files.add(analyst, "octobre.csv", make_csv(8))
    path = services.storage.path(ANALYSED, file.uid)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["id,full_text,sentiment,priority,main_topic,is_operator,is_retweet,engagement"]
    lines += [f"{i},texte {i},{s},{p},{t},{o},False,0" for i, s, p, t, o in ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return file


def test_headline_counts_customer_tweets_with_corrections(services, analyst, dataset):
    before = services.results.headline(analyst, dataset.uid)
    # Counted by hand on the six customer rows (201 and 202 are the operator's): 3 negative of 6 = 50.0 %,
    # 2 at priority 2 = 33.3 %, Réseau 3 of 6 = 50.0 %.
    assert before == {"rows": 6, "negative_pct": 50.0, "high_priority_pct": 33.3, "top_topic": "Réseau",
                      "top_topic_pct": 50.0, "scope": DEFAULT_SCOPE}
    services.corrections.correct(analyst, dataset.uid, "103", "sentiment", "negative", old_value="positive")
    services.corrections.correct(analyst, dataset.uid, "106", "main_topic", "Réseau", old_value="Offres")
    after = services.results.headline(analyst, dataset.uid)
    # 4 negative of 6 = 66.7 %; Réseau 4 of 6 = 66.7 %.
    assert (after["negative_pct"], after["top_topic"], after["top_topic_pct"]) == (66.7, "Réseau", 66.7)


def test_headline_equals_what_analysis_computes_with_its_default_filters(services, analyst, dataset):
    services.corrections.correct(analyst, dataset.uid, "105", "priority", "2", old_value="0")
    frame = analytics.load_analysed(services.storage.path(ANALYSED, dataset.uid))
    shown = analytics.apply_filters(analytics.apply_corrections(frame, services.corrections.effective(
        analyst, [dataset.uid])), analytics.Filters())
    headline = services.results.headline(analyst, dataset.uid)
    assert headline["rows"] == analytics.volume(shown) == 6
    assert headline["high_priority_pct"] == round(100 * analytics.high_priority_count(shown) / 6, 1) == 50.0


def test_a_new_version_of_the_file_is_read_again(services, analyst, dataset):
    assert services.results.headline(analyst, dataset.uid)["rows"] == 6
    path = services.storage.path(ANALYSED, dataset.uid)
    path.write_text(path.read_text(encoding="utf-8") + "107,texte,negative,2,Réseau,False,False,0\n",
                    encoding="utf-8")
    assert services.results.headline(analyst, dataset.uid)["rows"] == 7


def test_reading_results_needs_the_right_to_read_datasets(services, analyst, dataset):
    role = services.roles.create(SYSTEM, "no-read", ["use_notebooks"])
    services.users.create(SYSTEM, "noread@free.com", "s3cret-pass-1", role.uid)
    outsider = services.auth.login("noread@free.com", "s3cret-pass-1")
    with pytest.raises(PermissionDenied):
        services.results.headline(outsider, dataset.uid)
    assert services.results.headline(analyst, dataset.uid)["rows"] == 6  # positive control
