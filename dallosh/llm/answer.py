"""The answer a chat model must give: its JSON schema, and the parser that reads labels back from it.

The schema maps each request key to ``[sentiment, priority, topic]`` (each position an enum), every key required,
no other key: constrained decoding (llama.cpp grammars, Ollama ``format``, OpenAI structured outputs) then
produces exactly one label per row, and the answer costs about 12 tokens per row. The parser also accepts what
models answer in plain JSON mode: objects per key, a ``{"labels": [...]}`` list with keys or ids, and the original
spec's ``{"analysis": [], "priority": [], "topics": []}`` when its lengths match.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.llm.base import Label

#: Answers in French are common with multilingual models; map them back to the allowed values.
SENTIMENT_SYNONYMS: dict[str, str] = {
    "négatif": "negative",
    "negatif": "negative",
    "neutre": "neutral",
    "positif": "positive",
}
#: Field names a model may use in an object per row (long and short forms).
_FIELDS = {"sentiment": ("sentiment", "s"), "priority": ("priority", "priorite", "priorité", "p"),
           "topic": ("topic", "main_topic", "sujet", "t")}


class BadAnswer(Exception):  # noqa: N818 - reads as "the model gave a bad answer"
    """Nothing usable could be read from the model's answer. ``truncated``: it was cut by the token limit."""

    def __init__(self, message: str, *, truncated: bool = False):
        super().__init__(message)
        self.truncated = truncated


def label_schema(topics: Sequence[str]) -> dict[str, Any]:
    """One row's answer: ``[sentiment, priority, topic]``."""
    return {
        "type": "array",
        "prefixItems": [
            {"type": "string", "enum": list(SENTIMENTS)},
            {"type": "integer", "enum": list(PRIORITIES)},
            {"type": "string", "enum": list(topics)},
        ],
        "minItems": 3,
        "maxItems": 3,
        "items": False,
    }


def build_schema(keys: Sequence[str], topics: Sequence[str]) -> dict[str, Any]:
    """JSON schema of a whole answer: every key of the request exactly once, nothing else."""
    row = label_schema(topics)
    return {
        "type": "object",
        "properties": {key: row for key in keys},
        "required": list(keys),
        "additionalProperties": False,
    }


_FENCE = re.compile(r"^```[a-zA-Z0-9_-]*\s*\n?(.*?)\n?```\s*$", re.DOTALL)


def load_json(text: str) -> Any:
    """The JSON value in a model's text: bare, in a Markdown fence, or the outermost object inside prose."""
    text = (text or "").strip()
    fenced = _FENCE.match(text)
    if fenced:
        text = fenced.group(1).strip()
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        pass
    start, end = text.find("{"), text.rfind("}")
    if start != -1 and end > start:
        try:
            return json.loads(text[start : end + 1])
        except json.JSONDecodeError:
            pass
    raise BadAnswer("not valid JSON")


def fold(value: str) -> str:
    """Case- and accent-insensitive form of a label value."""
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


def make_label(sentiment: Any, priority: Any, topic: Any, topics: Mapping[str, str]) -> Label | None:
    """A Label when all three values are allowed (``topics``: folded name → name), else None."""
    s, p = _sentiment(sentiment), _priority(priority)
    t = topics.get(fold(topic)) if isinstance(topic, str) else None
    if s is None or p is None or t is None:
        return None
    return Label(sentiment=s, priority=p, topic=t)


def _field(item: Mapping[str, Any], name: str) -> Any:
    return next((item[k] for k in _FIELDS[name] if k in item), None)


def _value_label(value: Any, topics: Mapping[str, str]) -> Label | None:
    if isinstance(value, list | tuple) and len(value) == 3:
        return make_label(*value, topics)
    if isinstance(value, Mapping):
        return make_label(_field(value, "sentiment"), _field(value, "priority"), _field(value, "topic"), topics)
    return None


def parse_answer(text: str, keys: Mapping[str, str], topics: Sequence[str]) -> dict[str, Label]:
    """Valid labels in an answer, as ``{row id: Label}``; ``keys`` maps each request key to its row id.

    Keys the answer leaves out, or labels them with values outside the enums, are simply missing from the result
    (the caller asks again). Raises BadAnswer when the text is not JSON or has none of the accepted shapes.
    """
    data = load_json(text)
    folded = {fold(t): t for t in topics}
    by_name = {**{row_id: row_id for row_id in keys.values()}, **keys}  # a key, or an id a model echoed
    out: dict[str, Label] = {}
    if isinstance(data, dict) and {"analysis", "priority", "topics"} <= data.keys():
        columns = [data["analysis"], data["priority"], data["topics"]]
        if not all(isinstance(c, list) and len(c) == len(keys) for c in columns):
            lengths = "/".join(str(len(c)) if isinstance(c, list) else "?" for c in columns)
            raise BadAnswer(f"analysis/priority/topics lengths {lengths} do not match {len(keys)} rows")
        for row_id, s, p, t in zip(keys.values(), *columns, strict=True):
            label = make_label(s, p, t, folded)
            if label is not None:
                out[row_id] = label
        return out
    if isinstance(data, dict) and set(data) == {"labels"}:
        data = data["labels"]
    if isinstance(data, dict):
        items = [(name, value) for name, value in data.items()]
    elif isinstance(data, list):
        items = [(item.get("id", item.get("key")), item) for item in data if isinstance(item, dict)]
    else:
        raise BadAnswer("expected a JSON object keyed by the request's keys")
    for name, value in items:
        row_id = by_name.get(str(name).strip()) if name is not None else None
        if row_id is None or row_id in out:
            continue
        label = _value_label(value, folded)
        if label is not None:
            out[row_id] = label
    return out
