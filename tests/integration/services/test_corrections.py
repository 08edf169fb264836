"""Label corrections: stored with who/when/old → new, reflected by the KPIs, surviving reprocessing."""

from __future__ import annotations

import pytest

from dallosh import analytics
from dallosh.errors import NotFound, PermissionDenied, ValidationError
from dallosh.llm.builtin import BuiltinAnalyzer
from dallosh.pipeline import Run, run_steps
from tools.synthetic import generate_tweets


@pytest.fixture
def analysed(services, analyst, tmp_path):
    frame = generate_tweets(60, seed=3)
    file, _ = services.files.add(analyst, "t.csv", frame.to_csv(index=False).encode())
    storage = services.storage

    def process():
        run_steps(Run(source=storage.path("datasets", file.uid), cleaned=storage.path("cleaned", file.uid),
                      analysed=storage.path("analysed", file.uid), checkpoints=storage.checkpoints(file.uid),
                      topics=services.settings.topics(), operator_accounts=[], providers=lambda: [BuiltinAnalyzer()]))

    process()
    return file, process


def load(services, actor, file):
    frame = analytics.load_analysed([services.storage.path("analysed", file.uid)])
    return analytics.apply_corrections(frame, services.corrections.effective(actor, file.uid))


def test_correction_changes_kpis_and_survives_reprocessing(services, analyst, analysed):
    file, process = analysed
    before = load(services, analyst, file)
    positives = before[before["sentiment"] == "positive"]
    target = positives["id"].iloc[0] if len(positives) else before["id"].iloc[0]
    old = before.loc[before["id"] == target, "sentiment"].iloc[0]
    services.corrections.correct(analyst, file.uid, target, "sentiment", "negative", old_value=old)
    services.corrections.correct(analyst, file.uid, target, "priority", 2)
    after = load(services, analyst, file)
    row = after[after["id"] == target].iloc[0]
    assert row["sentiment"] == "negative" and row["priority"] == 2 and bool(row["corrected"])
    if old != "negative":
        assert analytics.negative_share(after) > analytics.negative_share(before)
    history = services.corrections.history(analyst, file.uid)
    assert history[0]["by"] == "analyst@free.com" and history[0]["old_value"] == old
    assert history[0]["new_value"] == "negative" and history[0]["when"] is not None
    process()  # reprocessing rewrites the analysed CSV...
    again = load(services, analyst, file)
    assert again[again["id"] == target].iloc[0]["sentiment"] == "negative"  # ...and the correction still applies


def test_latest_correction_wins_and_revert(services, analyst, analysed):
    file, _ = analysed
    tweet = load(services, analyst, file)["id"].iloc[0]
    first = services.corrections.correct(analyst, file.uid, tweet, "main_topic", "Réseau")
    second = services.corrections.correct(analyst, file.uid, tweet, "main_topic", "Facturation")
    effective = services.corrections.effective(analyst, file.uid)
    assert effective[effective["id"] == tweet]["new_value"].tolist() == ["Facturation"]
    services.corrections.revert(analyst, second["uid"])
    effective = services.corrections.effective(analyst, file.uid)
    assert effective[effective["id"] == tweet]["new_value"].tolist() == ["Réseau"]
    assert first["data"]["new_value"] == "Réseau"
    with pytest.raises(NotFound):
        services.corrections.revert(analyst, second["uid"])


@pytest.mark.parametrize("field,value", [("sentiment", "angry"), ("priority", 7), ("priority", "high"),
                                         ("main_topic", "Unknown topic"), ("labelled_by", "me")])
def test_invalid_corrections_are_refused(services, analyst, analysed, field, value):
    file, _ = analysed
    tweet = load(services, analyst, file)["id"].iloc[0]
    with pytest.raises(ValidationError):
        services.corrections.correct(analyst, file.uid, tweet, field, value)
    assert services.corrections.history(analyst, file.uid) == []


def test_permissions_and_cleanup(services, admin, analyst, analysed):
    file, _ = analysed
    role = services.roles.create(admin, "reader", ["read_datasets"])
    services.users.create(admin, "reader@example.com", "Read3r-pass", role.uid)
    reader = services.auth.login("reader@example.com", "Read3r-pass")
    tweet = load(services, analyst, file)["id"].iloc[0]
    with pytest.raises(PermissionDenied):
        services.corrections.correct(reader, file.uid, tweet, "sentiment", "neutral")
    services.corrections.correct(analyst, file.uid, tweet, "sentiment", "neutral")
    assert len(services.corrections.history(reader, file.uid)) == 1
    services.files.delete(analyst, file.uid)
    assert services.db.count("corrections") == 0
    assert not services.storage.checkpoints(file.uid).exists()


def test_a_correction_must_name_a_tweet_of_that_dataset(services, analyst, analysed):
    """The rule lived only in the Analysis view; any caller of the service (a notebook) could store strays."""
    file, _ = analysed
    other = generate_tweets(5, seed=99)
    other_file, _ = services.files.add(analyst, "other.csv", other.to_csv(index=False).encode())
    with pytest.raises(ValidationError, match="not a tweet of this dataset"):
        services.corrections.correct(analyst, file.uid, "1790000000000009999", "sentiment", "neutral")
    with pytest.raises(NotFound, match="run its task"):  # not analysed yet: nothing to correct
        services.corrections.correct(analyst, other_file.uid, str(other["id"].iloc[0]), "sentiment", "neutral")
    tweet = load(services, analyst, file)["id"].iloc[0]
    services.corrections.correct(analyst, file.uid, tweet, "sentiment", "neutral")  # positive control
    assert [c["tweet_id"] for c in services.corrections.history(analyst, file.uid)] == [tweet]


def test_history_and_effective_see_every_correction(services, analyst, analysed):
    """More than the 10,000 the history used to stop at: the newest (which win) were the ones left out."""
    file, _ = analysed
    tweet = load(services, analyst, file)["id"].iloc[0]
    items = [{"file_id": file.uid, "tweet_id": tweet, "field": "priority", "new_value": i % 3, "old_value": None,
              "by_email": "bulk@example.com"} for i in range(10_050)]
    services.db.insert_many("corrections", items, by=analyst.uid)
    services.corrections.correct(analyst, file.uid, tweet, "priority", 1)  # the newest; the bulk ends on 2
    assert len(services.corrections.history(analyst, file.uid)) == 10_051
    effective = services.corrections.effective(analyst, file.uid)
    assert effective[effective["id"] == tweet]["new_value"].tolist() == [1]
