"""Ollama native API (``/api/chat``) through the official ``ollama`` client: local or remote servers."""

from __future__ import annotations

import json
import threading
from typing import Any

import httpx
import ollama
import pydantic

from dallosh.llm.chat import ChatProvider, CompletionError, parse_retry_after, status_error


class OllamaProvider(ChatProvider):
    """Labels with an Ollama model; ``format`` carries the JSON schema so decoding stays inside the enums."""

    protocol = "ollama"

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

    def _complete(self, system: str, user: str, schema: dict[str, Any]) -> str:
        self._last.retry_after = None
        try:
            response = self._client.chat(
                model=self.model,
                messages=[{"role": "system", "content": system}, {"role": "user", "content": user}],
                format=schema,
                options={"temperature": 0},
                stream=False,
            )
        except ollama.ResponseError as exc:
            retry_after = parse_retry_after(getattr(self._last, "retry_after", None))
            raise status_error(exc.status_code, exc.error, retry_after, secret=self.cfg.api_key) from None
        except httpx.TimeoutException:
            raise CompletionError(f"no answer within {self.timeout:g} s (timeout)", retryable=True) from None
        except (ConnectionError, httpx.TransportError) as exc:
            raise CompletionError(
                f"cannot reach the Ollama server at {self.cfg.base_url} ({type(exc).__name__})", retryable=True
            ) from None
        except (json.JSONDecodeError, pydantic.ValidationError):
            raise CompletionError("the server's response is not Ollama chat JSON", retryable=True) from None
        return response.message.content or ""

    def close(self) -> None:
        """Release pooled connections (providers are short-lived per task)."""
        self._client.close()
