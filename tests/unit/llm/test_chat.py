"""ChatProvider behaviour over real HTTP against the fake server: batching, dedupe, validation, retries."""

from __future__ import annotations

import json
import math
import socket
import time

import pytest

from dallosh.defaults import (
    DEFAULT_TOPICS,
    LLM_BACKOFF_BASE_S,
    LLM_BACKOFF_MAX_S,
    PRIORITIES,
    ROWS_PER_REQUEST,
    SENTIMENTS,
)
from dallosh.errors import ProviderError
from dallosh.llm.base import Label, Row
from dallosh.llm.chat import (
    ChatProvider,
    _BadAnswer,
    build_schema,
    parse_labels,
    parse_retry_after,
)
from tests.mocking import FakeLLMServer, expected_label

TOPICS = list(DEFAULT_TOPICS)
TEXTS = [
    "Encore une panne de la fibre depuis ce matin, inadmissible",
    "Merci au service client pour la réponse rapide 👍",
    "Ma facture a doublé ce mois-ci ?",
    "La freebox redémarre toute seule, c'est nul",
    "Quelle est la nouvelle offre mobile ?",
    "Il fait beau aujourd'hui",
]
BOTH = pytest.mark.parametrize("kind", ["ollama", "openai"])


def make_rows(n: int, prefix: str = "") -> list[Row]:
    return [Row(id=f"{prefix}{i}", text=f"{TEXTS[i % len(TEXTS)]} #{prefix}{i}", engagement=i) for i in range(n)]


def expected(rows: list[Row], topics: list[str] = TOPICS) -> dict[str, Label]:
    return {r.id: Label(**expected_label(r.text, r.engagement, topics)) for r in rows}


# -- happy paths -----------------------------------------------------------------------------------------


@BOTH
def test_labels_every_row_in_requests_of_rows_per_request(kind, fake_llm: FakeLLMServer, make_provider):
    provider = make_provider(kind)
    rows = make_rows(ROWS_PER_REQUEST * 2 + 3)
    assert provider.label(rows, TOPICS) == expected(rows)
    sizes = [len(r.rows) for r in fake_llm.chat_requests]
    assert sizes == [ROWS_PER_REQUEST, ROWS_PER_REQUEST, 3]
    assert provider.requests_made == 3
    assert provider.retries == 0


@BOTH
def test_identical_texts_are_labelled_once(kind, fake_llm: FakeLLMServer, make_provider):
    provider = make_provider(kind)
    texts = ["La fibre est en panne", "Merci pour tout", "La fibre est en panne", "  La fibre  est en panne "]
    rows = [Row(id=str(i), text=t) for i, t in enumerate(texts * 20)]  # 80 rows, 2 distinct texts
    result = provider.label(rows, TOPICS)
    assert set(result) == {r.id for r in rows}
    assert len(fake_llm.chat_requests) == 1
    assert sorted(r["text"] for r in fake_llm.chat_requests[0].rows) == ["La fibre est en panne", "Merci pour tout"]
    assert {result[r.id] for r in rows if "panne" in r.text} == {Label("negative", 1, "Réseau")}
    assert {result[r.id] for r in rows if "Merci" in r.text} == {Label("positive", 0, "Autre")}


def test_duplicates_send_their_highest_engagement(fake_llm: FakeLLMServer, make_provider):
    rows = [Row("a", "Panne réseau", engagement=1), Row("b", "Panne réseau", engagement=50)]
    result = make_provider().label(rows, TOPICS)
    assert fake_llm.chat_requests[0].rows == [{"id": "a", "text": "Panne réseau", "engagement": 50}]
    assert result["a"] == result["b"] == Label("negative", 2, "Réseau")


def test_nineteen_digit_ids_stay_exact(fake_llm: FakeLLMServer, make_provider):
    rows = [Row("1234567890123456789", "Panne fibre"), Row("1234567890123456790", "Merci")]
    assert set(make_provider().label(rows, TOPICS)) == {r.id for r in rows}


def test_empty_page_makes_no_request_and_no_topics_is_an_error(fake_llm: FakeLLMServer, make_provider):
    provider = make_provider()
    assert provider.label([], TOPICS) == {}
    assert fake_llm.chat_requests == []
    with pytest.raises(ProviderError, match="no topics"):
        provider.label(make_rows(1), [])


def test_custom_topics_reach_the_schema_and_prompt(fake_llm: FakeLLMServer, make_provider):
    topics = ["Mobile", "Internet", "Divers"]
    rows = [Row("1", "Internet coupé"), Row("2", "Bonjour")]
    assert make_provider().label(rows, topics) == expected(rows, topics)
    body = fake_llm.chat_requests[0].body
    assert body["format"]["properties"]["labels"]["items"]["properties"]["topic"]["enum"] == topics
    assert fake_llm.chat_requests[0].payload["topics"] == topics


def test_ollama_request_shape(fake_llm: FakeLLMServer, make_provider):
    make_provider("ollama").label(make_rows(2), TOPICS)
    body = fake_llm.chat_requests[0].body
    assert fake_llm.chat_requests[0].path == "/api/chat"
    assert body["model"] == "fake-model"
    assert body["stream"] is False
    assert body["options"] == {"temperature": 0}
    assert body["format"] == build_schema(TOPICS, ["0", "1"])
    system = body["messages"][0]["content"]
    assert body["messages"][0]["role"] == "system"
    assert "français" in system and '"labels"' in system


def test_openai_request_shape(fake_llm: FakeLLMServer, make_provider):
    make_provider("openai").label(make_rows(2), TOPICS)
    request = fake_llm.chat_requests[0]
    assert request.path == "/v1/chat/completions"
    assert request.body["temperature"] == 0
    fmt = request.body["response_format"]
    assert fmt["type"] == "json_schema"
    assert fmt["json_schema"]["name"] == "labels"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == build_schema(TOPICS, ["0", "1"])


def test_schema_constrains_enums():
    item = build_schema(["A", "B"], ["x"])["properties"]["labels"]["items"]
    assert item["properties"]["sentiment"]["enum"] == list(SENTIMENTS)
    assert item["properties"]["priority"]["enum"] == list(PRIORITIES)
    assert item["properties"]["topic"]["enum"] == ["A", "B"]
    assert item["properties"]["id"]["enum"] == ["x"]
    assert set(item["required"]) == {"id", "sentiment", "priority", "topic"}


@BOTH
def test_original_spec_shape_is_accepted(kind, fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("original_shape")
    rows = make_rows(7)
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    assert len(fake_llm.chat_requests) == 1


def test_fenced_json_and_string_priorities_are_tolerated(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("fenced")
    rows = make_rows(6)
    assert make_provider().label(rows, TOPICS) == expected(rows)
    assert len(fake_llm.chat_requests) == 1


# -- faults, retries, give-up ----------------------------------------------------------------------------


@BOTH
def test_rate_limit_honours_retry_after(kind, fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("rate_limited", times=2, retry_after=3)
    provider = make_provider(kind)
    rows = make_rows(4)
    assert provider.label(rows, TOPICS) == expected(rows)
    assert len(fake_llm.chat_requests) == 3
    assert sleeps == [3, 3]
    assert (provider.requests_made, provider.retries) == (3, 2)


def test_retry_after_is_capped(fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("rate_limited", times=1, retry_after=10_000)
    make_provider().label(make_rows(1), TOPICS)
    assert sleeps == [LLM_BACKOFF_MAX_S]


def test_rate_limit_without_retry_after_backs_off_exponentially(fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("rate_limited", times=3, retry_after=None)
    make_provider(retry_requests=3).label(make_rows(1), TOPICS)
    assert sleeps == [LLM_BACKOFF_BASE_S, LLM_BACKOFF_BASE_S * 2, LLM_BACKOFF_BASE_S * 4]


def test_backoff_doubles_up_to_the_cap():
    delays = [ChatProvider._backoff(n, None) for n in range(20)]
    assert delays[:3] == [LLM_BACKOFF_BASE_S, LLM_BACKOFF_BASE_S * 2, LLM_BACKOFF_BASE_S * 4]
    assert max(delays) == LLM_BACKOFF_MAX_S
    assert delays == sorted(delays)


@BOTH
def test_server_errors_are_retried_then_succeed(kind, fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("server_error", times=2)
    rows = make_rows(3)
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    assert len(fake_llm.chat_requests) == 3
    assert len(sleeps) == 2


@BOTH
def test_persistent_server_errors_raise_provider_error(kind, fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("server_error", message="GPU on fire")
    provider = make_provider(kind, retry_requests=2)
    with pytest.raises(ProviderError) as info:
        provider.label(make_rows(3), TOPICS)
    message = str(info.value)
    assert provider.name in message
    assert "HTTP 500" in message and "GPU on fire" in message
    assert "3 attempt(s)" in message
    assert len(fake_llm.chat_requests) == 3  # first try + retry_requests
    assert len(sleeps) == 2


@BOTH
def test_bad_json_is_retried(kind, fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("bad_json", times=1)
    rows = make_rows(3)
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    assert len(fake_llm.chat_requests) == 2
    assert sleeps == [LLM_BACKOFF_BASE_S]


def test_persistent_bad_json_raises(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("bad_json")
    with pytest.raises(ProviderError, match="not valid JSON"):
        make_provider(retry_requests=1).label(make_rows(3), TOPICS)
    assert len(fake_llm.chat_requests) == 2


@BOTH
def test_timeouts_are_retried(kind, fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("timeout", times=1, seconds=3)
    rows = make_rows(2)
    started = time.monotonic()
    assert make_provider(kind, timeout=0.3).label(rows, TOPICS) == expected(rows)
    assert time.monotonic() - started < 2.5  # the client gave up instead of waiting for the fake
    assert len(fake_llm.chat_requests) == 2
    assert len(sleeps) == 1


def test_persistent_timeouts_raise(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("timeout", seconds=3)
    with pytest.raises(ProviderError, match="timeout"):
        make_provider(timeout=0.2, retry_requests=1).label(make_rows(1), TOPICS)


@BOTH
def test_connection_errors_are_retried_then_raise(kind, make_provider, sleeps):
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}" + ("/v1" if kind == "openai" else "")
    provider = make_provider(kind, base_url=url, retry_requests=2)
    with pytest.raises(ProviderError, match="cannot reach"):
        provider.label(make_rows(1), TOPICS)
    assert provider.requests_made == 3
    assert len(sleeps) == 2


@BOTH
def test_missing_ids_are_asked_again_in_a_smaller_request(kind, fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("missing_ids", times=1, drop=3)
    rows = make_rows(10)
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    first, second = fake_llm.chat_requests
    assert len(first.rows) == 10
    assert second.row_ids == ["7", "8", "9"]
    assert sleeps == []  # a partial answer is not a server fault: no backoff


def test_ids_still_missing_after_retries_raise(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("missing_ids", drop=1)
    provider = make_provider(retry_requests=2)
    with pytest.raises(ProviderError, match="missing or with invalid values"):
        provider.label(make_rows(5), TOPICS)
    assert [len(r.rows) for r in fake_llm.chat_requests] == [5, 1, 1]


@BOTH
def test_invalid_enum_values_are_asked_again(kind, fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("wrong_enum", times=1)
    rows = make_rows(4)
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    assert [len(r.rows) for r in fake_llm.chat_requests] == [4, 4]


def test_persistent_invalid_values_raise(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("wrong_enum")
    with pytest.raises(ProviderError):
        make_provider(retry_requests=1).label(make_rows(2), TOPICS)


@BOTH
def test_original_shape_with_wrong_lengths_is_retried(kind, fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("wrong_lengths", times=1)
    rows = make_rows(5)
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    assert len(fake_llm.chat_requests) == 2


def test_persistent_wrong_lengths_raise_a_clear_error(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("wrong_lengths")
    with pytest.raises(ProviderError, match="lengths 4/4/4 do not match 5 rows"):
        make_provider(retry_requests=0).label(make_rows(5), TOPICS)


@BOTH
def test_unknown_model_fails_fast(kind, fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("unknown_model")
    with pytest.raises(ProviderError, match="HTTP 404"):
        make_provider(kind).label(make_rows(1), TOPICS)
    assert len(fake_llm.chat_requests) == 1
    assert sleeps == []


def test_openai_falls_back_to_json_mode_when_json_schema_is_rejected(fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("rejects_json_schema")
    provider = make_provider("openai")
    rows = make_rows(3)
    assert provider.label(rows, TOPICS) == expected(rows)
    formats = [r.body["response_format"]["type"] for r in fake_llm.chat_requests]
    assert formats == ["json_schema", "json_object"]
    assert sleeps == []
    provider.label(make_rows(2, "b"), TOPICS)
    assert fake_llm.chat_requests[-1].body["response_format"]["type"] == "json_object"


# -- API keys --------------------------------------------------------------------------------------------


@BOTH
def test_api_key_is_sent_as_bearer_header(kind, fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("requires_api_key", key="sk-right-key")
    rows = make_rows(2)
    assert make_provider(kind, api_key="sk-right-key").label(rows, TOPICS) == expected(rows)
    assert fake_llm.chat_requests[0].bearer == "sk-right-key"
    assert "sk-right-key" not in repr(fake_llm.chat_requests[0])


@BOTH
def test_no_authorization_header_without_a_key(kind, fake_llm: FakeLLMServer, make_provider):
    make_provider(kind).label(make_rows(1), TOPICS)
    assert fake_llm.chat_requests[0].authorization is None


@BOTH
def test_wrong_api_key_fails_fast_and_is_never_shown(kind, fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("requires_api_key", key="sk-right-key")
    provider = make_provider(kind, api_key="sk-wrong-secret")
    with pytest.raises(ProviderError) as info:
        provider.label(make_rows(1), TOPICS)
    assert "HTTP 401" in str(info.value) and "API key" in str(info.value)
    assert "sk-wrong-secret" not in str(info.value)
    assert "sk-wrong-secret" not in repr(provider)
    assert fake_llm.chat_requests[0].bearer == "sk-wrong-secret"
    assert len(fake_llm.chat_requests) == 1 and sleeps == []


@BOTH
def test_key_echoed_by_a_server_is_redacted(kind, fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("server_error", message="bad token sk-echoed-secret")
    with pytest.raises(ProviderError) as info:
        make_provider(kind, api_key="sk-echoed-secret", retry_requests=0).label(make_rows(1), TOPICS)
    assert "sk-echoed-secret" not in str(info.value)
    assert "bad token ***" in str(info.value)


@BOTH
@pytest.mark.parametrize("offset", [0, 150, 260, 270, 285, 299, 310])
def test_key_is_redacted_wherever_the_server_puts_it(kind, offset, fake_llm: FakeLLMServer, make_provider):
    """Redact, then shorten: a key straddling the 300-character cut used to leak its first part."""
    key = "sk-" + "k3y" * 10
    fake_llm.set_behaviour("server_error", message="x" * offset + key + " tail")
    with pytest.raises(ProviderError) as info:
        make_provider(kind, api_key=key, retry_requests=0).label(make_rows(1), TOPICS)
    for start in range(0, len(key) - 7):
        assert key[start:start + 8] not in str(info.value), f"8 characters of the key leaked at offset {offset}"
    if offset < 290:
        assert "***" in str(info.value)  # positive control: the key was there and was masked


# -- concurrency -----------------------------------------------------------------------------------------


@BOTH
def test_concurrency_reduces_wall_time(kind, fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("slow", seconds=0.3)
    rows = make_rows(ROWS_PER_REQUEST * 4)
    n_requests = math.ceil(len(rows) / ROWS_PER_REQUEST)

    started = time.monotonic()
    sequential = make_provider(kind, concurrency=1).label(rows, TOPICS)
    sequential_s = time.monotonic() - started

    started = time.monotonic()
    parallel = make_provider(kind, concurrency=n_requests).label(rows, TOPICS)
    parallel_s = time.monotonic() - started

    assert sequential == parallel == expected(rows)
    assert sequential_s >= 0.3 * n_requests
    assert parallel_s < sequential_s * 0.6
    assert len(fake_llm.chat_requests) == 2 * n_requests


def test_concurrent_failure_raises_provider_error(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("server_error")
    provider = make_provider(concurrency=4, retry_requests=1)
    with pytest.raises(ProviderError, match="HTTP 500"):
        provider.label(make_rows(ROWS_PER_REQUEST * 4), TOPICS)


def test_concurrent_retries_are_counted(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("server_error", times=2)
    provider = make_provider(concurrency=4)
    rows = make_rows(ROWS_PER_REQUEST * 4)
    assert provider.label(rows, TOPICS) == expected(rows)
    assert provider.retries == 2
    assert provider.requests_made == 4 + 2 == len(fake_llm.chat_requests)


# -- parsing (pure functions) ----------------------------------------------------------------------------

ROWS = [Row("1", "a"), Row("2", "b")]


def test_parse_accepts_prose_around_json_and_tolerant_values():
    text = (
        'Voici les labels : {"labels": [{"id": 1, "sentiment": "Négatif", "priority": 2.0, "topic": "réseau"},'
        ' {"id": "2", "sentiment": "positive", "priority": "0", "topic": "SERVICE CLIENT"}]} Bonne journée'
    )
    assert parse_labels(text, ROWS, TOPICS) == {
        "1": Label("negative", 2, "Réseau"),
        "2": Label("positive", 0, "Service Client"),
    }


def test_parse_drops_invalid_and_unknown_ids():
    labels = [
        {"id": "1", "sentiment": "angry", "priority": 1, "topic": "Autre"},
        {"id": "2", "sentiment": "neutral", "priority": True, "topic": "Autre"},
        {"id": "3", "sentiment": "neutral", "priority": 1, "topic": "Autre"},
        {"id": "2", "sentiment": "neutral", "priority": 7, "topic": "Autre"},
        "junk",
    ]
    assert parse_labels(json.dumps({"labels": labels}), ROWS, TOPICS) == {}


def test_parse_first_valid_answer_per_id_wins_and_bare_lists_work():
    labels = [
        {"id": "1", "sentiment": "neutral", "priority": 0, "topic": "Autre"},
        {"id": "1", "sentiment": "negative", "priority": 2, "topic": "Autre"},
    ]
    assert parse_labels(json.dumps(labels), ROWS, TOPICS) == {"1": Label("neutral", 0, "Autre")}


def test_parse_original_shape_maps_by_position():
    text = json.dumps({"analysis": ["negative", "neutre"], "priority": ["2", 0], "topics": ["Offres", "Nope"]})
    assert parse_labels(text, ROWS, TOPICS) == {"1": Label("negative", 2, "Offres")}
    with pytest.raises(_BadAnswer, match="do not match"):
        parse_labels(json.dumps({"analysis": ["negative"], "priority": [2], "topics": ["Offres"]}), ROWS, TOPICS)


@pytest.mark.parametrize("text", ["", "nope", '{"labels": "x"}', '{"other": []}', "```json\n{bad\n```"])
def test_parse_rejects_unusable_answers(text):
    with pytest.raises(_BadAnswer):
        parse_labels(text, ROWS, TOPICS)


def test_parse_retry_after_forms():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait
