"""Ollama native API (``/api/chat``) through the official ``ollama`` client: local or remote servers.

Every request sends ``num_ctx`` (Ollama's default context is 2-4k tokens and it silently drops the start of a
longer prompt, i.e. the instructions) and ``num_predict`` sized from the request, and a negotiated ``format``.
"""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import ollama
import pydantic

from dallosh.llm import formats
from dallosh.llm.chat import ChatAnswer, ChatProvider, ChatRequest, CompletionError, format_error, parse_retry_after

#: Words of an Ollama error that point at the ``format`` field (older servers: "cannot unmarshal ... format").
FORMAT_WORDS: tuple[str, ...] = ("format", "schema", "grammar")


def ollama_format(fmt: str, schema: dict[str, Any]) -> dict[str, Any] | str | None:
    """The ``format`` field for a format of the ``ollama`` ladder (None: leave it out)."""
    if fmt == "schema":
        return schema
    if fmt == "json":
        return "json"
    return None


class OllamaProvider(ChatProvider):
    """Labels with an Ollama model; ``format`` carries the JSON schema so decoding stays inside the enums."""

    protocol = "ollama"
    format_ladder = formats.LADDERS["ollama"]

    def _connect(self) -> None:
        # ResponseError drops the headers; a response hook keeps Retry-After (per thread, for concurrency).
        self._last = threading.local()
        self._client = ollama.Client(
            host=self.cfg.base_url,
            headers=self.auth_headers() or None,
            timeout=self.timeout,
            event_hooks={"response": [self._remember_response]},
        )

    def _remember_response(self, response: httpx.Response) -> None:
        self._last.retry_after = response.headers.get("retry-after")

    def _complete(self, request: ChatRequest) -> ChatAnswer:
        self._last.retry_after = None
        try:
            response = self._client.chat(
                model=self.model,
                messages=[{"role": "system", "content": request.system},
                          {"role": "user", "content": request.user}],
                format=ollama_format(request.fmt, request.schema),
                options={"temperature": request.temperature, "num_ctx": request.num_ctx,
                         "num_predict": request.max_tokens},
                stream=False,
            )
        except ollama.ResponseError as exc:
            retry_after = parse_retry_after(getattr(self._last, "retry_after", None))
            raise format_error(exc.status_code, exc.error, request.fmt, retry_after, words=FORMAT_WORDS,
                               secret=self.cfg.api_key) from None
        except httpx.TimeoutException:
            raise CompletionError(f"no answer within {self.timeout:g} s (timeout)", retryable=True) from None
        except (ConnectionError, httpx.TransportError) as exc:
            raise CompletionError(
                f"cannot reach the Ollama server at {self.cfg.base_url} ({type(exc).__name__})", retryable=True
            ) from None
        except (json.JSONDecodeError, pydantic.ValidationError):
            raise CompletionError("the server's response is not Ollama chat JSON", retryable=True) from None
        return ChatAnswer(text=response.message.content or "", truncated=response.done_reason == "length",
                          prompt_tokens=response.prompt_eval_count or 0, completion_tokens=response.eval_count or 0)

    def close(self) -> None:
        """Release pooled connections (providers are short-lived per task)."""
        self._client.close()
