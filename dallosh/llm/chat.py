"""Everything chat-style LLM providers share: dedupe, request sizing, format negotiation, retries, circuit breaker.

Subclasses only turn one :class:`ChatRequest` into one HTTP call (:meth:`ChatProvider._complete`), so adding a
provider is small and every provider validates answers and retries the same way (DESIGN.md §6):

- identical texts are sent once; rows travel under short per-request keys (``"1"``..), mapped back to ids;
- requests are sized by an estimated token budget; the answer budget and (Ollama) the context size come from it;
- the response format is negotiated per model (:mod:`dallosh.llm.formats`);
- transport errors are retried unchanged with backoff; an unusable answer is re-asked once with a little
  temperature, a repeated one (or an answer cut by the token limit) splits the rows in two; missing rows are
  asked again on their own;
- a chunk that still fails is returned as failed (:meth:`label_partial`), never discarding the chunks that
  succeeded, and the model's :class:`~dallosh.llm.circuit.CircuitBreaker` stops sending rows to a model that
  keeps failing until its cool-down is over.
"""

from __future__ import annotations

import datetime
import email.utils
import logging
import threading
import time
from abc import abstractmethod
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any

from dallosh.defaults import (
    LLM_BACKOFF_BASE_S,
    LLM_BACKOFF_MAX_S,
    LLM_REQUEST_TIMEOUT_S,
    LLM_RETRY_TEMPERATURE,
)
from dallosh.errors import ProviderError
from dallosh.llm import formats
from dallosh.llm.answer import BadAnswer, build_schema, parse_answer
from dallosh.llm.base import Label, Provider, Row
from dallosh.llm.budget import completion_tokens, context_tokens, plan_requests
from dallosh.llm.circuit import CircuitBreaker
from dallosh.llm.models import ModelConfig
from dallosh.llm.prompt import request_keys, system_prompt, user_message

log = logging.getLogger(__name__)

#: ``on_format(cfg, fmt)``: called when negotiation settles on a weaker format for a model set to ``auto``.
FormatCallback = Callable[[ModelConfig, str], None]


class CompletionError(Exception):
    """Raised by :meth:`ChatProvider._complete` so the base class knows whether to retry.

    ``message`` must never contain the API key (the base class redacts it anyway, as a second guard).
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None):
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after


class FormatRejected(CompletionError):
    """The server refused the request's response format: the provider tries the next weaker one."""

    def __init__(self, message: str):
        super().__init__(message, retryable=False)


@dataclass(frozen=True)
class ChatRequest:
    """One labelling request, whatever the wire protocol."""

    system: str
    user: str
    #: JSON schema of the answer (sent when ``fmt`` carries one).
    schema: dict[str, Any]
    #: One of the provider's :data:`~dallosh.llm.formats.LADDERS`.
    fmt: str
    #: Answer budget: ``max_tokens`` (OpenAI) / ``num_predict`` (Ollama).
    max_tokens: int
    #: Context to reserve (Ollama ``num_ctx``).
    num_ctx: int
    temperature: float = 0.0


@dataclass(frozen=True)
class ChatAnswer:
    text: str
    #: The server stopped at the token limit (the JSON is probably cut).
    truncated: bool = False
    #: Token counts the server reported (``usage`` / ``prompt_eval_count``), if any.
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass
class LabelAttempt:
    """What one model did with some rows: the labels it gave and the rows it could not label, with why."""

    labels: dict[str, Label] = field(default_factory=dict)
    #: ``(row ids, reason)`` per failed chunk.
    failures: list[tuple[list[str], str]] = field(default_factory=list)

    @property
    def failed_ids(self) -> list[str]:
        return [row_id for ids, _ in self.failures for row_id in ids]


#: One chunk's labels and failures.
Outcome = tuple[dict[str, Label], list[tuple[list[str], str]]]


@dataclass(frozen=True)
class _Batch:
    rows: list[Row]
    attempts: int = 0  # requests already spent on these rows
    bad: int = 0  # unusable answers in a row for exactly these rows
    temperature: float = 0.0


class ChatProvider(Provider):
    """Base for providers that send rows to a chat model and get JSON labels back."""

    name = "chat"
    #: Prefix of ``name`` (``<protocol>:<model>``), recorded in each output row's ``labelled_by``.
    protocol = "chat"
    #: Output constraints the API knows, strongest first (see dallosh.llm.formats); ``prompt`` = none.
    format_ladder: tuple[str, ...] = ("prompt",)

    def __init__(
        self,
        cfg: ModelConfig,
        *,
        timeout: float = LLM_REQUEST_TIMEOUT_S,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        topic_descriptions: Mapping[str, str] | None = None,
        on_format: FormatCallback | None = None,
    ):
        self.cfg = cfg
        self.model = cfg.model
        self.page_size = cfg.paginate_rows_limit
        self.retry_requests = cfg.retry_requests
        self.concurrency = cfg.concurrency
        self.timeout = timeout
        #: Injectable so tests do not wait for real backoff delays.
        self.sleep: Callable[[float], None] = sleep or time.sleep
        self.breaker = CircuitBreaker(clock=clock)
        self.topic_descriptions = dict(topic_descriptions or {})
        self.on_format = on_format
        #: Counters for benchmarks and the task summary.
        self.requests_made = 0
        self.retries = 0
        self.prompt_tokens = 0
        self.completion_tokens = 0
        #: ``(format, server's answer)`` for every format the server refused.
        self.rejected_formats: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._prompts: dict[tuple[str, ...], str] = {}
        self.name = f"{self.protocol}:{cfg.model}"
        pinned = cfg.response_format if cfg.response_format != formats.AUTO else None
        self.format = formats.starting_format(
            self.format_ladder, pinned, cfg.negotiated_format or None,
            formats.remembered(self.protocol, cfg.base_url, cfg.model))
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
    def _complete(self, request: ChatRequest) -> ChatAnswer:
        """Send one chat request; raise FormatRejected / CompletionError on failure."""

    def close(self) -> None:
        """Release network resources; subclasses with HTTP clients override it."""

    # -- public API ----------------------------------------------------------------------------------

    def label(self, rows: Sequence[Row], topics: Sequence[str]) -> dict[str, Label]:
        """Label every row or raise ProviderError (for callers that need all or nothing, e.g. the connection
        check; the pipeline calls :meth:`label_partial`, which keeps the chunks that worked)."""
        attempt = self.label_partial(rows, topics)
        if attempt.failures:
            reason = attempt.failures[0][1]
            raise ProviderError(self._redact(
                f"{self.name}: {len(attempt.failed_ids)} of {len(rows)} row(s) not labelled; {reason}"))
        return attempt.labels

    def label_partial(self, rows: Sequence[Row], topics: Sequence[str]) -> LabelAttempt:
        """Label what the model can: identical texts once, requests sized by tokens, failed chunks reported."""
        topics = [t for t in topics if isinstance(t, str) and t.strip()]
        if not topics:
            raise ProviderError(f"{self.name}: no topics configured; add topics in the AI settings.")
        if not rows:
            return LabelAttempt()
        groups: dict[tuple[str, str], list[Row]] = {}
        for row in rows:
            groups.setdefault((row.author, " ".join(str(row.text).split())), []).append(row)
        outcomes = self._run_chunks(plan_requests([group[0] for group in groups.values()]), topics)
        result = LabelAttempt()
        members = {group[0].id: group for group in groups.values()}
        for labels, failures in outcomes:
            for rep_id, label in labels.items():
                for row in members[rep_id]:
                    result.labels[row.id] = label
            for ids, reason in failures:
                result.failures.append(([row.id for rep in ids for row in members[rep]], self._redact(reason)))
        return result

    def stats(self) -> dict[str, Any]:
        """Counters for the task summary and benchmarks (no secrets)."""
        return {"requests": self.requests_made, "retries": self.retries, "response_format": self.format,
                "rejected_formats": [f"{fmt}: {why}" for fmt, why in self.rejected_formats],
                "prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens,
                "circuit_open": self.breaker.is_open}

    def system_prompt(self, topics: Sequence[str]) -> str:
        """Instructions sent with every request (the data file's prompt, this model's topic list)."""
        key = tuple(topics)
        if key not in self._prompts:
            self._prompts[key] = system_prompt(topics, self.topic_descriptions)
        return self._prompts[key]

    # -- internals -----------------------------------------------------------------------------------

    def _run_chunks(self, chunks: list[list[Row]], topics: list[str]) -> list[Outcome]:
        workers = min(self.concurrency, len(chunks))
        if workers <= 1:
            return [self._label_chunk(chunk, topics) for chunk in chunks]
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="llm") as pool:
            return list(pool.map(lambda chunk: self._label_chunk(chunk, topics), chunks))

    def _label_chunk(self, rows: list[Row], topics: list[str]) -> Outcome:
        """Labels and failures for one chunk; never raises for a model's failure."""
        labels: dict[str, Label] = {}
        failures: list[tuple[list[str], str]] = []
        queue = deque([_Batch(rows)])
        while queue:
            batch = queue.popleft()
            ids = [r.id for r in batch.rows]
            if not self.breaker.allow():
                failures.append((ids, f"not sent: circuit open after repeated failures ({self.breaker.reason})"))
                continue
            fmt = self.format
            try:
                answer, keys = self._request(batch, topics, fmt)
                try:
                    got = parse_answer(answer.text, keys, topics)
                except BadAnswer as exc:
                    raise BadAnswer(str(exc), truncated=answer.truncated) from None
                if answer.truncated and len(got) < len(ids):
                    raise BadAnswer("cut at the answer's token limit", truncated=True)
            except FormatRejected as exc:
                if self._step_down(fmt, str(exc)):
                    queue.appendleft(batch)
                    continue
                reason = f"the server refused every response format; last: {exc}"
                self.breaker.trip(reason)
                failures.append((ids, reason))
                continue
            except CompletionError as exc:
                if not exc.retryable:
                    self.breaker.trip(str(exc))
                    failures.append((ids, str(exc)))
                elif self._retry(batch, str(exc), failures):
                    delay = self._backoff(batch.attempts, exc.retry_after)
                    if delay > 0:
                        self.sleep(delay)
                    queue.appendleft(replace(batch, attempts=batch.attempts + 1))
                continue
            except BadAnswer as exc:
                self._bad_answer(batch, f"unusable answer ({exc})", exc.truncated, queue, failures)
                continue
            self.breaker.success()
            labels.update(got)
            missing = [r for r in batch.rows if r.id not in got]
            if not got:
                self._bad_answer(batch, f"none of {len(ids)} row(s) has a label (missing or with invalid values)",
                                 False, queue, failures)
            elif missing:
                reason = f"{len(missing)} of {len(ids)} row(s) missing or with invalid values"
                if self._retry(_Batch(missing, batch.attempts), reason, failures):
                    queue.appendleft(_Batch(missing, batch.attempts + 1))
        return labels, failures

    def _retry(self, batch: _Batch, reason: str, failures: list[tuple[list[str], str]]) -> bool:
        """True when ``batch`` may be asked again; otherwise it is recorded as failed."""
        if batch.attempts >= self.retry_requests:
            attempts = batch.attempts + 1
            self.breaker.failure(reason)
            failures.append(([r.id for r in batch.rows],
                             f"gave up after {attempts} attempt(s): {reason}"))
            return False
        with self._lock:
            self.retries += 1
        return True

    def _bad_answer(self, batch: _Batch, reason: str, truncated: bool, queue: deque[_Batch],
                    failures: list[tuple[list[str], str]]) -> None:
        """Re-ask once with some temperature; a repeated (or cut) bad answer splits the rows in two."""
        if not self._retry(batch, reason, failures):
            return
        attempts = batch.attempts + 1
        if len(batch.rows) > 1 and (truncated or batch.bad > 0):
            half = (len(batch.rows) + 1) // 2
            queue.extendleft([_Batch(batch.rows[half:], attempts), _Batch(batch.rows[:half], attempts)])
        else:
            queue.appendleft(_Batch(batch.rows, attempts, batch.bad + 1, LLM_RETRY_TEMPERATURE))

    def _request(self, batch: _Batch, topics: list[str], fmt: str) -> tuple[ChatAnswer, dict[str, str]]:
        keys = request_keys(len(batch.rows))
        system = self.system_prompt(topics)
        user = user_message(batch.rows, keys)
        budget = completion_tokens(len(keys))
        request = ChatRequest(system=system, user=user, schema=build_schema(keys, topics), fmt=fmt,
                              max_tokens=budget, num_ctx=context_tokens(system, user, budget),
                              temperature=batch.temperature)
        with self._lock:
            self.requests_made += 1
        answer = self._complete(request)
        with self._lock:
            self.prompt_tokens += answer.prompt_tokens
            self.completion_tokens += answer.completion_tokens
        return answer, {key: row.id for key, row in zip(keys, batch.rows, strict=True)}

    def _step_down(self, fmt: str, why: str) -> bool:
        """Move to the next weaker format after ``fmt`` was refused; False when there is none."""
        with self._lock:
            if self.format != fmt:  # another chunk already stepped down: retry with the current format
                return True
            weaker = formats.weaker(self.format_ladder, fmt)
            self.rejected_formats.append((fmt, self._redact(why)[:200]))
            if weaker is None:
                return False
            self.format = weaker
        log.info("%s: the server refused response format %s; using %s", self.name, fmt, weaker)
        formats.remember(self.protocol, self.cfg.base_url, self.model, weaker)
        if self.on_format is not None and self.cfg.response_format == formats.AUTO:
            try:
                self.on_format(self.cfg, weaker)
            except Exception:  # noqa: BLE001 - remembering is an optimisation; labelling goes on
                log.warning("%s: could not store the negotiated format", self.name, exc_info=True)
        return True

    @staticmethod
    def _backoff(failures: int, retry_after: float | None) -> float:
        if retry_after is not None and retry_after >= 0:
            return min(retry_after, LLM_BACKOFF_MAX_S)
        return min(LLM_BACKOFF_BASE_S * (2**failures), LLM_BACKOFF_MAX_S)

    def _redact(self, text: str) -> str:
        """Second guard: error texts may quote a server's answer, which could echo the key."""
        return redact(text, self.cfg.api_key)


#: Words of an OpenAI-compatible server's error that point at the response format, not at the request's content.
OPENAI_FORMAT_WORDS: tuple[str, ...] = ("response_format", "json_schema", "json_object", "schema", "grammar")


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


def format_error(status: int, detail: str, fmt: str, retry_after: float | None = None, *,
                 words: Sequence[str] = OPENAI_FORMAT_WORDS, secret: str = "") -> CompletionError:
    """A refusal of the response format (400/422/500 whose text has one of ``words``) becomes FormatRejected;
    anything else is classified as usual (:func:`status_error`). ``secret`` is redacted before any cut."""
    detail = redact(str(detail), secret)
    if status in (400, 422, 500) and fmt != "prompt" and any(w in detail.lower() for w in words):
        return FormatRejected(f"HTTP {status}: {' '.join(detail.split())[:200]}")
    return status_error(status, detail, retry_after, secret=secret)
