"""Everything chat-style LLM providers share: batching, dedupe, prompt, schema, parsing, retries.

Subclasses only translate one request into one HTTP call (:meth:`ChatProvider._complete`), so adding a provider
is small and every provider validates answers and retries the same way (DESIGN.md §6).
"""

from __future__ import annotations

import datetime
import email.utils
import json
import re
import threading
import time
import unicodedata
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from typing import Any

from dallosh.defaults import (
    LLM_BACKOFF_BASE_S,
    LLM_BACKOFF_MAX_S,
    LLM_REQUEST_TIMEOUT_S,
    PRIORITIES,
    ROWS_PER_REQUEST,
    SENTIMENTS,
)
from dallosh.errors import ProviderError
from dallosh.llm.base import Label, Provider, Row
from dallosh.llm.models import ModelConfig

#: Answers in French are common with multilingual models; map them back to the allowed values.
SENTIMENT_SYNONYMS: dict[str, str] = {
    "négatif": "negative",
    "negatif": "negative",
    "neutre": "neutral",
    "positif": "positive",
}

SYSTEM_PROMPT = """\
You label customer tweets about a telecom operator. Tweets are mostly in French (sometimes English, slang, \
emoji, sarcasm). Les tweets sont surtout en français : lisez-les en français.
The user message is JSON: {{"topics": [...], "rows": [{{"id": "...", "text": "...", "engagement": 0}}]}}.
For EVERY row return exactly one label with the row's id copied exactly (ids are strings):
- sentiment: one of {sentiments} (the customer's feeling towards the operator or its service).
- priority: one of {priorities} as an integer: 2 = urgent (outage, no service, billing error, customer \
threatens to leave, or high engagement), 1 = a problem or question needing an answer, 0 = no action needed.
- topic: exactly one of the topics given in the user message; use the closest one.
Answer with JSON only, no comments, in this shape:
{{"labels": [{{"id": "...", "sentiment": "...", "priority": 0, "topic": "..."}}]}}"""


class CompletionError(Exception):
    """Raised by :meth:`ChatProvider._complete` so the base class knows whether to retry.

    ``message`` must never contain the API key (the base class redacts it anyway, as a second guard).
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class _BadAnswer(Exception):
    """The model answered, but nothing usable could be read from it (retried like a transport error)."""


class ChatProvider(Provider):
    """Base for providers that send rows to a chat model and get JSON labels back."""

    name = "chat"
    #: Prefix of ``name`` (``<protocol>:<model>``), recorded in each output row's ``labelled_by``.
    protocol = "chat"

    def __init__(
        self,
        cfg: ModelConfig,
        *,
        timeout: float = LLM_REQUEST_TIMEOUT_S,
        sleep: Callable[[float], None] | None = None,
    ):
        self.cfg = cfg
        self.model = cfg.model
        self.page_size = cfg.paginate_rows_limit
        self.retry_requests = cfg.retry_requests
        self.concurrency = cfg.concurrency
        self.timeout = timeout
        #: Injectable so tests do not wait for real backoff delays.
        self.sleep: Callable[[float], None] = sleep or time.sleep
        #: Counters for benchmarks and task events (HTTP calls made, calls that were repeats).
        self.requests_made = 0
        self.retries = 0
        self._lock = threading.Lock()
        self.name = f"{self.protocol}:{cfg.model}"
        self._connect()

    def _connect(self) -> None:
        """Create the HTTP client (subclasses); ``self.cfg`` and ``self.timeout`` are set."""

    def auth_headers(self) -> dict[str, str]:
        """The Bearer header for the model's API key (empty when the model has none)."""
        return {"Authorization": f"Bearer {self.cfg.api_key}"} if self.cfg.api_key else {}

    def __repr__(self) -> str:
        return f"{type(self).__name__}(name={self.name!r}, cfg={self.cfg!r})"

    # -- the one method subclasses implement -------------------------------------------------------------

    @abstractmethod
    def _complete(self, system: str, user: str, schema: dict[str, Any]) -> str:
        """Send one chat request and return the model's raw text; raise CompletionError on failure."""

    def close(self) -> None:
        """Release network resources; subclasses with HTTP clients override it."""

    # -- public API ----------------------------------------------------------------------------------

    def label(self, rows: Sequence[Row], topics: Sequence[str]) -> dict[str, Label]:
        """Label ``rows``; identical texts are sent once and requests hold at most ROWS_PER_REQUEST rows."""
        topics = [t for t in topics if isinstance(t, str) and t.strip()]
        if not topics:
            raise ProviderError(f"{self.name}: no topics configured; add topics in the AI settings.")
        if not rows:
            return {}
        groups: dict[str, list[Row]] = {}
        for row in rows:
            groups.setdefault(_text_key(row.text), []).append(row)
        # One representative per distinct text; the highest engagement is the best priority hint.
        unique = [
            Row(id=group[0].id, text=group[0].text, engagement=max(r.engagement for r in group))
            for group in groups.values()
        ]
        chunks = [unique[i : i + ROWS_PER_REQUEST] for i in range(0, len(unique), ROWS_PER_REQUEST)]
        by_rep: dict[str, Label] = {}
        for part in self._run_chunks(chunks, list(topics)):
            by_rep.update(part)
        out: dict[str, Label] = {}
        for group in groups.values():
            label = by_rep[group[0].id]
            for row in group:
                out[row.id] = label
        return out

    # -- internals -----------------------------------------------------------------------------------

    def _run_chunks(self, chunks: list[list[Row]], topics: list[str]) -> Iterable[dict[str, Label]]:
        workers = min(self.concurrency, len(chunks))
        if workers <= 1:
            return [self._label_chunk(chunk, topics) for chunk in chunks]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm") as pool:
            futures = [pool.submit(self._label_chunk, chunk, topics) for chunk in chunks]
            done, not_done = wait(futures, return_when=FIRST_EXCEPTION)
            for future in not_done:
                future.cancel()  # fail fast: the pipeline falls back to the next model anyway
            for future in futures:
                if future in done and future.exception() is not None:
                    raise future.exception()  # type: ignore[misc]
            return [f.result() for f in futures]

    def _label_chunk(self, rows: list[Row], topics: list[str]) -> dict[str, Label]:
        """One request, then smaller re-asks for missing/invalid ids, at most ``retry_requests`` repeats."""
        pending = {row.id: row for row in rows}
        labels: dict[str, Label] = {}
        failures = 0
        while True:
            delay = 0.0
            batch = list(pending.values())
            try:
                text = self._request(batch, topics)
                got = parse_labels(text, batch, topics)
            except CompletionError as exc:
                reason = str(exc)
                if not exc.retryable:
                    raise ProviderError(self._redact(f"{self.name}: {reason}")) from None
                delay = self._backoff(failures, exc.retry_after)
            except _BadAnswer as exc:
                reason = f"unusable answer ({exc})"
                delay = self._backoff(failures, None)
            else:
                labels.update(got)
                for row_id in got:
                    pending.pop(row_id, None)
                if not pending:
                    return labels
                reason = f"{len(pending)} of {len(batch)} row(s) missing or with invalid values"
            if failures >= self.retry_requests:
                attempts = failures + 1
                raise ProviderError(
                    self._redact(
                        f"{self.name}: gave up on {len(pending)} row(s) after {attempts} attempt(s) "
                        f"(retryRequests={self.retry_requests}); last problem: {reason}"
                    )
                )
            failures += 1
            with self._lock:
                self.retries += 1
            if delay > 0:
                self.sleep(delay)

    def _request(self, rows: list[Row], topics: list[str]) -> str:
        with self._lock:
            self.requests_made += 1
        user = build_user_message(rows, topics)
        return self._complete(self.system_prompt(), user, build_schema(topics, [r.id for r in rows]))

    def system_prompt(self) -> str:
        """Instructions sent with every request (override to tune for a model family)."""
        return SYSTEM_PROMPT.format(
            sentiments=", ".join(SENTIMENTS), priorities=", ".join(str(p) for p in PRIORITIES)
        )

    @staticmethod
    def _backoff(failures: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, LLM_BACKOFF_MAX_S)
        return min(LLM_BACKOFF_BASE_S * (2**failures), LLM_BACKOFF_MAX_S)

    def _redact(self, text: str) -> str:
        """Second guard: error texts may quote a server's answer, which could echo the key."""
        return redact(text, self.cfg.api_key)


def _text_key(text: str) -> str:
    return " ".join(str(text).split())


def build_user_message(rows: Sequence[Row], topics: Sequence[str]) -> str:
    """Rows as JSON keyed by id, so answers can be matched by id and texts keep their accents/emoji."""
    payload = {
        "topics": list(topics),
        "rows": [{"id": r.id, "text": r.text, "engagement": r.engagement} for r in rows],
    }
    return json.dumps(payload, ensure_ascii=False)


def build_schema(topics: Sequence[str], ids: Sequence[str] | None = None) -> dict[str, Any]:
    """JSON schema for structured output; constrained decoding keeps values inside the enums."""
    id_schema: dict[str, Any] = {"type": "string"}
    if ids:
        id_schema["enum"] = list(ids)
    return {
        "type": "object",
        "properties": {
            "labels": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": id_schema,
                        "sentiment": {"type": "string", "enum": list(SENTIMENTS)},
                        "priority": {"type": "integer", "enum": list(PRIORITIES)},
                        "topic": {"type": "string", "enum": list(topics)},
                    },
                    "required": ["id", "sentiment", "priority", "topic"],
                    "additionalProperties": False,
                },
            }
        },
        "required": ["labels"],
        "additionalProperties": False,
    }


_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)


def _load_json(text: str) -> Any:
    text = (text or "").strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    # Some models wrap the JSON in prose; take the outermost object.
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        try:
            return json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            pass
    raise _BadAnswer("not valid JSON")


def _fold(value: str) -> str:
    decomposed = unicodedata.normalize("NFKD", value.strip().casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _sentiment(value: Any) -> str | None:
    if not isinstance(value, str):
        return None
    value = value.strip().lower()
    value = SENTIMENT_SYNONYMS.get(value, value)
    return value if value in SENTIMENTS else None


def _priority(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().lstrip("-").isdigit():
        value = int(value.strip())
    return value if isinstance(value, int) and value in PRIORITIES else None


def _topic(value: Any, topics: Mapping[str, str]) -> str | None:
    if not isinstance(value, str):
        return None
    return topics.get(_fold(value))


def _make_label(sentiment: Any, priority: Any, topic: Any, topics: Mapping[str, str]) -> Label | None:
    s, p, t = _sentiment(sentiment), _priority(priority), _topic(topic, topics)
    if s is None or p is None or t is None:
        return None
    return Label(sentiment=s, priority=p, topic=t)


def parse_labels(text: str, rows: Sequence[Row], topics: Sequence[str]) -> dict[str, Label]:
    """Valid labels found in a model answer, keyed by requested id (missing/invalid ids are left out).

    Accepts ``{"labels": [...]}`` (or a bare list of label objects), and the original spec's
    ``{"analysis": [], "priority": [], "topics": []}`` when all three lengths equal the rows requested.
    Raises _BadAnswer when the answer is not JSON or has none of these shapes.
    """
    data = _load_json(text)
    folded = {_fold(t): t for t in topics}
    wanted = {r.id for r in rows}
    out: dict[str, Label] = {}
    if isinstance(data, dict) and "labels" not in data and {"analysis", "priority", "topics"} <= data.keys():
        columns = [data["analysis"], data["priority"], data["topics"]]
        if not all(isinstance(c, list) and len(c) == len(rows) for c in columns):
            lengths = "/".join(str(len(c)) if isinstance(c, list) else "?" for c in columns)
            raise _BadAnswer(f"analysis/priority/topics lengths {lengths} do not match {len(rows)} rows")
        for row, s, p, t in zip(rows, *columns, strict=True):
            label = _make_label(s, p, t, folded)
            if label is not None:
                out[row.id] = label
        return out
    items = data.get("labels") if isinstance(data, dict) else data
    if not isinstance(items, list):
        raise _BadAnswer('expected {"labels": [...]}')
    for item in items:
        if not isinstance(item, dict) or item.get("id") is None:
            continue
        row_id = str(item["id"]).strip()
        if row_id not in wanted or row_id in out:
            continue
        label = _make_label(item.get("sentiment"), item.get("priority"), item.get("topic"), folded)
        if label is not None:
            out[row_id] = label
    return out


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP date); None when absent/unreadable."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.UTC)
    return max(0.0, (when - datetime.datetime.now(datetime.UTC)).total_seconds())


def redact(text: str, secret: str) -> str:
    """``text`` without ``secret`` (an API key a server's error may echo). Redact before cutting a text short:
    cut first, a key straddling the cut survives in part and no longer matches."""
    return text.replace(secret, "***") if secret else text


def status_error(status: int, detail: str = "", retry_after: float | None = None, *,
                 secret: str = "") -> CompletionError:
    """Classify an HTTP error status the same way for every provider (``secret`` is redacted from the detail)."""
    detail = " ".join(redact(str(detail), secret).split())[:300]
    suffix = f": {detail}" if detail else ""
    if status == 429:
        return CompletionError(f"rate limited (HTTP 429){suffix}", retryable=True, retry_after=retry_after)
    if status == 408 or status >= 500 or status < 0:
        return CompletionError(f"server error (HTTP {status}){suffix}", retryable=True, retry_after=retry_after)
    if status in (401, 403):
        return CompletionError(
            f"authentication refused (HTTP {status}): check the API key in the AI settings", retryable=False
        )
    if status == 404:
        return CompletionError(
            f"not found (HTTP 404): check the base URL and the model name{suffix}", retryable=False
        )
    return CompletionError(f"request refused (HTTP {status}){suffix}", retryable=False)
