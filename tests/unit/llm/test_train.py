"""``dallosh train-builtin`` on a tiny hand-made set: the exported artifact scores like scikit-learn, loads in
the provider, and rebuilds byte-identically (the shipped model is rebuilt the same way from the real set)."""

from __future__ import annotations

import pytest

from dallosh.defaults import DEFAULT_TOPICS
from dallosh.llm import features
from dallosh.llm.base import Row

pytest.importorskip("sklearn")

from dallosh.llm import train  # noqa: E402 - needs scikit-learn

#: text | author | sentiment | priority | topic: every class at least once.
TINY = [line.split(" | ") for line in """\
plus de connexion depuis 3 jours | customer | negative | 2 | Réseau
panne fibre dans tout le quartier | customer | negative | 2 | Réseau
le débit est lent ce soir | customer | negative | 1 | Réseau
facture fausse, prélevé deux fois | customer | negative | 2 | Facturation
combien coûte l'option ? | customer | neutral | 1 | Facturation
le service client ne répond pas | customer | negative | 1 | Service Client
contactez-nous en message privé | operator | neutral | 0 | Service Client
ma télécommande ne marche plus | customer | negative | 1 | Matériel
la nouvelle box est superbe | customer | positive | 0 | Matériel
nouvelle offre forfait 5g | retweet | neutral | 0 | Offres
merci free, super offre | customer | positive | 0 | Offres
il fait beau aujourd'hui | customer | neutral | 0 | Autre""".splitlines()]
CONFIG = train.Config(name="tiny", handwritten=False, self_training=0.0, char_min_df=1)


def _docs() -> train.Docs:
    return train.Docs([features.tokens(t) for t, *_ in TINY], [a for _, a, *_ in TINY],
                      {f: [row[2 + i] for row in TINY] for i, f in enumerate(train.FIELDS)})


def test_export_scores_like_scikit_learn_and_rebuilds_identically(tmp_path) -> None:
    trained = train.fit(_docs(), CONFIG)
    train.export(trained, tmp_path / "a")
    assert train.verify(trained, _docs(), tmp_path / "a") < 1e-5
    train.export(train.fit(_docs(), CONFIG), tmp_path / "b")
    for name in ("model.npz", "model.json"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


def test_a_changed_training_set_changes_the_artifact(tmp_path) -> None:
    # Control for the test above: identical bytes come from identical inputs, not from a constant file.
    train.export(train.fit(_docs(), CONFIG), tmp_path / "a")
    other = _docs()
    other.labels["main_topic"][0] = "Autre"
    train.export(train.fit(other, CONFIG), tmp_path / "b")
    assert (tmp_path / "a" / "model.npz").read_bytes() != (tmp_path / "b" / "model.npz").read_bytes()


def test_exported_model_labels_through_the_provider(tmp_path, monkeypatch) -> None:
    import dallosh.llm.builtin as builtin
    from dallosh.llm.ngram_model import NgramModel

    train.export(train.fit(_docs(), CONFIG), tmp_path)
    monkeypatch.setattr(builtin, "_model", lambda: NgramModel(tmp_path))
    labels = builtin.BuiltinAnalyzer().label([Row("1", "PLUS DE CONNEXION depuis 3 jours @free")], DEFAULT_TOPICS)
    assert labels["1"].topic == "Réseau" and labels["1"].sentiment == "negative"


def test_rule_confidence_is_measured_on_the_operator_rows() -> None:
    docs = _docs()
    assert train.rule_confidence(docs) == {"operator": 1.0, "retweet": 1.0, "empty": 1.0}
    docs.labels["priority"][6] = "1"  # the operator row is no longer neutral / 0
    assert train.rule_confidence(docs)["operator"] == 0.0


def test_cli_hands_its_options_to_the_trainer(capsys) -> None:
    from dallosh.cli import main

    with pytest.raises(SystemExit) as exit_info:
        main(["train-builtin", "--help"])
    assert exit_info.value.code == 0
    assert "--cv" in capsys.readouterr().out
