"""Every LLM fault → retries → fallback → complete output, through the real pipeline and the fake LLM server."""

from __future__ import annotations

import pandas as pd
import pytest

from dallosh.defaults import DEFAULT_TOPICS, LLM_BREAKER_COOLDOWN_S
from dallosh.llm.registry import providers_for
from dallosh.pipeline import Run, run_steps
from tests.conftest import FakeClock
from tests.mocking import FAKE_MODEL
from tools.synthetic import generate_tweets


@pytest.fixture
def dataset(tmp_path):
    path = tmp_path / "source.csv"
    generate_tweets(120, seed=7).to_csv(path, index=False)
    return path


def make_run(tmp_path, source, ai, events):
    return Run(source=source, cleaned=tmp_path / "cleaned.csv", analysed=tmp_path / "analysed.csv",
               checkpoints=tmp_path / "cp", topics=["Réseau", "Facturation", "Service Client", "Matériel", "Offres",
                                                   "Autre"],
               operator_accounts=["free"], providers=lambda: providers_for(ai, timeout=0.5, sleep=lambda s: None),
               report=lambda event, details: events.append(details),
               hybrid_threshold=1.0)  # every customer row to the model under test


def ai_settings(url, kind="local", provider=None, retries=2, key=""):
    data = {"model": FAKE_MODEL, "baseUrl": url, "retryRequests": retries, "paginateRowsLimit": 50, "apiKey": key}
    entry = {"uid": "m1", "data": {**data, **({"provider": provider} if provider else {})}}
    return {"preferences": {"mode": kind, "default_local_model_id": "m1", "default_external_model_id": "m1"},
            "local": [entry] if kind == "local" else [], "external": [entry] if kind == "external" else []}


def assert_complete(tmp_path):
    """The analysed rows that a model labelled (the operator's own rows are labelled by the author rule)."""
    cleaned = pd.read_csv(tmp_path / "cleaned.csv", dtype=str, keep_default_na=False)
    analysed = pd.read_csv(tmp_path / "analysed.csv", dtype=str, keep_default_na=False)
    assert analysed["id"].tolist() == cleaned["id"].tolist()
    assert (analysed["sentiment"] != "").all() and (analysed["main_topic"] != "").all()
    rule = analysed["labelled_by"].str.startswith("rule:")
    assert (analysed.loc[rule, "labelled_by"] == "rule:operator").all()
    assert (cleaned.loc[rule, "is_operator"] == "True").all()
    return analysed[~rule]


@pytest.mark.parametrize("behaviour", ["rate_limited", "server_error", "bad_json", "missing_ids", "wrong_enum",
                                       "wrong_lengths", "timeout"])
@pytest.mark.parametrize("api", ["ollama", "openai"])
def test_transient_fault_is_retried_and_the_model_keeps_labelling(tmp_path, dataset, fake_llm, behaviour, api):
    fake_llm.set_behaviour(behaviour, times=1, **({"retry_after": 0} if behaviour == "rate_limited" else {}),
                           **({"seconds": 1.0} if behaviour == "timeout" else {}))
    url = fake_llm.ollama_url if api == "ollama" else fake_llm.openai_url
    events = []
    run_steps(make_run(tmp_path, dataset, ai_settings(url, "local" if api == "ollama" else "external"), events))
    analysed = assert_complete(tmp_path)
    assert set(analysed["labelled_by"]) == {f"{api}:{FAKE_MODEL}"}, behaviour
    assert not any(e.get("fallback_used") for e in events)


@pytest.mark.parametrize("behaviour", ["rate_limited", "server_error", "bad_json", "wrong_enum", "timeout",
                                       "unknown_model"])
def test_persistent_fault_falls_back_to_builtin(tmp_path, dataset, fake_llm, behaviour):
    fake_llm.set_behaviour(behaviour, **({"retry_after": 0} if behaviour == "rate_limited" else {}),
                           **({"seconds": 1.0} if behaviour == "timeout" else {}))
    events = []
    run_steps(make_run(tmp_path, dataset, ai_settings(fake_llm.ollama_url, retries=1), events))
    analysed = assert_complete(tmp_path)
    assert set(analysed["labelled_by"]) == {"builtin"}
    fallback = [e for e in events if e.get("fallback_to")]
    assert fallback and fallback[0]["fallback_to"] == "builtin" and fallback[0]["error"]


def test_external_wrong_key_falls_back_and_never_leaks_the_key(tmp_path, dataset, fake_llm):
    fake_llm.set_behaviour("requires_api_key", key="the-right-key")
    events = []
    ai = ai_settings(fake_llm.openai_url, "external", key="sk-WRONG-secret-123")
    run_steps(make_run(tmp_path, dataset, ai, events))
    assert set(assert_complete(tmp_path)["labelled_by"]) == {"builtin"}
    assert "sk-WRONG-secret-123" not in repr(events)


def test_automatic_mode_order_external_then_local_then_builtin(tmp_path, dataset, fake_llm):
    from tests.mocking import FakeLLMServer

    with FakeLLMServer("server_error") as broken:
        ai = {"preferences": {"mode": "automatic", "default_external_model_id": "e1", "default_local_model_id": "l1"},
              "external": [{"uid": "e1", "data": {"model": FAKE_MODEL, "baseUrl": broken.openai_url,
                                                  "retryRequests": 0, "paginateRowsLimit": 50}}],
              "local": [{"uid": "l1", "data": {"model": FAKE_MODEL, "baseUrl": fake_llm.ollama_url,
                                               "paginateRowsLimit": 50}}]}
        events = []
        run_steps(make_run(tmp_path, dataset, ai, events))
    analysed = assert_complete(tmp_path)
    assert set(analysed["labelled_by"]) == {f"ollama:{FAKE_MODEL}"}
    assert events[0]["fallback_to"] == f"ollama:{FAKE_MODEL}"


def test_fallback_is_per_chunk_and_never_sticky(tmp_path, dataset, fake_llm):
    """Page 1 loses its model (two failed chunks open the circuit), later pages get it back after the cool-down;
    the summary says how many texts each model labelled and why rows fell back."""
    clock = FakeClock()
    events = []

    def report(event, details):
        events.append(details)
        if "pages" in details:  # one page = one cool-down, so the next page may try the model again
            clock.advance(LLM_BREAKER_COOLDOWN_S)

    fake_llm.set_behaviour("server_error", times=2, message="overloaded")
    ai = ai_settings(fake_llm.ollama_url, retries=0)
    run = Run(source=dataset, cleaned=tmp_path / "cleaned.csv", analysed=tmp_path / "analysed.csv",
              checkpoints=tmp_path / "cp", topics=list(DEFAULT_TOPICS), operator_accounts=["free"],
              providers=lambda: providers_for(ai, timeout=0.5, sleep=lambda s: None, clock=clock),
              report=report, hybrid_threshold=1.0)
    stats = run_steps(run)["sending_to_llm"]
    pages = [e for e in events if "pages" in e]
    assert len(pages) >= 2
    assert pages[0]["fallback_used"] and set(pages[0]["models"]) <= {"builtin", "rule:operator"}
    assert all(not p["fallback_used"] and f"ollama:{FAKE_MODEL}" in p["models"] for p in pages[1:])
    assert stats["fallback_used"] and stats["texts_by_model"]["builtin"] == pages[0]["models"]["builtin"]
    assert sum(stats["texts_by_model"].values()) == stats["distinct_texts"]
    assert all("HTTP 500" in f["reason"] and "overloaded" in f["reason"] for f in stats["fallbacks"])
    assert sum(f["rows"] for f in stats["fallbacks"]) == stats["texts_by_model"]["builtin"]
    assert stats["llm"][f"ollama:{FAKE_MODEL}"]["response_format"] == "schema"
    analysed = assert_complete(tmp_path)
    assert set(analysed["labelled_by"]) == {"builtin", f"ollama:{FAKE_MODEL}"}


def test_resumed_run_summarises_every_page(tmp_path, dataset, fake_llm):
    events = []
    ai = ai_settings(fake_llm.ollama_url)
    run_steps(make_run(tmp_path, dataset, ai, events))
    stats = run_steps(make_run(tmp_path, dataset, ai, events), "sending_to_llm")["sending_to_llm"]
    assert stats["pages_resumed"] == stats["pages"]
    assert sum(stats["texts_by_model"].values()) == stats["distinct_texts"]
