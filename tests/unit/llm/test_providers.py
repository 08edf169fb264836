"""Concrete providers, the registry, providers_for() and check_connection() against the fake server."""

from __future__ import annotations

import socket
from collections.abc import Sequence

import httpx
import ollama
import pytest

from dallosh.defaults import DEFAULT_TOPICS
from dallosh.errors import ValidationError
from dallosh.llm.base import Label, Provider, Row
from dallosh.llm.models import ModelConfig
from dallosh.llm.ollama_provider import OllamaProvider
from dallosh.llm.openai_provider import OpenAICompatibleProvider
from dallosh.llm.registry import (
    _REGISTRY,
    build_provider,
    check_connection,
    provider_names,
    providers_for,
    register_provider,
)
from tests.mocking import FakeLLMServer


def cfg(url: str, provider: str = "ollama", **fields) -> ModelConfig:
    return ModelConfig(uid=f"{provider}-1", model="fake-model", base_url=url, provider=provider, **fields)


def settings_entry(uid: str, url: str, **data) -> dict:
    return {"uid": uid, "data": {"model": f"model-{uid}", "baseUrl": url, **data}}


def test_names_and_page_size(fake_llm: FakeLLMServer):
    ollama_provider = build_provider(cfg(fake_llm.ollama_url, paginate_rows_limit=123))
    openai_provider = build_provider(cfg(fake_llm.openai_url, "openai", concurrency=3))
    assert isinstance(ollama_provider, OllamaProvider)
    assert isinstance(openai_provider, OpenAICompatibleProvider)
    assert ollama_provider.name == "ollama:fake-model"
    assert openai_provider.name == "openai:fake-model"
    assert ollama_provider.page_size == 123
    assert openai_provider.concurrency == 3
    assert openai_provider.url == f"{fake_llm.openai_url}/chat/completions"


def test_unknown_provider_is_a_validation_error():
    with pytest.raises(ValidationError) as info:
        build_provider(cfg("http://h", provider="nope"))
    assert info.value.field == "data.provider"
    assert "ollama" in str(info.value) and "openai" in str(info.value)


def test_register_provider_lets_a_newcomer_add_one(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("dallosh.llm.registry._REGISTRY", dict(_REGISTRY))

    class Echo(Provider):
        name = "echo"

        def __init__(self, config: ModelConfig, **kwargs):
            self.config = config

        def label(self, rows: Sequence[Row], topics: Sequence[str]) -> dict[str, Label]:
            return {r.id: Label("neutral", 0, topics[0]) for r in rows}

    register_provider("Echo", Echo)
    assert "echo" in provider_names()
    entry = settings_entry("x", "http://h", provider="echo")
    provider = build_provider(ModelConfig.from_settings(entry, "external"))
    assert isinstance(provider, Echo)
    assert provider.label([Row("1", "t")], ["T"]) == {"1": Label("neutral", 0, "T")}


def test_providers_for_follows_the_mode_and_ends_with_builtin(fake_llm: FakeLLMServer):
    ai = {
        "preferences": {"mode": "automatic", "default_local_model_id": "l2", "default_external_model_id": "e2"},
        "local": [settings_entry("l1", fake_llm.ollama_url), settings_entry("l2", fake_llm.ollama_url)],
        "external": [settings_entry("e1", fake_llm.openai_url), settings_entry("e2", fake_llm.openai_url)],
    }
    names = [p.name for p in providers_for(ai)]
    assert names == ["openai:model-e2", "openai:model-e1", "ollama:model-l2", "ollama:model-l1", "builtin"]
    ai["preferences"]["mode"] = "local"
    assert [p.name for p in providers_for(ai)] == ["ollama:model-l2", "ollama:model-l1", "builtin"]
    assert [p.name for p in providers_for({})] == ["builtin"]


def test_providers_for_passes_test_options(fake_llm: FakeLLMServer):
    slept: list[float] = []
    ai = {"preferences": {"mode": "local"}, "local": [settings_entry("l1", fake_llm.ollama_url)]}
    first = providers_for(ai, timeout=1.0, sleep=slept.append)[0]
    fake_llm.set_behaviour("server_error", times=1)
    first.label([Row("1", "Panne")], list(DEFAULT_TOPICS))
    assert len(slept) == 1


# -- check_connection ------------------------------------------------------------------------------------


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_check_connection_ok(kind, fake_llm: FakeLLMServer):
    url = fake_llm.ollama_url if kind == "ollama" else fake_llm.openai_url
    ok, latency_ms, message = check_connection(cfg(url, kind))
    assert ok is True
    assert latency_ms > 0
    assert f"{kind}:fake-model answered in" in message
    assert len(fake_llm.chat_requests) == 1
    assert len(fake_llm.chat_requests[0].keys) == 1


def test_check_connection_reports_slow_latency(fake_llm: FakeLLMServer):
    fake_llm.set_behaviour("slow", seconds=0.2)
    ok, latency_ms, _ = check_connection(cfg(fake_llm.ollama_url))
    assert ok and latency_ms >= 200


@pytest.mark.parametrize("kind", ["ollama", "openai"])
def test_check_connection_wrong_key(kind, fake_llm: FakeLLMServer):
    fake_llm.set_behaviour("requires_api_key", key="sk-good")
    url = fake_llm.ollama_url if kind == "ollama" else fake_llm.openai_url
    ok, _, message = check_connection(cfg(url, kind, api_key="sk-bad-secret"))
    assert ok is False
    assert "HTTP 401" in message
    assert "sk-bad-secret" not in message
    assert fake_llm.chat_requests[0].bearer == "sk-bad-secret"
    ok, _, _ = check_connection(cfg(url, kind, api_key="sk-good"))
    assert ok is True


def test_check_connection_does_not_retry(fake_llm: FakeLLMServer):
    fake_llm.set_behaviour("server_error")
    ok, _, message = check_connection(cfg(fake_llm.ollama_url, retry_requests=5))
    assert not ok and "HTTP 500" in message
    assert len(fake_llm.chat_requests) == 1


def test_check_connection_unreachable_and_timeout(fake_llm: FakeLLMServer):
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ok, _, message = check_connection(cfg(f"http://127.0.0.1:{port}/v1", "openai"))
    assert not ok and "cannot reach" in message
    fake_llm.set_behaviour("timeout", seconds=3)
    ok, latency_ms, message = check_connection(cfg(fake_llm.ollama_url), timeout=0.2)
    assert not ok and "timeout" in message
    assert latency_ms < 2000


def test_check_connection_unknown_model_and_provider(fake_llm: FakeLLMServer):
    fake_llm.set_behaviour("unknown_model")
    ok, _, message = check_connection(cfg(fake_llm.openai_url, "openai"))
    assert not ok and "HTTP 404" in message and "model" in message
    ok, _, message = check_connection(cfg(fake_llm.url, "mystery"))
    assert not ok and "unknown provider" in message


# -- the fake server itself (so other test folders can rely on it) -------------------------------------


def test_fake_server_speaks_ollama_and_openai_discovery(fake_llm: FakeLLMServer):
    client = ollama.Client(host=fake_llm.ollama_url)
    assert [m.model for m in client.list().models] == ["fake-model:latest"]
    assert httpx.get(f"{fake_llm.url}/api/version").json()["version"]
    models = httpx.get(f"{fake_llm.openai_url}/models").json()
    assert models["data"][0]["id"] == "fake-model"
    assert [r.path for r in fake_llm.requests] == ["/api/tags", "/api/version", "/v1/models"]
    assert fake_llm.chat_requests == []


def valid_body(fake_llm: FakeLLMServer) -> dict:
    """A labelling request exactly as the OpenAI-compatible provider sends it."""
    build_provider(cfg(fake_llm.openai_url, "openai")).label([Row("1", "Panne")], list(DEFAULT_TOPICS))
    body = fake_llm.chat_requests[-1].body
    fake_llm.reset()
    return body


def test_fake_server_behaviour_changes_at_runtime(fake_llm: FakeLLMServer):
    url = f"{fake_llm.openai_url}/chat/completions"
    body = valid_body(fake_llm)
    assert httpx.post(url, json=body).status_code == 200
    fake_llm.set_behaviour("rate_limited", times=1, retry_after=2)
    response = httpx.post(url, json=body)
    assert response.status_code == 429 and response.headers["retry-after"] == "2"
    assert httpx.post(url, json=body).status_code == 200
    with pytest.raises(ValueError, match="unknown behaviour"):
        fake_llm.set_behaviour("nonsense")
    fake_llm.reset()
    assert fake_llm.requests == []


@pytest.mark.parametrize("change, problem", [
    (lambda b: b["messages"].pop(0), "messages must be [system, user]"),
    (lambda b: b["messages"][1].update(content='{"topics": ["A"], "rows": []}'), "keys 1..n"),
    (lambda b: b["messages"][0].update(content="Label these."), "lists no topic"),
    (lambda b: b.pop("max_tokens"), "max_tokens must be sized"),
    (lambda b: b["response_format"]["json_schema"]["schema"]["properties"]["1"].update(maxItems=4), "maxItems"),
    (lambda b: b["response_format"]["json_schema"]["schema"].update(required=[]), "request keys"),
])
def test_fake_server_refuses_malformed_requests(fake_llm: FakeLLMServer, change, problem):
    """The double is strict: a request that lost part of the contract is refused and recorded."""
    body = valid_body(fake_llm)
    change(body)
    response = httpx.post(f"{fake_llm.openai_url}/chat/completions", json=body)
    assert response.status_code == 400 and problem in response.json()["error"]["message"]
    assert len(fake_llm.shape_errors) == 1
    fake_llm.shape_errors.clear()  # expected here: the fixture fails any other test that leaves one


@pytest.mark.parametrize("server, status", [("openai", 200), ("llama.cpp", 500), ("ollama", 200)])
def test_fake_servers_differ_on_json_schema(fake_llm: FakeLLMServer, server, status):
    body = valid_body(fake_llm)
    with FakeLLMServer(server=server) as other:
        assert httpx.post(f"{other.openai_url}/chat/completions", json=body).status_code == status


def test_fake_server_repr_hides_keys(fake_llm: FakeLLMServer):
    httpx.get(f"{fake_llm.url}/api/tags", headers={"Authorization": "Bearer sk-hidden"})
    (request,) = fake_llm.requests
    assert request.bearer == "sk-hidden"
    assert "sk-hidden" not in repr(request)


def test_the_builtin_analyzer_is_a_registered_fallback(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr("dallosh.llm.registry._REGISTRY", dict(_REGISTRY))
    assert "builtin" in _REGISTRY and _REGISTRY["builtin"].fallback
    assert "builtin" not in provider_names(), "not a protocol a model config may choose"
    with pytest.raises(ValidationError):
        build_provider(cfg("http://h", provider="builtin"))

    class Rules(Provider):
        name = "rules"

        def label(self, rows: Sequence[Row], topics: Sequence[str]) -> dict[str, Label]:
            return {r.id: Label("neutral", 0, topics[0]) for r in rows}

    register_provider("rules", lambda cfg, **kwargs: Rules(), fallback=True)
    assert [p.name for p in providers_for({})] == ["builtin", "rules"], "fallbacks end every list, in order"
