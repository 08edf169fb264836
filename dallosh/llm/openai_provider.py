"""OpenAI-compatible ``POST {base_url}/chat/completions`` (hosted APIs, vLLM, LM Studio, Ollama's /v1...).

The ``ollama`` client does not speak this API, so it is plain httpx. ``base_url`` includes the version prefix,
e.g. ``https://api.example.com/v1``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

from dallosh.llm.chat import ChatProvider, CompletionError, parse_retry_after, status_error

#: Words in a 400 answer that mean "this server does not support json_schema response_format".
_SCHEMA_UNSUPPORTED_HINTS = ("response_format", "json_schema")


class OpenAICompatibleProvider(ChatProvider):
    """Labels with any server exposing the OpenAI chat-completions API."""

    protocol = "openai"

    def _connect(self) -> None:
        self.url = f"{self.cfg.base_url.rstrip('/')}/chat/completions"
        headers = {"Content-Type": "application/json", "Accept": "application/json", **self.auth_headers()}
        self._client = httpx.Client(headers=headers, timeout=self.timeout, follow_redirects=True)
        #: Falls back to plain JSON mode once if the server rejects structured outputs.
        self.use_json_schema = True

    def _complete(self, system: str, user: str, schema: dict[str, Any]) -> str:
        body: dict[str, Any] = {
            "model": self.model,
            "messages": [{"role": "system", "content": system}, {"role": "user", "content": user}],
            "temperature": 0,
        }
        if self.use_json_schema:
            body["response_format"] = {
                "type": "json_schema",
                "json_schema": {"name": "labels", "schema": schema, "strict": True},
            }
        else:
            body["response_format"] = {"type": "json_object"}
        try:
            response = self._client.post(self.url, json=body)
        except httpx.TimeoutException:
            raise CompletionError(f"no answer within {self.timeout:g} s (timeout)", retryable=True) from None
        except httpx.TransportError as exc:
            raise CompletionError(
                f"cannot reach {self.url} ({type(exc).__name__})", retryable=True
            ) from None
        if response.status_code >= 400:
            detail = _error_detail(response)
            if (
                response.status_code == 400
                and self.use_json_schema
                and any(h in detail.lower() for h in _SCHEMA_UNSUPPORTED_HINTS)
            ):
                self.use_json_schema = False
                raise CompletionError(
                    "server rejected json_schema response_format; retrying in JSON mode", retryable=True,
                    retry_after=0,
                )
            raise status_error(
                response.status_code, detail, parse_retry_after(response.headers.get("retry-after")),
                secret=self.cfg.api_key,
            )
        try:
            data = response.json()
            content = data["choices"][0]["message"]["content"]
        except (json.JSONDecodeError, KeyError, IndexError, TypeError):
            raise CompletionError(
                "the server's response is not chat-completions JSON", retryable=True
            ) from None
        return content if isinstance(content, str) else ""

    def close(self) -> None:
        """Release pooled connections (providers are short-lived per task)."""
        self._client.close()


def _error_detail(response: httpx.Response) -> str:
    try:
        data = response.json()
    except json.JSONDecodeError:
        return response.text
    error = data.get("error") if isinstance(data, dict) else None
    if isinstance(error, dict):
        return str(error.get("message") or error)
    return str(error or data)
