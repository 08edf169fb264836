"""Turns model configs into providers, in fallback order, and tests a connection for the admin settings.

Adding a provider = write a ChatProvider subclass and ``register_provider("name", Factory)``; settings
entries then select it with ``data.provider``. The built-in analyzer is registered the same way, as a
``fallback``: it needs no model config and ends every provider list.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from typing import Any

from dallosh.defaults import DEFAULT_TOPICS, LLM_REQUEST_TIMEOUT_S
from dallosh.errors import DalloshError, ValidationError
from dallosh.llm.base import Provider, Row
from dallosh.llm.chat import redact
from dallosh.llm.models import ModelConfig, select_models

#: ``factory(cfg, **kwargs) -> Provider``; kwargs are ChatProvider's options (``timeout``, ``sleep``, ``clock``,
#: ``topic_descriptions``, ``on_format``). A fallback's factory gets ``cfg=None``.
ProviderFactory = Callable[..., Provider]


@dataclass(frozen=True)
class Registration:
    factory: ProviderFactory
    #: Built for every task after the configured models, without a model config (the built-in analyzer);
    #: not offered in the settings form.
    fallback: bool = False


def _ollama(cfg: ModelConfig, **kwargs: Any) -> Provider:
    from dallosh.llm.ollama_provider import OllamaProvider

    return OllamaProvider(cfg, **kwargs)


def _openai(cfg: ModelConfig, **kwargs: Any) -> Provider:
    from dallosh.llm.openai_provider import OpenAICompatibleProvider

    return OpenAICompatibleProvider(cfg, **kwargs)


def _builtin(cfg: ModelConfig | None = None, **kwargs: Any) -> Provider:
    from dallosh.llm.builtin import BuiltinAnalyzer

    return BuiltinAnalyzer()  # offline: ChatProvider's network options do not apply


_REGISTRY: dict[str, Registration] = {}


def register_provider(name: str, factory: ProviderFactory, *, fallback: bool = False) -> None:
    """Make ``data.provider == name`` build providers with ``factory`` (replaces an existing entry); with
    ``fallback``, build one for every task instead, after the configured models."""
    key = name.strip().lower()
    if not key:
        raise ValueError("provider name must not be empty")
    _REGISTRY[key] = Registration(factory, fallback)


register_provider("ollama", _ollama)
register_provider("openai", _openai)
register_provider("builtin", _builtin, fallback=True)


def provider_names() -> list[str]:
    """Provider names a model config may choose, for the settings form's choice list."""
    return sorted(name for name, entry in _REGISTRY.items() if not entry.fallback)


def build_provider(cfg: ModelConfig, **kwargs: Any) -> Provider:
    """The provider for one model config; ValidationError if ``cfg.provider`` is not registered."""
    entry = _REGISTRY.get(cfg.provider)
    if entry is None or entry.fallback:
        raise ValidationError(
            "data.provider", f"unknown provider {cfg.provider!r}; choose one of {', '.join(provider_names())}"
        )
    return entry.factory(cfg, **kwargs)


def fallback_providers(**kwargs: Any) -> list[Provider]:
    """The providers that end every list (the built-in analyzer), in registration order."""
    return [entry.factory(None, **kwargs) for entry in _REGISTRY.values() if entry.fallback]


def providers_for(ai: Mapping[str, Any] | None, **kwargs: Any) -> list[Provider]:
    """Providers in the order to try them (DESIGN.md §6): the configured models, then the fallbacks."""
    return [*(build_provider(cfg, **kwargs) for cfg in select_models(ai)), *fallback_providers(**kwargs)]


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

