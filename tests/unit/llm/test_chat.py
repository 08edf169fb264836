"""ChatProvider behaviour over real HTTP against the fake server: request shape and sizing, dedupe, format
negotiation, validation, retries, halving, partial results and the circuit breaker."""

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
    LLM_BREAKER_COOLDOWN_S,
    LLM_BREAKER_FAILURES,
    LLM_CONTEXT_STEP,
    LLM_RETRY_TEMPERATURE,
    PRIORITIES,
    ROWS_PER_REQUEST,
    SENTIMENTS,
)
from dallosh.errors import ProviderError
from dallosh.llm import formats
from dallosh.llm.answer import BadAnswer, build_schema, parse_answer
from dallosh.llm.base import Label, Row
from dallosh.llm.budget import completion_tokens, estimate_tokens
from dallosh.llm.chat import ChatProvider, parse_retry_after
from dallosh.llm.prompt import system_prompt
from tests.conftest import FakeClock
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
    return {r.id: Label(**expected_label(r.text, topics)) for r in rows}


def sizes(fake: FakeLLMServer) -> list[int]:
    return [len(r.keys) for r in fake.chat_requests]


def temperatures(fake: FakeLLMServer) -> list[float]:
    return [r.body["temperature"] if "temperature" in r.body else r.body["options"]["temperature"]
            for r in fake.chat_requests]


# -- happy paths and request shape -----------------------------------------------------------------------


@BOTH
def test_labels_every_row_in_requests_of_rows_per_request(kind, fake_llm: FakeLLMServer, make_provider):
    provider = make_provider(kind)
    rows = make_rows(ROWS_PER_REQUEST * 2 + 3)
    assert provider.label(rows, TOPICS) == expected(rows)
    assert sizes(fake_llm) == [ROWS_PER_REQUEST, ROWS_PER_REQUEST, 3]
    assert provider.requests_made == 3 and provider.retries == 0


@BOTH
def test_long_tweets_are_split_by_the_token_budget(kind, fake_llm: FakeLLMServer, make_provider):
    rows = [Row(str(i), f"{i} " + "la fibre est coupée depuis des jours et personne ne répond " * 5) for i in range(25)]
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    assert len(fake_llm.chat_requests) > 1 and sum(sizes(fake_llm)) == 25
    for request in fake_llm.chat_requests:
        assert sum(estimate_tokens(t) for t in request.texts) <= 1600


def test_rows_travel_under_short_keys_and_ids_stay_exact(fake_llm: FakeLLMServer, make_provider):
    rows = [Row("1234567890123456789", "Panne fibre"), Row("1234567890123456790", "Merci")]
    assert make_provider().label(rows, TOPICS) == expected(rows)
    request = fake_llm.chat_requests[0]
    assert request.payload == {"1": "Panne fibre", "2": "Merci"}
    assert "1234567890123456789" not in request.raw_body.decode()


@BOTH
def test_identical_texts_are_labelled_once(kind, fake_llm: FakeLLMServer, make_provider):
    provider = make_provider(kind)
    texts = ["La fibre est en panne", "Merci pour tout", "La fibre est en panne", "  La fibre  est en panne "]
    rows = [Row(id=str(i), text=t) for i, t in enumerate(texts * 20)]  # 80 rows, 2 distinct texts
    result = provider.label(rows, TOPICS)
    assert set(result) == {r.id for r in rows}
    assert len(fake_llm.chat_requests) == 1
    assert sorted(fake_llm.chat_requests[0].texts) == ["La fibre est en panne", "Merci pour tout"]
    assert len({result[r.id] for r in rows if "panne" in r.text}) == 1


def test_authors_other_than_customers_are_tagged(fake_llm: FakeLLMServer, make_provider):
    rows = [Row("1", "Bonjour, écrivez-nous en MP", author="operator"), Row("2", "Nouvelle offre !", author="retweet"),
            Row("3", "Plus de réseau", author="customer")]
    make_provider().label(rows, TOPICS)
    assert fake_llm.chat_requests[0].texts == ["[operator] Bonjour, écrivez-nous en MP", "[retweet] Nouvelle offre !",
                                               "Plus de réseau"]


def test_empty_page_makes_no_request_and_no_topics_is_an_error(fake_llm: FakeLLMServer, make_provider):
    provider = make_provider()
    assert provider.label([], TOPICS) == {}
    assert fake_llm.chat_requests == []
    with pytest.raises(ProviderError, match="no topics"):
        provider.label(make_rows(1), [])


def test_custom_topics_and_descriptions_reach_the_schema_and_prompt(fake_llm: FakeLLMServer, make_provider):
    topics = ["Mobile", "Internet", "Divers"]
    rows = [Row("1", "Internet coupé"), Row("2", "Bonjour")]
    provider = make_provider(topic_descriptions={"Mobile": "forfaits et réseau mobile"})
    assert provider.label(rows, topics) == expected(rows, topics)
    request = fake_llm.chat_requests[0]
    assert request.schema["properties"]["1"]["prefixItems"][2]["enum"] == topics
    assert request.topics == topics
    assert "- Mobile: forfaits et réseau mobile\n- Internet\n- Divers" in request.system
    assert "Réseau" not in request.system.split("Example")[0].split("topic:")[1]  # no default topic leaks in


def test_the_prompt_follows_the_guideline():
    prompt = system_prompt(TOPICS)
    for words in ("sarcasm", "ironie", "threat to cancel", "résilier", "[operator]", "[retweet]"):
        assert words in prompt
    assert "engagement" not in prompt.lower()  # the old "or high engagement" rule contradicted the guideline
    example_in, example_out = prompt.rstrip().splitlines()[-2:]
    answers = json.loads(example_out)
    assert list(answers) == list(json.loads(example_in)) and 6 <= len(answers) <= 10
    assert {a[0] for a in answers.values()} == set(SENTIMENTS) and {a[1] for a in answers.values()} == set(PRIORITIES)


def test_ollama_request_shape(fake_llm: FakeLLMServer, make_provider):
    make_provider("ollama").label(make_rows(2), TOPICS)
    request = fake_llm.chat_requests[0]
    body = request.body
    assert request.path == "/api/chat" and body["model"] == "fake-model" and body["stream"] is False
    assert body["format"] == build_schema(["1", "2"], TOPICS)
    options = body["options"]
    assert options["temperature"] == 0 and options["num_predict"] == completion_tokens(2)
    assert options["num_ctx"] % LLM_CONTEXT_STEP == 0
    assert options["num_ctx"] >= estimate_tokens(request.system + request.message("user")) + options["num_predict"]
    assert "français" in request.system and request.topics == TOPICS


def test_ollama_context_grows_with_the_request(fake_llm: FakeLLMServer, make_provider):
    text = "la 4G ne marche plus du tout depuis trois jours, c'est inadmissible !!"
    rows = [Row(str(i), f"{i} {text}") for i in range(25)]
    assert make_provider("ollama").label(rows, TOPICS) == expected(rows)
    assert fake_llm.chat_requests[0].body["options"]["num_ctx"] > 2048


def test_fake_ollama_loses_the_instructions_without_num_ctx(fake_llm: FakeLLMServer, make_provider):
    """Positive control for the test above: the same request without num_ctx gets prose back."""
    import httpx

    make_provider("ollama").label([Row(str(i), f"{i} " + "x" * 200) for i in range(25)], TOPICS)
    body = fake_llm.chat_requests[0].body
    answer = httpx.post(f"{fake_llm.url}/api/chat", json={**body, "options": {**body["options"], "num_ctx": 2048}})
    assert not answer.json()["message"]["content"].startswith("{")


def test_openai_request_shape(fake_llm: FakeLLMServer, make_provider):
    make_provider("openai").label(make_rows(2), TOPICS)
    body = fake_llm.chat_requests[0].body
    assert fake_llm.chat_requests[0].path == "/v1/chat/completions"
    assert body["temperature"] == 0 and body["max_tokens"] == completion_tokens(2)
    fmt = body["response_format"]
    assert fmt["type"] == "json_schema" and fmt["json_schema"]["name"] == "labels"
    assert fmt["json_schema"]["strict"] is True
    assert fmt["json_schema"]["schema"] == build_schema(["1", "2"], TOPICS)


def test_schema_constrains_every_key_once():
    schema = build_schema(["1", "2"], ["A", "B"])
    assert schema["required"] == ["1", "2"] and schema["additionalProperties"] is False
    row = schema["properties"]["1"]
    assert [item["enum"] for item in row["prefixItems"]] == [list(SENTIMENTS), list(PRIORITIES), ["A", "B"]]
    assert row["minItems"] == row["maxItems"] == 3 and row["items"] is False


@pytest.mark.parametrize("behaviour", ["original_shape", "labels_list", "fenced"])
@BOTH
def test_other_answer_shapes_are_accepted(kind, behaviour, fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour(behaviour)
    rows = make_rows(7)
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    assert len(fake_llm.chat_requests) == 1


def test_usage_is_counted(fake_llm: FakeLLMServer, make_provider):
    provider = make_provider("openai")
    provider.label(make_rows(3), TOPICS)
    stats = provider.stats()
    assert stats["prompt_tokens"] > 0 and stats["completion_tokens"] > 0 and stats["requests"] == 1


# -- response format negotiation -------------------------------------------------------------------------


def test_llama_cpp_refuses_json_schema_and_json_object_with_schema_is_remembered(make_provider, sleeps):
    seen = []
    with FakeLLMServer(server="llama.cpp") as fake:
        provider = make_provider("openai", base_url=fake.openai_url, on_format=lambda cfg, fmt: seen.append(fmt))
        rows = make_rows(3)
        assert provider.label(rows, TOPICS) == expected(rows)
        assert [r.status for r in fake.chat_requests] == [500, 200]
        sent = [r.body["response_format"] for r in fake.chat_requests]
        assert sent[0]["type"] == "json_schema" and sent[1] == {"type": "json_object",
                                                                "schema": build_schema(["1", "2", "3"], TOPICS)}
        assert sleeps == [] and provider.retries == 0 and seen == ["json_object_schema"]
        assert provider.stats()["rejected_formats"][0].startswith("json_schema: HTTP 500")
        # remembered: the same provider and a new one for the same model start at json_object + schema
        provider.label(make_rows(2, "b"), TOPICS)
        again = make_provider("openai", base_url=fake.openai_url)
        again.label(make_rows(2, "c"), TOPICS)
        assert [r.status for r in fake.chat_requests[2:]] == [200, 200]
        assert fake.shape_errors == []


def test_openai_refuses_a_schema_in_json_object_and_keeps_json_schema(make_provider):
    with FakeLLMServer(server="openai") as fake:
        make_provider("openai", base_url=fake.openai_url).label(make_rows(2), TOPICS)
        assert [r.status for r in fake.chat_requests] == [200]
        formats.forget_all()
        pinned = make_provider("openai", base_url=fake.openai_url, response_format="json_object_schema")
        rows = make_rows(2)
        assert pinned.label(rows, TOPICS) == expected(rows)
        assert [r.status for r in fake.chat_requests[1:]] == [400, 200]
        assert fake.chat_requests[-1].body["response_format"] == {"type": "json_object"}


def test_a_format_negotiated_earlier_is_where_a_model_starts(fake_llm: FakeLLMServer, make_provider):
    make_provider("openai", negotiated_format="json_object").label(make_rows(1), TOPICS)
    assert fake_llm.chat_requests[0].body["response_format"] == {"type": "json_object"}


def test_old_ollama_gets_json_mode(make_provider):
    with FakeLLMServer(server="ollama-0.4") as fake:
        provider = make_provider("ollama", base_url=fake.ollama_url)
        rows = make_rows(4)
        assert provider.label(rows, TOPICS) == expected(rows)
        assert [r.status for r in fake.chat_requests] == [400, 200]
        assert fake.chat_requests[1].body["format"] == "json" and provider.format == "json"


def test_every_format_refused_fails_the_chunk(fake_llm: FakeLLMServer, make_provider):
    from dallosh.llm.chat import FormatRejected

    provider = make_provider("openai")

    def refuse(request):
        raise FormatRejected(f"HTTP 400: response_format {request.fmt} unsupported")

    provider._complete = refuse
    attempt = provider.label_partial(make_rows(2), TOPICS)
    assert attempt.labels == {} and "refused every response format" in attempt.failures[0][1]
    assert [fmt for fmt, _ in provider.rejected_formats] == list(provider.format_ladder) == list(
        formats.LADDERS["openai"])


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
def test_a_bad_answer_is_asked_again_with_some_temperature(kind, fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("bad_json", times=1)
    rows = make_rows(3)
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    assert sizes(fake_llm) == [3, 3] and temperatures(fake_llm) == [0, LLM_RETRY_TEMPERATURE]
    assert sleeps == []  # the server is fine: no backoff


@BOTH
def test_a_repeated_bad_answer_halves_the_batch(kind, fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("bad_json", times=2)
    rows = make_rows(10)
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    assert sizes(fake_llm) == [10, 10, 5, 5]
    assert [r.texts for r in fake_llm.chat_requests[2:]] == [[r.text for r in rows[:5]], [r.text for r in rows[5:]]]


def test_an_answer_cut_by_the_token_limit_halves_at_once(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("truncated", times=1)
    rows = make_rows(10)
    assert make_provider("openai").label(rows, TOPICS) == expected(rows)
    assert sizes(fake_llm) == [10, 5, 5]


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
def test_missing_rows_are_asked_again_in_a_smaller_request(kind, fake_llm: FakeLLMServer, make_provider, sleeps):
    fake_llm.set_behaviour("missing_ids", times=1, drop=3)
    rows = make_rows(10)
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    first, second = fake_llm.chat_requests
    assert len(first.keys) == 10
    assert second.payload == {"1": rows[7].text, "2": rows[8].text, "3": rows[9].text}
    assert sleeps == []  # a partial answer is not a server fault: no backoff


def test_rows_still_missing_after_retries_raise(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("missing_ids", drop=1)
    provider = make_provider(retry_requests=2)
    with pytest.raises(ProviderError, match="missing or with invalid values"):
        provider.label(make_rows(5), TOPICS)
    assert sizes(fake_llm) == [5, 1, 1]


@BOTH
def test_invalid_enum_values_are_asked_again(kind, fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("wrong_enum", times=1)
    rows = make_rows(4)
    assert make_provider(kind).label(rows, TOPICS) == expected(rows)
    assert sizes(fake_llm) == [4, 4]


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


# -- partial results and the circuit breaker ------------------------------------------------------------


def test_a_failed_chunk_keeps_the_chunks_that_worked(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("server_error", times=2)  # the first chunk fails twice: its retries are spent
    provider = make_provider(retry_requests=1)
    rows = make_rows(ROWS_PER_REQUEST * 2)
    attempt = provider.label_partial(rows, TOPICS)
    assert attempt.labels == expected(rows[ROWS_PER_REQUEST:])
    assert attempt.failed_ids == [r.id for r in rows[:ROWS_PER_REQUEST]]
    assert "HTTP 500" in attempt.failures[0][1]
    assert not provider.breaker.is_open  # one failed chunk, then a success


def test_the_circuit_opens_after_repeated_failed_chunks(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("server_error")
    provider = make_provider(retry_requests=0)
    rows = make_rows(ROWS_PER_REQUEST * 4)
    attempt = provider.label_partial(rows, TOPICS)
    assert attempt.labels == {} and len(attempt.failed_ids) == len(rows)
    assert len(fake_llm.chat_requests) == LLM_BREAKER_FAILURES  # the other chunks were not sent
    assert "circuit open" in attempt.failures[-1][1] and "HTTP 500" in attempt.failures[-1][1]


def test_the_circuit_lets_one_chunk_try_after_the_cool_down(fake_llm: FakeLLMServer, make_provider):
    clock = FakeClock()
    fake_llm.set_behaviour("server_error")
    provider = make_provider(retry_requests=0, clock=clock)
    provider.label_partial(make_rows(ROWS_PER_REQUEST * 3), TOPICS)
    assert provider.breaker.is_open
    fake_llm.set_behaviour("ok")
    fake_llm.reset()
    rows = make_rows(ROWS_PER_REQUEST * 2, "b")
    assert provider.label_partial(rows, TOPICS).labels == {}  # still cooling down: nothing sent
    assert fake_llm.chat_requests == []
    clock.advance(LLM_BREAKER_COOLDOWN_S)
    assert provider.label_partial(rows, TOPICS).labels == expected(rows)  # the trial closed the circuit
    assert not provider.breaker.is_open


def test_a_refusal_retrying_cannot_fix_opens_the_circuit_at_once(fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("requires_api_key", key="sk-right")
    provider = make_provider(api_key="sk-wrong")
    attempt = provider.label_partial(make_rows(ROWS_PER_REQUEST * 3), TOPICS)
    assert len(fake_llm.chat_requests) == 1 and len(attempt.failed_ids) == ROWS_PER_REQUEST * 3


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
def test_concurrency_sends_requests_at_the_same_time(kind, fake_llm: FakeLLMServer, make_provider):
    fake_llm.set_behaviour("slow", seconds=0.3)  # each answer takes long enough for the others to arrive meanwhile
    rows = make_rows(ROWS_PER_REQUEST * 4)
    n_requests = math.ceil(len(rows) / ROWS_PER_REQUEST)

    # A generous client timeout: under load, 4 answers of 0.3 s served together took longer than the suite's 0.5 s
    # and were retried (8 requests seen); this test is about overlap, not timeouts.
    sequential = make_provider(kind, concurrency=1, timeout=10.0).label(rows, TOPICS)
    assert fake_llm.max_in_flight == 1  # negative control: one at a time
    fake_llm.reset()
    parallel = make_provider(kind, concurrency=n_requests, timeout=10.0).label(rows, TOPICS)

    assert sequential == parallel == expected(rows)
    assert fake_llm.max_in_flight >= 2  # the server saw requests overlap
    assert len(fake_llm.chat_requests) == n_requests


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

KEYS = {"1": "111", "2": "222"}


def test_parse_keyed_tuples_and_tolerant_values():
    text = 'Voici : {"1": ["Négatif", 2.0, "réseau"], "2": ["positive", "0", "SERVICE CLIENT"]} Bonne journée'
    assert parse_answer(text, KEYS, TOPICS) == {"111": Label("negative", 2, "Réseau"),
                                                "222": Label("positive", 0, "Service Client")}


def test_parse_objects_per_key_and_labels_lists_with_keys_or_ids():
    objects = {"1": {"sentiment": "neutral", "priority": 1, "topic": "Offres"}, "2": {"s": "negative", "p": 2,
                                                                                      "t": "Autre"}}
    assert parse_answer(json.dumps(objects), KEYS, TOPICS) == {"111": Label("neutral", 1, "Offres"),
                                                              "222": Label("negative", 2, "Autre")}
    listed = [{"id": "222", "sentiment": "neutral", "priority": 0, "topic": "Autre"},
              {"key": "1", "sentiment": "positive", "priority": 0, "topic": "Autre"}]
    assert parse_answer(json.dumps({"labels": listed}), KEYS, TOPICS) == {"222": Label("neutral", 0, "Autre"),
                                                                          "111": Label("positive", 0, "Autre")}


def test_parse_drops_invalid_values_unknown_keys_and_repeats():
    text = json.dumps({"1": ["angry", 1, "Autre"], "2": ["neutral", True, "Autre"], "9": ["neutral", 0, "Autre"]})
    assert parse_answer(text, KEYS, TOPICS) == {}
    first_wins = [{"id": "1", "sentiment": "neutral", "priority": 0, "topic": "Autre"},
                  {"id": "1", "sentiment": "negative", "priority": 2, "topic": "Autre"}]
    assert parse_answer(json.dumps(first_wins), KEYS, TOPICS) == {"111": Label("neutral", 0, "Autre")}


def test_parse_original_shape_maps_by_position():
    text = json.dumps({"analysis": ["negative", "neutre"], "priority": ["2", 0], "topics": ["Offres", "Nope"]})
    assert parse_answer(text, KEYS, TOPICS) == {"111": Label("negative", 2, "Offres")}
    with pytest.raises(BadAnswer, match="do not match"):
        parse_answer(json.dumps({"analysis": ["negative"], "priority": [2], "topics": ["Offres"]}), KEYS, TOPICS)


@pytest.mark.parametrize("text", ["", "nope", '{"labels": "x"}', "42", "```json\n{bad\n```"])
def test_parse_rejects_unusable_answers(text):
    with pytest.raises(BadAnswer):
        parse_answer(text, KEYS, TOPICS)


def test_parse_retry_after_forms():
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: no wait
