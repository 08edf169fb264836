"""Request sizing by tokens: how many rows go in one request, and the answer and context sizes to ask for.

Tokens are estimated from UTF-8 bytes (no tokenizer is shared by every server); the estimate errs high, so a
request fits the context the provider asks for (Ollama's default context is only 2-4k tokens unless ``num_ctx``
is sent, and it silently drops the start of a longer prompt: the instructions).
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from dallosh.defaults import (
    LLM_BYTES_PER_TOKEN,
    LLM_COMPLETION_TOKENS_PER_ROW,
    LLM_CONTEXT_STEP,
    LLM_REQUEST_ROW_TOKENS,
    ROWS_PER_REQUEST,
)
from dallosh.llm.base import Row
from dallosh.llm.prompt import tagged_text

#: Tokens around one row in the user message (``"12":"…",``).
ROW_OVERHEAD_TOKENS = 4
#: Tokens of the answer's braces and of a chat template's role markers.
FRAME_TOKENS = 16


def estimate_tokens(text: str) -> int:
    """A high estimate of ``text``'s token count."""
    return math.ceil(len(text.encode("utf-8")) / LLM_BYTES_PER_TOKEN)


def row_tokens(row: Row) -> int:
    """Estimated tokens one row adds to a request."""
    return estimate_tokens(tagged_text(row)) + ROW_OVERHEAD_TOKENS


def plan_requests(rows: Sequence[Row], *, max_rows: int = ROWS_PER_REQUEST,
                  budget: int = LLM_REQUEST_ROW_TOKENS) -> list[list[Row]]:
    """Consecutive groups of rows, each within ``max_rows`` rows and ``budget`` estimated tokens.

    A single row above the budget still gets a request of its own.
    """
    requests: list[list[Row]] = []
    current: list[Row] = []
    used = 0
    for row in rows:
        cost = row_tokens(row)
        if current and (len(current) >= max_rows or used + cost > budget):
            requests.append(current)
            current, used = [], 0
        current.append(row)
        used += cost
    if current:
        requests.append(current)
    return requests


def completion_tokens(rows: int) -> int:
    """The answer budget (``max_tokens`` / ``num_predict``) for a request of ``rows`` rows."""
    return rows * LLM_COMPLETION_TOKENS_PER_ROW + FRAME_TOKENS


def context_tokens(system: str, user: str, completion: int) -> int:
    """Ollama's ``num_ctx`` for a request: prompt + answer, rounded up to a multiple of LLM_CONTEXT_STEP."""
    needed = estimate_tokens(system) + estimate_tokens(user) + completion + FRAME_TOKENS
    return max(1, math.ceil(needed / LLM_CONTEXT_STEP)) * LLM_CONTEXT_STEP
