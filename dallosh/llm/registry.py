"""Turns model configs into providers, in fallback order, and tests a connection for the admin settings.

Adding a provider = write a ChatProvider subclass and ``register_provider("name", Factory)``; settings
entries then select it with ``data.provider``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import replace
from typing import Any

from dallosh.defaults import DEFAULT_TOPICS, LLM_REQUEST_TIMEOUT_S
from dallosh.errors import DalloshError, ValidationError
from dallosh.llm.base import Provider, Row
from dallosh.llm.chat import redact
from dallosh.llm.models import ModelConfig, select_models

#: ``factory(cfg, **kwargs) -> Provider``; kwargs are ChatProvider's options (``timeout``, ``sleep``, ``clock``,
#: ``topic_descriptions``, ``on_format``).
ProviderFactory = Callable[..., Provider]


def _ollama(cfg: ModelConfig, **kwargs: Any) -> Provider:
    from dallosh.llm.ollama_provider import OllamaProvider

    return OllamaProvider(cfg, **kwargs)


def _openai(cfg: ModelConfig, **kwargs: Any) -> Provider:
    from dallosh.llm.openai_provider import OpenAICompatibleProvider

    return OpenAICompatibleProvider(cfg, **kwargs)


_REGISTRY: dict[str, ProviderFactory] = {"ollama": _ollama, "openai": _openai}


def register_provider(name: str, factory: ProviderFactory) -> None:
    """Make ``data.provider == name`` build providers with ``factory`` (replaces an existing entry)."""
    key = name.strip().lower()
    if not key:
        raise ValueError("provider name must not be empty")
    _REGISTRY[key] = factory


def provider_names() -> list[str]:
    """Registered provider names, for the settings form's choice list."""
    return sorted(_REGISTRY)


def build_provider(cfg: ModelConfig, **kwargs: Any) -> Provider:
    """The provider for one model config; ValidationError if ``cfg.provider`` is not registered."""
    factory = _REGISTRY.get(cfg.provider)
    if factory is None:
        raise ValidationError(
            "data.provider", f"unknown provider {cfg.provider!r}; choose one of {', '.join(provider_names())}"
        )
    return factory(cfg, **kwargs)


def providers_for(ai: Mapping[str, Any] | None, **kwargs: Any) -> list[Provider]:
    """Providers in the order to try them (DESIGN.md §6); the built-in analyzer is always last."""
    from dallosh.llm.builtin import BuiltinAnalyzer  # lazy: keeps this module importable on its own

    providers = [build_provider(cfg, **kwargs) for cfg in select_models(ai)]
    providers.append(BuiltinAnalyzer())
    return providers


def check_connection(
    cfg: ModelConfig, *, timeout: float = LLM_REQUEST_TIMEOUT_S, **kwargs: Any
) -> tuple[bool, float, str]:
    """Send one tiny labelling request without retries: ``(ok, latency_ms, message)`` for the settings page."""
    probe = Row(id="connection-check", text="Merci, la fibre marche très bien aujourd'hui !")
    started = time.perf_counter()
    try:
        provider = build_provider(replace(cfg, retry_requests=0), timeout=timeout, **kwargs)
        try:
            labels = provider.label([probe], list(DEFAULT_TOPICS))
        finally:
            close = getattr(provider, "close", None)
            if callable(close):
                close()
    except DalloshError as exc:
        latency = (time.perf_counter() - started) * 1000
        return False, latency, redact(str(exc), cfg.api_key)
    except Exception as exc:  # the button must report any failure, not crash the settings page
        latency = (time.perf_counter() - started) * 1000
        return False, latency, redact(f"{type(exc).__name__}: {exc}", cfg.api_key)
    latency = (time.perf_counter() - started) * 1000
    label = labels[probe.id]
    return True, latency, (
        f"{cfg.provider}:{cfg.model} answered in {latency:.0f} ms "
        f"(sample label: {label.sentiment}, priority {label.priority}, {label.topic})"
    )

