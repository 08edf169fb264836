"""Who labels which row (author rule, hybrid threshold, fallback per chunk) and the summary views read."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from dallosh.defaults import DEFAULT_TOPICS, LLM_BREAKER_COOLDOWN_S, ROWS_PER_REQUEST
from dallosh.errors import ProviderError
from dallosh.llm.base import Label, Provider, Row
from dallosh.llm.budget import context_tokens, plan_requests
from dallosh.llm.circuit import CircuitBreaker
from dallosh.llm.labelling import Labeller, author_role, keeps_builtin, merge_fallbacks, summarise
from tests.conftest import FakeClock
from tests.mocking import FakeLLMServer, expected_label

TOPICS = list(DEFAULT_TOPICS)


class Scored(Provider):
    """A built-in stand-in that returns chosen confidences (text -> confidence; None: no confidence)."""

    name = "builtin"

    def __init__(self, confidence: dict[str, tuple[float, float, float] | None]):
        self.confidence = confidence
        self.seen: list[str] = []

    def label(self, rows: Sequence[Row], topics: Sequence[str]) -> dict[str, Label]:
        self.seen += [r.id for r in rows]
        return {r.id: Label("positive", 1, "Offres", self.confidence.get(r.text)) for r in rows}


class Failing(Provider):
    """A provider without chunk-level results: all or nothing."""

    name = "failing"

    def label(self, rows, topics):
        raise ProviderError("failing: down for maintenance")


def customer_rows(n: int, prefix: str = "c") -> list[Row]:
    return [Row(f"{prefix}{i}", f"tweet {prefix}{i}") for i in range(n)]


# -- author roles ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, operator, retweet, role", [
    ("Bonjour, écrivez-nous en MP", True, False, "operator"),
    ("RT @Freebox: la nouvelle Freebox est là", False, True, "retweet"),
    ("rt @free: promo", False, True, "retweet"),
    ("RT @someone: plus de réseau", False, True, "customer"),  # a retweet of a customer stays a customer's
    ("la nouvelle Freebox est là", False, True, "customer"),  # origin unknown
    ("RT @Freebox: bof", False, False, "customer"),  # not flagged by cleaning
])
def test_author_role(text, operator, retweet, role):
    assert author_role(text, operator, retweet, ["free", "Freebox"]) == role


# -- the author rule and hybrid labelling ----------------------------------------------------------------


def test_operator_and_retweet_rows_never_reach_the_llm(fake_llm: FakeLLMServer, make_provider):
    rows = [Row("o", "Bonjour, écrivez-nous en MP", author="operator"), Row("r", "RT @free: promo", author="retweet"),
            *customer_rows(3)]
    builtin = Scored({})
    page = Labeller([make_provider(), builtin], TOPICS, hybrid_threshold=0.8).label(rows)
    assert fake_llm.chat_requests[0].texts == [r.text for r in rows[2:]]
    assert page.labels["o"] == Label("neutral", 0, "Offres") == page.labels["r"]  # topic from the built-in
    assert page.labelled_by == {"o": "rule:operator", "r": "rule:retweet", "c0": "ollama:fake-model",
                                "c1": "ollama:fake-model", "c2": "ollama:fake-model"}
    assert page.kept == {"author_rule": 2} and page.fallbacks == []


def test_hybrid_keeps_confident_builtin_rows_and_sends_the_others(fake_llm: FakeLLMServer, make_provider):
    rows = customer_rows(4)
    builtin = Scored({"tweet c0": (0.99, 0.95, 0.9), "tweet c1": (0.99, 0.5, 0.99), "tweet c2": (0.8, 0.8, 0.8)})
    page = Labeller([make_provider(), builtin], TOPICS, hybrid_threshold=0.8).label(rows)
    # c0 and c2 reach the threshold with their least sure label; c1 does not; c3 has no confidence
    assert fake_llm.chat_requests[0].texts == ["tweet c1", "tweet c3"]
    assert page.labelled_by == {"c0": "builtin", "c1": "ollama:fake-model", "c2": "builtin",
                                "c3": "ollama:fake-model"}
    assert page.labels["c0"].confidence == (0.99, 0.95, 0.9)
    assert page.labels["c1"] == Label(**expected_label("tweet c1", TOPICS))
    assert page.kept == {"confident": 2} and page.counts() == {"builtin": 2, "ollama:fake-model": 2}


@pytest.mark.parametrize("threshold, sent", [(1.0, 4), (0.55, 2), (0.0, 1)])
def test_the_threshold_decides_how_many_rows_go_to_the_llm(fake_llm: FakeLLMServer, make_provider, threshold, sent):
    rows = customer_rows(4)  # c3 has no confidence: it always goes to the LLM
    builtin = Scored({"tweet c0": (1.0, 1.0, 1.0), "tweet c1": (0.6, 0.7, 0.9), "tweet c2": (0.5, 0.5, 0.5)})
    page = Labeller([make_provider(), builtin], TOPICS, hybrid_threshold=threshold).label(rows)
    assert sum(len(r.keys) for r in fake_llm.chat_requests) == sent
    assert page.counts().get("ollama:fake-model") == sent


def test_keeps_builtin_rule():
    assert keeps_builtin(Label("neutral", 0, "Autre", (0.9, 0.9, 0.9)), 0.8)
    assert not keeps_builtin(Label("neutral", 0, "Autre", (0.9, 0.7, 0.9)), 0.8)
    assert not keeps_builtin(Label("neutral", 0, "Autre", None), 0.0)  # no confidence: never confident
    assert not keeps_builtin(Label("neutral", 0, "Autre", (1.0, 1.0, 1.0)), 1.0)  # 1 sends every row


def test_without_an_llm_the_builtin_labels_everything_itself():
    rows = [Row("o", "Bonjour", author="operator"), *customer_rows(2)]
    page = Labeller([Scored({})], TOPICS).label(rows)
    assert page.labelled_by == {"o": "builtin", "c0": "builtin", "c1": "builtin"}
    assert page.labels["o"] == Label("positive", 1, "Offres")  # the built-in decides, no author rule


# -- fallback along the models ---------------------------------------------------------------------------


def test_failed_chunks_fall_back_and_good_chunks_stay(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("server_error", times=1, message="overloaded")
    rows = customer_rows(ROWS_PER_REQUEST * 2)
    page = Labeller([make_provider(retry_requests=0), Scored({})], TOPICS, hybrid_threshold=1).label(rows)
    assert page.counts() == {"builtin": ROWS_PER_REQUEST, "ollama:fake-model": ROWS_PER_REQUEST}
    assert {page.labelled_by[r.id] for r in rows[:ROWS_PER_REQUEST]} == {"builtin"}
    (fallback,) = page.fallbacks
    assert fallback["model"] == "ollama:fake-model" and fallback["to"] == "builtin"
    assert fallback["rows"] == ROWS_PER_REQUEST and "HTTP 500" in fallback["reason"] and "overloaded" in fallback[
        "reason"]


def test_rows_go_to_the_next_llm_before_the_builtin(make_provider):
    with FakeLLMServer("server_error") as broken, FakeLLMServer() as working:
        first = make_provider("openai", base_url=broken.openai_url, retry_requests=0)
        second = make_provider("ollama", base_url=working.ollama_url, uid="second")
        rows = customer_rows(3)
        page = Labeller([first, second, Scored({})], TOPICS, hybrid_threshold=1).label(rows)
        assert set(page.labelled_by.values()) == {"ollama:fake-model"}
        assert page.fallbacks[0]["to"] == "ollama:fake-model"
        assert working.shape_errors == []


def test_a_provider_without_chunks_falls_back_all_or_nothing():
    page = Labeller([Failing(), Scored({})], TOPICS, hybrid_threshold=1).label(customer_rows(3))
    assert page.counts() == {"builtin": 3}
    assert page.fallbacks == [{"model": "failing", "to": "builtin", "rows": 3, "reason": "failing: down for "
                                                                                         "maintenance"}]


def test_fallback_is_not_sticky_across_pages(fake_llm: FakeLLMServer, make_provider):
    clock = FakeClock()
    provider = make_provider(retry_requests=0, clock=clock)
    labeller = Labeller([provider, Scored({})], TOPICS, hybrid_threshold=1)
    fake_llm.set_behaviour("server_error")
    first = labeller.label(customer_rows(ROWS_PER_REQUEST * 3, "a"))
    assert first.counts() == {"builtin": ROWS_PER_REQUEST * 3}
    assert any("circuit open" in f["reason"] for f in first.fallbacks)
    fake_llm.set_behaviour("ok")
    clock.advance(LLM_BREAKER_COOLDOWN_S)
    second = labeller.label(customer_rows(ROWS_PER_REQUEST, "b"))
    assert second.counts() == {"ollama:fake-model": ROWS_PER_REQUEST} and second.fallbacks == []


# -- summaries ----------------------------------------------------------------------------------------------


def test_merge_fallbacks_sums_and_caps():
    records = [{"model": "m", "to": "builtin", "rows": 2, "reason": "a"}, {"model": "m", "to": "builtin", "rows": 3,
                                                                          "reason": "a"}]
    records += [{"model": "m", "to": "builtin", "rows": 1, "reason": f"r{i}"} for i in range(30)]
    merged = merge_fallbacks(records)
    assert merged[0] == {"model": "m", "to": "builtin", "rows": 5, "reason": "a"}
    assert len(merged) == 20 and merged[-1]["reason"] == "12 other reasons" and merged[-1]["rows"] == 12


def test_summarise_from_stats_and_from_events():
    stats = {"sending_to_llm": {"texts_by_model": {"openai:m": 8, "builtin": 2}, "kept_by_builtin": {"confident": 1},
                                "fallbacks": [{"model": "openai:m", "to": "builtin", "rows": 1, "reason": "x"}],
                                "llm": {"openai:m": {"response_format": "json_object_schema"}}},
             "appending_columns": {"labelled_by": {"openai:m": 30, "builtin": 5}}}
    done = summarise(stats)
    assert done == {"texts_by_model": {"openai:m": 8, "builtin": 2}, "rows_by_model": {"openai:m": 30, "builtin": 5},
                    "fallbacks": [{"model": "openai:m", "to": "builtin", "rows": 1, "reason": "x"}],
                    "kept_by_builtin": {"confident": 1}, "response_formats": {"openai:m": "json_object_schema"},
                    "complete": True}
    events = [{"event": "reading_dataset"},
              {"event": "sending_to_llm", "page": 1, "model": "openai:m", "fallback_to": "builtin", "rows": 3,
               "error": "HTTP 500"},
              {"event": "sending_to_llm", "page": 1, "pages": 2, "models": {"openai:m": 7, "builtin": 3},
               "kept": {}}]
    running = summarise({}, events)
    assert running["texts_by_model"] == {"openai:m": 7, "builtin": 3} and running["rows_by_model"] is None
    assert running["fallbacks"] == [{"model": "openai:m", "to": "builtin", "rows": 3, "reason": "HTTP 500"}]
    assert running["complete"] is False


# -- request sizing and the breaker on their own ------------------------------------------------------------


def test_plan_requests_respects_rows_and_tokens():
    short = [Row(str(i), "court") for i in range(60)]
    assert [len(r) for r in plan_requests(short)] == [25, 25, 10]
    long = [Row(str(i), "x" * 3000) for i in range(3)]  # each above the budget: one request each
    assert [len(r) for r in plan_requests(long)] == [1, 1, 1]


def test_context_is_rounded_to_the_step():
    assert context_tokens("a" * 300, "b" * 300, 100) == 2048
    assert context_tokens("a" * 9000, "b" * 3000, 600) == 6144


def test_breaker_half_open_lets_one_trial_through():
    clock = FakeClock()
    breaker = CircuitBreaker(failures=2, cooldown=10, clock=clock)
    breaker.failure("x")
    assert breaker.allow()
    breaker.failure("y")
    assert not breaker.allow() and breaker.reason == "y"
    clock.advance(10)
    assert breaker.allow() and not breaker.allow()  # one trial at a time
    breaker.failure("z")  # the trial failed: open again for a full cool-down
    clock.advance(9)
    assert not breaker.allow()
    clock.advance(1)
    assert breaker.allow()
    breaker.success()
    assert breaker.allow() and breaker.allow() and not breaker.is_open
