"""Fixtures for LLM tests: the shared fake server (tests/mocking.py) and fast providers pointed at it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from dallosh.llm.chat import ChatProvider
from dallosh.llm.models import ModelConfig
from dallosh.llm.registry import build_provider
from tests.mocking import FakeLLMServer

#: Client timeout in tests; the fake's ``timeout`` behaviour waits longer than this.
TEST_TIMEOUT_S = 0.5



@pytest.fixture
def sleeps() -> list[float]:
    """Backoff delays requested by providers (they are recorded instead of slept)."""
    return []


@pytest.fixture
def make_provider(fake_llm: FakeLLMServer, sleeps: list[float]) -> Callable[..., ChatProvider]:
    """``make_provider("ollama" | "openai", **ModelConfig fields and provider options)`` -> provider on the fake,
    no real sleeping."""

    def make(provider: str = "ollama", *, timeout: float = TEST_TIMEOUT_S, **fields: Any) -> ChatProvider:
        options = {k: fields.pop(k) for k in ("clock", "topic_descriptions", "on_format") if k in fields}
        url = fake_llm.ollama_url if provider == "ollama" else fake_llm.openai_url
        values: dict[str, Any] = {
            "uid": f"{provider}-test",
            "model": "fake-model",
            "base_url": url,
            "provider": provider,
            "kind": "local" if provider == "ollama" else "external",
        }
        values.update(fields)
        built = build_provider(ModelConfig(**values), timeout=timeout, sleep=sleeps.append, **options)
        assert isinstance(built, ChatProvider)
        return built

    return make
