"""OpenAI-compatible ``POST {base_url}/chat/completions`` (hosted APIs, vLLM, LM Studio, llama.cpp, Ollama's /v1).

The ``ollama`` client does not speak this API, so it is plain httpx. ``base_url`` includes the version prefix,
e.g. ``https://api.example.com/v1``. The ``response_format`` sent is negotiated (:mod:`dallosh.llm.formats`).
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from dallosh.llm import formats
from dallosh.llm.chat import (
    ChatAnswer,
    ChatProvider,
    ChatRequest,
    CompletionError,
    format_error,
    parse_retry_after,
)


def response_format(fmt: str, schema: dict[str, Any]) -> dict[str, Any] | None:
    """The ``response_format`` field for a format of the ``openai`` ladder (None: leave it out)."""
    if fmt == "json_schema":
        return {"type": "json_schema", "json_schema": {"name": "labels", "schema": schema, "strict": True}}
    if fmt == "json_object_schema":
        return {"type": "json_object", "schema": schema}
    if fmt == "json_object":
        return {"type": "json_object"}
    return None


class OpenAICompatibleProvider(ChatProvider):
    """Labels with any server exposing the OpenAI chat-completions API."""

    protocol = "openai"
    format_ladder = formats.LADDERS["openai"]

    def _connect(self) -> None:
        self.url = f"{self.cfg.base_url.rstrip('/')}/chat/completions"
        headers = {"Content-Type": "application/json", "Accept": "application/json", **self.auth_headers()}
        self._client = httpx.Client(headers=headers, timeout=self.timeout, follow_redirects=True)

    def _complete(self, request: ChatRequest) -> ChatAnswer:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": request.system}, {"role": "user", "content": request.user}],
            "temperature": request.temperature,
            "max_tokens": request.max_tokens,
        }
        fmt = response_format(request.fmt, request.schema)
        if fmt is not None:
            body["response_format"] = fmt
        try:
            response = self._client.post(self.url, json=body)
        except httpx.TimeoutException:
            raise CompletionError(f"no answer within {self.timeout:g} s (timeout)", retryable=True) from None
        except httpx.TransportError as exc:
            raise CompletionError(f"cannot reach {self.url} ({type(exc).__name__})", retryable=True) from None
        if response.status_code >= 400:
            raise format_error(response.status_code, _error_detail(response), request.fmt,
                               parse_retry_after(response.headers.get("retry-after")), secret=self.cfg.api_key)
        try:
            data = response.json()
            choice = data["choices"][0]
            content = choice["message"]["content"]
        except (json.JSONDecodeError, KeyError, IndexError, TypeError):
            raise CompletionError("the server's response is not chat-completions JSON", retryable=True) from None
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        return ChatAnswer(text=content if isinstance(content, str) else "",
                          truncated=choice.get("finish_reason") == "length",
                          prompt_tokens=_count(usage.get("prompt_tokens")),
                          completion_tokens=_count(usage.get("completion_tokens")))

    def close(self) -> None:
        """Release pooled connections (providers are short-lived per task)."""
        self._client.close()


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _error_detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except json.JSONDecodeError:
        return response.text
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error or data)
