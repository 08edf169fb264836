"""The one fake LLM server every test uses: real HTTP on loopback, both Ollama and OpenAI-compatible APIs.

Tests exercise the real ``ollama`` client and real httpx against it, so timeouts, status codes, headers and
JSON handling are the real thing; only the "model" is a keyword rule (:func:`expected_label`).

Usage::

    with FakeLLMServer() as server:
        server.set_behaviour("rate_limited", times=2, retry_after=1)
        ...  # point a provider at server.ollama_url or server.openai_url
        assert len(server.chat_requests) == 3

Behaviours (``set_behaviour(name, **params)``; ``times=N`` limits a fault to the first N chat requests after
the call, ``times=None`` means every request):

- ``ok``: correct ``{"labels": [...]}`` answers.
- ``slow(seconds=0.3)``: every chat request waits ``seconds`` then answers correctly.
- ``rate_limited(times=None, retry_after=1)``: HTTP 429 with ``Retry-After`` (omitted if ``retry_after=None``).
- ``server_error(times=None, message="internal error")``: HTTP 500 with ``message`` in the body.
- ``bad_json(times=None)``: the model's content is not JSON.
- ``missing_ids(times=None, drop=1)``: the last ``drop`` labels of each answer are left out.
- ``wrong_enum(times=None)``: sentiment/topic values outside the allowed enums for every row.
- ``wrong_lengths(times=None)``: the original spec's shape with one element missing from each list.
- ``original_shape``: the original spec's ``{"analysis": [], "priority": [], "topics": []}``, correct lengths.
- ``fenced``: correct labels wrapped in a ```json fence, priorities as strings.
- ``timeout(times=None, seconds=2)``: waits ``seconds`` (longer than the test client's timeout), then answers.
- ``requires_api_key(key="test-key")``: HTTP 401 unless ``Authorization: Bearer <key>``; otherwise ``ok``.
- ``unknown_model``: HTTP 404 "model not found".
- ``rejects_json_schema``: OpenAI API answers 400 to ``response_format.type == "json_schema"``.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BEHAVIOURS: tuple[str, ...] = (
    "ok",
    "slow",
    "rate_limited",
    "server_error",
    "bad_json",
    "missing_ids",
    "wrong_enum",
    "wrong_lengths",
    "original_shape",
    "fenced",
    "timeout",
    "requires_api_key",
    "unknown_model",
    "rejects_json_schema",
)
#: Behaviours that misbehave only for the first ``times`` chat requests.
_COUNTED = {"rate_limited", "server_error", "bad_json", "missing_ids", "wrong_enum", "wrong_lengths", "timeout"}
_DEFAULTS: dict[str, dict[str, Any]] = {
    "slow": {"seconds": 0.3},
    "rate_limited": {"retry_after": 1},
    "server_error": {"message": "internal error"},
    "missing_ids": {"drop": 1},
    "timeout": {"seconds": 2.0},
    "requires_api_key": {"key": "test-key"},
}
CHAT_PATHS = ("/api/chat", "/v1/chat/completions")
FAKE_MODEL = "fake-model"


# -- the "model": a deterministic keyword rule ---------------------------------------------------------


def _fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


_NEGATIVE = ("panne", "nul", "probleme", "bug", "lent", "coupe", "arnaque", "inadmissible", "honte", "marre",
             "broken", "down", "worst", "angry", "bad")
_POSITIVE = ("merci", "super", "genial", "bravo", "parfait", "top", "thanks", "great", "love")
_TOPIC_WORDS: dict[str, tuple[str, ...]] = {
    "reseau": ("reseau", "4g", "5g", "fibre", "connexion", "internet", "signal", "network", "debit", "panne"),
    "facturation": ("facture", "facturation", "prelevement", "remboursement", "paiement", "bill"),
    "service client": ("service client", "conseiller", "hotline", "sav", "support"),
    "materiel": ("box", "freebox", "routeur", "decodeur", "telephone", "sim"),
    "offres": ("offre", "forfait", "abonnement", "promo", "tarif", "prix"),
}


def _has_word(folded: str, words: tuple[str, ...]) -> bool:
    return any(re.search(rf"\b{re.escape(w)}\b", folded) for w in words)


def expected_label(text: str, engagement: int, topics: list[str]) -> dict[str, Any]:
    """What the fake model answers for one row (tests compare provider output with this)."""
    folded = _fold(text)
    if _has_word(folded, _NEGATIVE):
        sentiment = "negative"
    elif _has_word(folded, _POSITIVE):
        sentiment = "positive"
    else:
        sentiment = "neutral"
    if sentiment == "negative":
        priority = 2 if engagement >= 10 or "urgent" in folded else 1
    else:
        priority = 1 if "?" in text else 0
    by_fold = {_fold(t): t for t in topics}
    topic = next((t for t in topics if _fold(t) and _fold(t) in folded), None)
    if topic is None:
        for key, words in _TOPIC_WORDS.items():
            if key in by_fold and _has_word(folded, words):
                topic = by_fold[key]
                break
    if topic is None:
        topic = by_fold.get("autre", topics[-1] if topics else "Autre")
    return {"sentiment": sentiment, "priority": priority, "topic": topic}


# -- recording -------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request the server received. ``repr`` masks the Authorization header."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    raw_body: bytes = field(default=b"", repr=False)

    def __repr__(self) -> str:
        headers = {k: ("***" if k.lower() == "authorization" else v) for k, v in self.headers.items()}
        return f"RecordedRequest({self.method} {self.path}, headers={headers}, body={_short(self.body)})"

    @property
    def authorization(self) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == "authorization"), None)

    @property
    def bearer(self) -> str | None:
        """The API key sent as ``Authorization: Bearer <key>``, or None."""
        auth = self.authorization
        return auth[len("Bearer ") :] if auth and auth.startswith("Bearer ") else None

    @property
    def payload(self) -> dict[str, Any]:
        """The JSON the client put in its last user message (``{"topics": [...], "rows": [...]}``)."""
        if not isinstance(self.body, dict):
            return {}
        users = [m for m in self.body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
        if not users:
            return {}
        content = users[-1].get("content") or ""
        for candidate in (content, content[content.find("{") :] if "{" in content else ""):
            try:
                data = json.loads(candidate)
            except (json.JSONDecodeError, TypeError):
                continue
            if isinstance(data, dict):
                return data
        return {}

    @property
    def rows(self) -> list[dict[str, Any]]:
        rows = self.payload.get("rows")
        return rows if isinstance(rows, list) else []

    @property
    def row_ids(self) -> list[str]:
        return [str(r.get("id")) for r in self.rows if isinstance(r, dict)]


def _short(body: Any) -> str:
    text = json.dumps(body, ensure_ascii=False) if body is not None else "None"
    return text if len(text) <= 120 else text[:117] + "..."


# -- the server ------------------------------------------------------------------------------------------


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - signature from the base class
        pass  # keep pytest output clean

    def do_GET(self) -> None:  # noqa: N802 - http.server naming
        self.server.fake._handle(self, "GET")

    def do_POST(self) -> None:  # noqa: N802 - http.server naming
        self.server.fake._handle(self, "POST")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping in ``timeout`` must not block shutdown
    fake: FakeLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that gave up (timeouts) close sockets under us; that is expected


class FakeLLMServer:
    """Context manager running the fake server on a free loopback port in a background thread."""

    def __init__(self, behaviour: str = "ok", **params: Any):
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._httpd: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.set_behaviour(behaviour, **params)

    # lifecycle

    def start(self) -> FakeLLMServer:
        self._stop.clear()
        self._httpd = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._httpd.fake = self
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-llm", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()  # wakes handlers sleeping in slow/timeout
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def __enter__(self) -> FakeLLMServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # addresses

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ollama_url(self) -> str:
        return self.url

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    # behaviour and records

    def set_behaviour(self, name: str, **params: Any) -> None:
        """Switch behaviour now (also mid-test); resets the ``times`` counter."""
        if name not in BEHAVIOURS:
            raise ValueError(f"unknown behaviour {name!r}; choose one of {', '.join(BEHAVIOURS)}")
        merged = {**_DEFAULTS.get(name, {}), "times": None, **params}
        with self._lock:
            self.behaviour = name
            self.params = merged
            self._faults_served = 0

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def chat_requests(self) -> list[RecordedRequest]:
        """Only labelling requests (both APIs)."""
        return [r for r in self.requests if r.path in CHAT_PATHS]

    def reset(self) -> None:
        """Forget recorded requests (behaviour unchanged)."""
        with self._lock:
            self._requests.clear()

    # request handling

    def _handle(self, handler: _Handler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length) if length else b""
        try:
            body = json.loads(raw) if raw else None
        except json.JSONDecodeError:
            body = None
        path = handler.path.split("?", 1)[0]
        record = RecordedRequest(method, path, dict(handler.headers.items()), body, raw)
        is_chat = method == "POST" and path in CHAT_PATHS
        with self._lock:
            self._requests.append(record)
            name, params = self.behaviour, dict(self.params)
            fault = True
            if name in _COUNTED and is_chat:
                times = params.get("times")
                fault = times is None or self._faults_served < times
                if fault:
                    self._faults_served += 1
        openai = path.startswith("/v1/")

        if name == "requires_api_key" and record.bearer != params["key"]:
            return self._error(handler, 401, "unauthorized: invalid or missing API key", openai)
        if method == "GET":
            return self._get(handler, path)
        if not is_chat:
            return self._error(handler, 404, f"no route for POST {path}", openai)
        if name == "unknown_model":
            model = body.get("model") if isinstance(body, dict) else None
            return self._error(handler, 404, f"model '{model}' not found", openai)
        if name == "slow" or (name == "timeout" and fault):
            self._stop.wait(float(params["seconds"]))
        if name == "rate_limited" and fault:
            headers = {} if params["retry_after"] is None else {"Retry-After": str(params["retry_after"])}
            return self._error(handler, 429, "rate limit exceeded", openai, headers)
        if name == "server_error" and fault:
            return self._error(handler, 500, str(params["message"]), openai)
        if name == "rejects_json_schema" and openai:
            fmt = (body or {}).get("response_format") or {}
            if fmt.get("type") == "json_schema":
                return self._error(handler, 400, "response_format json_schema is not supported", openai)
        content = self._content(record, name if fault else "ok", params)
        model = (body or {}).get("model", FAKE_MODEL)
        if openai:
            answer: dict[str, Any] = {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": 0,
                "model": model,
                "choices": [
                    {"index": 0, "message": {"role": "assistant", "content": content}, "finish_reason": "stop"}
                ],
            }
        else:
            answer = {
                "model": model,
                "created_at": "2024-01-01T00:00:00Z",
                "message": {"role": "assistant", "content": content},
                "done": True,
                "done_reason": "stop",
            }
        self._send(handler, 200, answer)

    def _content(self, record: RecordedRequest, name: str, params: dict[str, Any]) -> str:
        topics = [t for t in record.payload.get("topics") or [] if isinstance(t, str)]
        rows = [r for r in record.rows if isinstance(r, dict)]
        labels = [
            {"id": str(r.get("id")), **expected_label(str(r.get("text", "")), int(r.get("engagement") or 0), topics)}
            for r in rows
        ]
        if name == "bad_json":
            return '{"labels": [{"id": oops'
        if name == "missing_ids":
            drop = int(params["drop"])
            labels = labels[: max(0, len(labels) - drop)]
        if name == "wrong_enum":
            labels = [{**lab, "sentiment": "furious", "topic": "Weather"} for lab in labels]
        if name in ("original_shape", "wrong_lengths"):
            cut = 1 if name == "wrong_lengths" else 0
            shape = {
                "analysis": [lab["sentiment"] for lab in labels][cut:],
                "priority": [lab["priority"] for lab in labels][cut:],
                "topics": [lab["topic"] for lab in labels][cut:],
            }
            return json.dumps(shape, ensure_ascii=False)
        if name == "fenced":
            labels = [{**lab, "priority": str(lab["priority"])} for lab in labels]
            return "```json\n" + json.dumps({"labels": labels}, ensure_ascii=False) + "\n```"
        return json.dumps({"labels": labels}, ensure_ascii=False)

    def _get(self, handler: _Handler, path: str) -> None:
        if path == "/api/version":
            return self._send(handler, 200, {"version": "0.0.0-fake"})
        if path == "/api/tags":
            model = {
                "name": f"{FAKE_MODEL}:latest",
                "model": f"{FAKE_MODEL}:latest",
                "modified_at": "2024-01-01T00:00:00Z",
                "size": 1,
                "digest": "0" * 64,
                "details": {"format": "gguf", "family": "fake", "parameter_size": "1B"},
            }
            return self._send(handler, 200, {"models": [model]})
        if path == "/v1/models":
            return self._send(
                handler, 200, {"object": "list", "data": [{"id": FAKE_MODEL, "object": "model", "owned_by": "fake"}]}
            )
        return self._error(handler, 404, f"no route for GET {path}", path.startswith("/v1/"))

    def _error(
        self, handler: _Handler, status: int, message: str, openai: bool, headers: dict[str, str] | None = None
    ) -> None:
        body: dict[str, Any] = (
            {"error": {"message": message, "type": "fake_error", "code": status}} if openai else {"error": message}
        )
        self._send(handler, status, body, headers)

    @staticmethod
    def _send(handler: _Handler, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(body, ensure_ascii=False).encode()
        try:
            handler.send_response(status)
            handler.send_header("Content-Type", "application/json; charset=utf-8")
            handler.send_header("Content-Length", str(len(data)))
            for key, value in (headers or {}).items():
                handler.send_header(key, value)
            handler.end_headers()
            handler.wfile.write(data)
        except OSError:
            pass  # the client timed out and went away
