"""The one fake LLM server every test uses: real HTTP on loopback, both Ollama and OpenAI-compatible APIs.

Tests exercise the real ``ollama`` client and real httpx against it, so timeouts, status codes, headers and
JSON handling are the real thing. The fake is strict where real servers are, and stricter where a mistake of
ours would otherwise go unnoticed:

- ``server=`` picks whose rules the OpenAI-compatible route follows: ``openai`` (takes ``json_schema``; refuses
  ``json_object`` with a ``schema`` with 400, and JSON mode when no message says "json"), ``llama.cpp``
  (llama-cpp-python's server: HTTP 500 with a validation error for ``json_schema``; takes ``json_object`` with or
  without ``schema``), ``ollama`` (Ollama's /v1 takes every form), ``ollama-0.4`` (an Ollama before structured
  outputs: ``format`` must be ``"json"`` or absent). ``/api/chat`` always follows Ollama: without ``num_ctx``
  the context is 2,048 tokens and a longer prompt loses its beginning (the instructions), so the "model" answers
  prose; ``num_predict`` / ``max_tokens`` cut the answer (``done_reason`` / ``finish_reason`` ``length``).
- every labelling request is checked (:meth:`FakeLLMServer._check`): a system prompt listing the topics, a user
  message ``{"1": "<tweet>", ...}`` with consecutive keys, and, when a format carries one, a JSON schema with
  exactly those keys, ``[sentiment, priority, topic]`` enums matching the prompt's topics and ``minItems`` /
  ``maxItems``. A malformed request gets HTTP 400 and is listed in ``shape_errors`` (the test fixtures fail the
  test when that list is not empty).
- the "model" does not read the tweets: each label is a hash of the text as sent (:func:`expected_label`), chosen
  within the request's enums, so a label lands on the right row only if keys are mapped back correctly, and no
  keyword rule hides a prompt that lost its instructions.

Usage::

    with FakeLLMServer(server="llama.cpp") as fake:
        fake.set_behaviour("rate_limited", times=2, retry_after=1)
        ...  # point a provider at fake.ollama_url or fake.openai_url
        assert len(fake.chat_requests) == 3

Behaviours (``set_behaviour(name, **params)``; ``times=N`` limits a fault to the first N chat requests after
the call, ``times=None`` means every request):

- ``ok``: correct ``{"<key>": [sentiment, priority, topic]}`` answers.
- ``slow(seconds=0.3)``: every chat request waits ``seconds`` then answers correctly.
- ``rate_limited(times=None, retry_after=1)``: HTTP 429 with ``Retry-After`` (omitted if ``retry_after=None``).
- ``server_error(times=None, message="internal error")``: HTTP 500 with ``message`` in the body.
- ``bad_json(times=None)``: the model's content is not JSON.
- ``truncated(times=None)``: the answer stops halfway, with ``finish_reason`` / ``done_reason`` ``length``.
- ``missing_ids(times=None, drop=1)``: the last ``drop`` labels of each answer are left out.
- ``wrong_enum(times=None)``: sentiment/topic values outside the allowed enums for every row.
- ``wrong_lengths(times=None)``: the original spec's shape with one element missing from each list.
- ``original_shape``: the original spec's ``{"analysis": [], "priority": [], "topics": []}``, correct lengths.
- ``labels_list``: ``{"labels": [{"id": "<key>", "sentiment": ..., "priority": ..., "topic": ...}]}``.
- ``fenced``: correct labels wrapped in a ```json fence, priorities as strings.
- ``timeout(times=None, seconds=2)``: waits ``seconds`` (longer than the test client's timeout), then answers.
- ``requires_api_key(key="test-key")``: HTTP 401 unless ``Authorization: Bearer <key>``; otherwise ``ok``.
- ``unknown_model``: HTTP 404 "model not found".
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

BEHAVIOURS: tuple[str, ...] = (
    "ok",
    "slow",
    "rate_limited",
    "server_error",
    "bad_json",
    "truncated",
    "missing_ids",
    "wrong_enum",
    "wrong_lengths",
    "original_shape",
    "labels_list",
    "fenced",
    "timeout",
    "requires_api_key",
    "unknown_model",
)
SERVERS: tuple[str, ...] = ("openai", "llama.cpp", "ollama", "ollama-0.4")
#: Behaviours that misbehave only for the first ``times`` chat requests.
_COUNTED = {"rate_limited", "server_error", "bad_json", "truncated", "missing_ids", "wrong_enum", "wrong_lengths",
            "timeout"}
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
SENTIMENTS = ("negative", "neutral", "positive")
PRIORITIES = (0, 1, 2)
#: Ollama's context when a request sends no ``num_ctx``.
OLLAMA_DEFAULT_CTX = 2048
#: The fake's token estimate: characters per token (real tokenizers: ~3 on French tweets).
CHARS_PER_TOKEN = 3.5


# -- the "model" ----------------------------------------------------------------------------------------


def expected_label(text: str, topics: list[str]) -> dict[str, Any]:
    """What the fake model answers for a tweet (as sent, author tag included): a hash of it within the enums."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return {"sentiment": SENTIMENTS[digest[0] % 3], "priority": PRIORITIES[digest[1] % 3],
            "topic": topics[digest[2] % len(topics)] if topics else "Autre"}


def tokens(text: str) -> int:
    """The fake's token count for a text."""
    return math.ceil(len(text) / CHARS_PER_TOKEN)


def prompt_topics(system: str) -> list[str]:
    """The topic names listed in a system prompt (lines ``- <topic>: ...`` after the ``topic:`` heading)."""
    lines = system.splitlines()
    start = next((i for i, line in enumerate(lines) if line.lower().startswith("topic:")), None)
    if start is None:
        return []
    topics = []
    for line in lines[start + 1 :]:
        if not line.startswith("- "):
            break
        topics.append(line[2:].split(":", 1)[0].strip())
    return topics


# -- recording -------------------------------------------------------------------------------------------


@dataclass
class RecordedRequest:
    """One request the server received. ``repr`` masks the Authorization header."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any = None
    raw_body: bytes = field(default=b"", repr=False)
    #: The HTTP status the fake answered.
    status: int = 0

    def __repr__(self) -> str:
        headers = {k: ("***" if k.lower() == "authorization" else v) for k, v in self.headers.items()}
        return (f"RecordedRequest({self.method} {self.path} -> {self.status}, headers={headers}, "
                f"body={_short(self.body)})")

    @property
    def authorization(self) -> str | None:
        return next((v for k, v in self.headers.items() if k.lower() == "authorization"), None)

    @property
    def bearer(self) -> str | None:
        """The API key sent as ``Authorization: Bearer <key>``, or None."""
        auth = self.authorization
        return auth[len("Bearer ") :] if auth and auth.startswith("Bearer ") else None

    def message(self, role: str) -> str:
        if not isinstance(self.body, dict):
            return ""
        found = [m for m in self.body.get("messages") or [] if isinstance(m, dict) and m.get("role") == role]
        content = found[-1].get("content") if found else ""
        return content if isinstance(content, str) else ""

    @property
    def system(self) -> str:
        return self.message("system")

    @property
    def payload(self) -> dict[str, Any]:
        """The user message as JSON (``{"<key>": "<tweet>"}``), or {}."""
        try:
            data = json.loads(self.message("user"))
        except (json.JSONDecodeError, TypeError):
            return {}
        return data if isinstance(data, dict) else {}

    @property
    def keys(self) -> list[str]:
        return list(self.payload)

    @property
    def texts(self) -> list[str]:
        """The tweets of the request, as sent."""
        return [str(v) for v in self.payload.values()]

    @property
    def topics(self) -> list[str]:
        return prompt_topics(self.system)

    @property
    def schema(self) -> dict[str, Any] | None:
        """The answer's JSON schema the request carries, whichever API and format."""
        if not isinstance(self.body, dict):
            return None
        if self.path == "/api/chat":
            fmt = self.body.get("format")
            return fmt if isinstance(fmt, dict) else None
        fmt = self.body.get("response_format") or {}
        if fmt.get("type") == "json_schema":
            return (fmt.get("json_schema") or {}).get("schema")
        return fmt.get("schema")


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
        fake = self.server.fake
        with fake._lock:
            fake._in_flight += 1
            fake.max_in_flight = max(fake.max_in_flight, fake._in_flight)
        try:
            fake._handle(self, "POST")
        finally:
            with fake._lock:
                fake._in_flight -= 1


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True  # a handler sleeping in ``timeout`` must not block shutdown
    fake: FakeLLMServer

    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # clients that gave up (timeouts) close sockets under us; that is expected


class _Refused(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status


class FakeLLMServer:
    """Context manager running the fake server on a free loopback port in a background thread."""

    def __init__(self, behaviour: str = "ok", *, server: str = "openai", **params: Any):
        if server not in SERVERS:
            raise ValueError(f"unknown server {server!r}; choose one of {', '.join(SERVERS)}")
        self.server = server
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._requests: list[RecordedRequest] = []
        #: Requests refused because their shape is wrong (a bug of the client, not a server fault).
        self.shape_errors: list[str] = []
        #: Most POST requests handled at the same time since the last ``reset`` (concurrency seen by the server).
        self.max_in_flight = 0
        self._in_flight = 0
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
        """Forget recorded requests and the concurrency seen (behaviour unchanged)."""
        with self._lock:
            self._requests.clear()
            self.max_in_flight = 0

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
            return self._error(handler, record, 401, "unauthorized: invalid or missing API key", openai)
        if method == "GET":
            return self._get(handler, record, path)
        if not is_chat:
            return self._error(handler, record, 404, f"no route for POST {path}", openai)
        if name == "unknown_model":
            model = body.get("model") if isinstance(body, dict) else None
            return self._error(handler, record, 404, f"model '{model}' not found", openai)
        try:
            self._refuse_format(record, openai)
            self._check(record, openai)
        except _Refused as refusal:
            return self._error(handler, record, refusal.status, str(refusal), openai)
        if name == "slow" or (name == "timeout" and fault):
            self._stop.wait(float(params["seconds"]))
        if name == "rate_limited" and fault:
            headers = {} if params["retry_after"] is None else {"Retry-After": str(params["retry_after"])}
            return self._error(handler, record, 429, "rate limit exceeded", openai, headers)
        if name == "server_error" and fault:
            return self._error(handler, record, 500, str(params["message"]), openai)
        content = self._content(record, name if fault else "ok", params)
        limit = self._answer_limit(record, openai)
        truncated = (name == "truncated" and fault) or (limit is not None and tokens(content) > limit)
        if truncated:
            content = content[: len(content) // 2] if name == "truncated" else content[: int(limit * CHARS_PER_TOKEN)]
        if not openai and tokens(record.system + record.message("user")) > self._context(record):
            # Ollama keeps the end of a prompt longer than the context: the instructions are gone.
            content, truncated = "Bonjour ! Comment puis-je vous aider aujourd'hui ?", False
        self._answer(handler, record, content, truncated, openai)

    def _refuse_format(self, record: RecordedRequest, openai: bool) -> None:
        """What real servers refuse about the output format."""
        body = record.body if isinstance(record.body, dict) else {}
        if not openai:
            fmt = body.get("format")
            if isinstance(fmt, dict) and self.server == "ollama-0.4":
                raise _Refused(400, "json: cannot unmarshal object into Go struct field ChatRequest.format of type "
                                    "string")
            if fmt not in (None, "", "json") and not isinstance(fmt, dict):
                raise _Refused(400, f"invalid format: {fmt!r}")
            return
        fmt = body.get("response_format")
        if fmt is None:
            return
        kind = fmt.get("type") if isinstance(fmt, dict) else None
        if kind == "json_schema":
            if self.server == "llama.cpp":
                raise _Refused(500, "1 validation error:\n  {'type': 'literal_error', 'loc': ('body', "
                                    "'response_format', 'type'), 'msg': \"Input should be 'text' or 'json_object'\", "
                                    "'input': 'json_schema'}")
            if self.server == "ollama-0.4":
                raise _Refused(400, "invalid response_format type")
            spec = fmt.get("json_schema")
            if not isinstance(spec, dict) or not spec.get("name") or not isinstance(spec.get("schema"), dict):
                raise _Refused(400, "Missing required parameter: 'response_format.json_schema'.")
        elif kind == "json_object":
            if "schema" in fmt and self.server == "openai":
                raise _Refused(400, "Unknown parameter: 'response_format.schema'.")
            said_json = any("json" in str(m.get("content", "")).lower() for m in body.get("messages") or []
                            if isinstance(m, dict))
            if self.server == "openai" and not said_json:
                raise _Refused(400, "'messages' must contain the word 'json' in some form, to use "
                                    "'response_format' of type 'json_object'.")
        elif kind != "text":
            raise _Refused(400 if self.server != "llama.cpp" else 500, f"Invalid value for 'response_format.type': "
                                                                       f"{kind!r}")

    def _check(self, record: RecordedRequest, openai: bool) -> None:
        """Refuse (400) and record any labelling request whose shape is not the contract."""
        problems = []
        body = record.body if isinstance(record.body, dict) else {}
        roles = [m.get("role") for m in body.get("messages") or [] if isinstance(m, dict)]
        if roles != ["system", "user"]:
            problems.append(f"messages must be [system, user], got {roles}")
        if not isinstance(body.get("model"), str) or not body["model"]:
            problems.append("no model")
        topics = record.topics
        if not topics:
            problems.append("the system prompt lists no topic ('topic:' heading then '- <topic>: ...' lines)")
        payload = record.payload
        want = [str(i) for i in range(1, len(payload) + 1)]
        if not payload or list(payload) != want:
            problems.append(f"the user message must be {{\"1\": tweet, ...}} with keys 1..n, got {list(payload)[:5]}")
        if any(not isinstance(v, str) or not v.strip() for v in payload.values()):
            problems.append("a tweet in the user message is empty or not text")
        options = body if openai else (body.get("options") or {})
        temperature = options.get("temperature")
        if not isinstance(temperature, int | float) or temperature < 0:
            problems.append(f"temperature must be a number >= 0, got {temperature!r}")
        limit_key = "max_tokens" if openai else "num_predict"
        if not isinstance(options.get(limit_key), int) or options[limit_key] < len(payload):
            problems.append(f"{limit_key} must be sized from the request (>= 1 per row), got {options.get(limit_key)}")
        if not openai and not isinstance(options.get("num_ctx"), int):
            problems.append("num_ctx must be sent (Ollama's default context is 2,048 tokens)")
        spec = record.schema
        if spec is not None:
            problems += _spec_problems(spec, want, topics)
        if problems:
            message = "; ".join(problems)
            with self._lock:
                self.shape_errors.append(message)
            raise _Refused(400, f"fake server refused the request shape: {message}")

    @staticmethod
    def _context(record: RecordedRequest) -> int:
        options = (record.body or {}).get("options") or {}
        return options.get("num_ctx") or OLLAMA_DEFAULT_CTX

    @staticmethod
    def _answer_limit(record: RecordedRequest, openai: bool) -> int | None:
        body = record.body or {}
        value = body.get("max_tokens") if openai else (body.get("options") or {}).get("num_predict")
        return value if isinstance(value, int) and value > 0 else None

    def _content(self, record: RecordedRequest, name: str, params: dict[str, Any]) -> str:
        topics = _enum_topics(record.schema) or record.topics
        labels = {key: expected_label(text, topics) for key, text in record.payload.items()}
        rows = {key: [lab["sentiment"], lab["priority"], lab["topic"]] for key, lab in labels.items()}
        if name == "bad_json":
            return '{"1": ["neg'
        if name == "missing_ids":
            keep = max(0, len(rows) - int(params["drop"]))
            rows = dict(list(rows.items())[:keep])
        if name == "wrong_enum":
            rows = {key: ["furious", value[1], "Weather"] for key, value in rows.items()}
        if name in ("original_shape", "wrong_lengths"):
            cut = 1 if name == "wrong_lengths" else 0
            values = list(rows.values())
            return json.dumps({"analysis": [v[0] for v in values][cut:], "priority": [v[1] for v in values][cut:],
                               "topics": [v[2] for v in values][cut:]}, ensure_ascii=False)
        if name == "labels_list":
            return json.dumps({"labels": [{"id": k, "sentiment": v[0], "priority": v[1], "topic": v[2]}
                                          for k, v in rows.items()]}, ensure_ascii=False)
        if name == "fenced":
            rows = {key: [v[0], str(v[1]), v[2]] for key, v in rows.items()}
            return "```json\n" + json.dumps(rows, ensure_ascii=False) + "\n```"
        return json.dumps(rows, ensure_ascii=False)

    def _answer(self, handler: _Handler, record: RecordedRequest, content: str, truncated: bool, openai: bool) -> None:
        model = (record.body or {}).get("model", FAKE_MODEL)
        prompt = tokens(record.system) + tokens(record.message("user"))
        if openai:
            answer: dict[str, Any] = {
                "id": "chatcmpl-fake", "object": "chat.completion", "created": 0, "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": content},
                             "finish_reason": "length" if truncated else "stop"}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": tokens(content),
                          "total_tokens": prompt + tokens(content)},
            }
        else:
            answer = {"model": model, "created_at": "2024-01-01T00:00:00Z",
                      "message": {"role": "assistant", "content": content}, "done": True,
                      "done_reason": "length" if truncated else "stop", "prompt_eval_count": prompt,
                      "eval_count": tokens(content)}
        self._send(handler, record, 200, answer)

    def _get(self, handler: _Handler, record: RecordedRequest, path: str) -> None:
        if path == "/api/version":
            return self._send(handler, record, 200, {"version": "0.0.0-fake"})
        if path == "/api/tags":
            model = {
                "name": f"{FAKE_MODEL}:latest",
                "model": f"{FAKE_MODEL}:latest",
                "modified_at": "2024-01-01T00:00:00Z",
                "size": 1,
                "digest": "0" * 64,
                "details": {"format": "gguf", "family": "fake", "parameter_size": "1B"},
            }
            return self._send(handler, record, 200, {"models": [model]})
        if path == "/v1/models":
            return self._send(handler, record, 200, {"object": "list", "data": [
                {"id": FAKE_MODEL, "object": "model", "owned_by": "fake"}]})
        return self._error(handler, record, 404, f"no route for GET {path}", path.startswith("/v1/"))

    def _error(self, handler: _Handler, record: RecordedRequest, status: int, message: str, openai: bool,
               headers: dict[str, str] | None = None) -> None:
        body: dict[str, Any] = (
            {"error": {"message": message, "type": "fake_error", "code": status}} if openai else {"error": message}
        )
        self._send(handler, record, status, body, headers)

    @staticmethod
    def _send(handler: _Handler, record: RecordedRequest, status: int, body: Any,
              headers: dict[str, str] | None = None) -> None:
        record.status = status
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


def _enum_topics(spec: dict[str, Any] | None) -> list[str]:
    try:
        first = next(iter(spec["properties"].values()))
        return list(first["prefixItems"][2]["enum"])
    except (TypeError, KeyError, StopIteration, IndexError):
        return []


def _spec_problems(spec: dict[str, Any], keys: list[str], topics: list[str]) -> list[str]:
    """How an answer spec differs from the contract: every key once, [sentiment, priority, topic] enums."""
    problems = []
    if spec.get("type") != "object" or spec.get("additionalProperties") is not False:
        problems.append("the answer spec must be an object with additionalProperties false")
    properties = spec.get("properties") if isinstance(spec.get("properties"), dict) else {}
    if list(properties) != keys or spec.get("required") != keys:
        problems.append(f"the answer spec's properties/required must be the request keys {keys[:5]}...")
    for key, row in properties.items():
        items = row.get("prefixItems") if isinstance(row, dict) else None
        if (not isinstance(items, list) or len(items) != 3 or row.get("type") != "array"
                or row.get("minItems") != 3 or row.get("maxItems") != 3 or row.get("items") is not False):
            problems.append(f"row {key}: expected an array of exactly 3 prefixItems (minItems = maxItems = 3)")
            break
        enums = [item.get("enum") for item in items]
        if enums[0] != list(SENTIMENTS) or enums[1] != list(PRIORITIES) or enums[2] != topics:
            problems.append(f"row {key}: enums {enums} differ from sentiments, priorities and the prompt's topics")
            break
    return problems
