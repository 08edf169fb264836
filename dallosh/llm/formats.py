"""Response-format negotiation: the strongest output constraint each model's server accepts, remembered.

Servers differ: OpenAI and vLLM take ``response_format: {type: json_schema}``; llama.cpp's OpenAI-compatible
server (llama-cpp-python) answers it with HTTP 500 (a validation error) but takes ``{type: json_object, schema}``;
others only know ``json_object``; some nothing at all. A provider starts at the top of its ladder (or at the
format remembered for the model), steps down when the server rejects the format, and remembers where it
landed: for the process, and through an ``on_format`` callback (the worker stores it with the model's settings).
The prompt always describes the answer, so the last rung (``prompt``: no format field) still works.
"""

from __future__ import annotations

import threading

#: Formats of the built-in providers, strongest first (a provider's ``format_ladder``).
LADDERS: dict[str, tuple[str, ...]] = {
    # json_schema: {"type": "json_schema", "json_schema": {...}}; json_object_schema: {"type": "json_object",
    # "schema": {...}} (llama.cpp, Anyscale); json_object: JSON mode; prompt: no response_format.
    "openai": ("json_schema", "json_object_schema", "json_object", "prompt"),
    # schema: format=<JSON schema> (Ollama >= 0.5); json: format="json"; prompt: no format.
    "ollama": ("schema", "json", "prompt"),
}
#: The value of a model's ``responseFormat`` setting that means "negotiate".
AUTO = "auto"
#: Every value the settings accept.
CHOICES: tuple[str, ...] = (AUTO, *dict.fromkeys(f for ladder in LADDERS.values() for f in ladder))

_lock = threading.Lock()
_remembered: dict[tuple[str, str, str], str] = {}


def remembered(protocol: str, base_url: str, model: str) -> str | None:
    """The format this process last negotiated with this model, if any."""
    with _lock:
        return _remembered.get((protocol, base_url, model))


def remember(protocol: str, base_url: str, model: str, fmt: str) -> None:
    with _lock:
        _remembered[(protocol, base_url, model)] = fmt


def forget_all() -> None:
    """Tests start from a clean slate."""
    with _lock:
        _remembered.clear()


def starting_format(ladder: tuple[str, ...], *choices: str | None) -> str:
    """The first of ``choices`` that is on the ladder, else the top of the ladder."""
    return next((c for c in choices if c in ladder), ladder[0])


def weaker(ladder: tuple[str, ...], fmt: str) -> str | None:
    """The next format down the ladder, or None at the bottom."""
    index = ladder.index(fmt)
    return ladder[index + 1] if index + 1 < len(ladder) else None
