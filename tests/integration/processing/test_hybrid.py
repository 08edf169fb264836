"""Hybrid labelling through the real pipeline: confident built-in rows stay, the others go to the (fake) LLM."""

from __future__ import annotations

import pandas as pd

from dallosh.defaults import DEFAULT_TOPICS
from dallosh.llm.base import Label, Provider
from dallosh.llm.registry import providers_for
from dallosh.pipeline import Run, run_steps
from dallosh.textkey import text_key
from tests.mocking import FAKE_MODEL
from tools.synthetic import generate_tweets


class ConfidentOnPanne(Provider):
    """A built-in stand-in: sure of itself (0.95 on every label) on tweets that mention "panne", unsure elsewhere."""

    name = "builtin"

    def label(self, rows, topics):
        return {r.id: Label("negative", 2, topics[0], (0.95, 0.95, 0.95) if "panne" in r.text.lower() else
                            (0.9, 0.4, 0.9)) for r in rows}


def test_confident_builtin_rows_never_reach_the_llm(tmp_path, fake_llm):
    source = tmp_path / "source.csv"
    generate_tweets(150, seed=21).to_csv(source, index=False)
    ai = {"preferences": {"mode": "local", "default_local_model_id": "m1"},
          "local": [{"uid": "m1", "data": {"model": FAKE_MODEL, "baseUrl": fake_llm.ollama_url}}]}
    run = Run(source=source, cleaned=tmp_path / "cleaned.csv", analysed=tmp_path / "analysed.csv",
              checkpoints=tmp_path / "cp", topics=list(DEFAULT_TOPICS), operator_accounts=["free"],
              providers=lambda: [*providers_for(ai)[:-1], ConfidentOnPanne()], hybrid_threshold=0.9)
    stats = run_steps(run)["sending_to_llm"]
    analysed = pd.read_csv(tmp_path / "analysed.csv", dtype=str, keep_default_na=False)
    # one row per group of same texts (labels are per group: text_key, and the author rule apart)
    texts = analysed.assign(same=analysed["full_text"].map(text_key)).drop_duplicates(["same", "labelled_by"])
    confident = texts["full_text"].str.lower().str.contains("panne") & ~texts["labelled_by"].str.startswith("rule:")
    assert confident.sum() > 0 and (~confident).sum() > 0  # positive control: both kinds exist in the data
    assert (texts.loc[confident, "labelled_by"] == "builtin").all()
    assert set(texts.loc[~confident, "labelled_by"]) <= {f"ollama:{FAKE_MODEL}", "rule:operator", "rule:retweet"}
    sent = {text for request in fake_llm.chat_requests for text in request.texts}
    assert not any("panne" in text.lower() for text in sent)
    assert stats["kept_by_builtin"]["confident"] == confident.sum()
    assert stats["texts_by_model"]["builtin"] == confident.sum() and not stats["fallback_used"]
