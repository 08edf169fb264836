"""The labelling prompt: rendered from the data file ``prompts/labelling.toml`` (LABELING-GUIDELINE.md).

A request is a system prompt (label definitions in French and English, the settings' topics with their
descriptions, the authors' tags and a few examples) and a user message ``{"1": "<tweet>", "2": ...}``: rows are
keyed by short per-request keys, not by 19-digit ids (fewer tokens, nothing for a model to mistype). The answer
maps every key to ``[sentiment, priority, topic]`` (see :mod:`dallosh.llm.answer`).
"""

from __future__ import annotations

import functools
import json
import tomllib
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from dallosh.llm.base import AUTHOR_ROLES, Row

PROMPT_FILE = Path(__file__).with_name("prompts") / "labelling.toml"
#: The author who needs no tag in front of the tweet (every other role is tagged).
UNTAGGED_AUTHOR = "customer"


@functools.cache
def _data() -> dict[str, Any]:
    with PROMPT_FILE.open("rb") as handle:
        data = tomllib.load(handle)
    unknown = set(data["authors"]) - set(AUTHOR_ROLES)
    if unknown:
        raise ValueError(f"{PROMPT_FILE.name}: [authors] names unknown roles {sorted(unknown)}")
    return data


def default_topic_descriptions() -> dict[str, str]:
    """The guideline's description of each default topic (the settings' initial descriptions)."""
    return dict(_data()["topics"])


def request_keys(count: int) -> list[str]:
    """The keys of one request's rows: ``"1"`` .. ``"<count>"``."""
    return [str(i) for i in range(1, count + 1)]


def tagged_text(row: Row) -> str:
    """The tweet as the model reads it: prefixed with its author's tag unless a customer wrote it."""
    if row.author == UNTAGGED_AUTHOR or row.author not in _data()["authors"]:
        return row.text
    return f"[{row.author}] {row.text}"


def user_message(rows: Sequence[Row], keys: Sequence[str]) -> str:
    """``{"<key>": "<tweet>"}`` as compact JSON; accents and emoji stay as they are (fewer tokens than escapes)."""
    return _compact({key: tagged_text(row) for key, row in zip(keys, rows, strict=True)})


def answer_json(labels: Mapping[str, tuple[str, int, str]]) -> str:
    """The answer shape, ``{"<key>": [sentiment, priority, topic]}`` (used for the examples and test doubles)."""
    return _compact({key: list(value) for key, value in labels.items()})


def topic_lines(topics: Sequence[str], descriptions: Mapping[str, str] | None = None) -> str:
    """``- <topic>: <description>`` per topic; a topic without description is listed by name only.

    ``descriptions`` (the settings') win; a topic they do not describe gets the default description of the
    default topic with the same name (case-insensitive), if any.
    """
    given = {k.casefold(): v for k, v in (descriptions or {}).items() if isinstance(v, str)}
    defaults = {k.casefold(): v for k, v in default_topic_descriptions().items()}
    lines = []
    for topic in topics:
        description = (given.get(topic.casefold()) or defaults.get(topic.casefold()) or "").strip()
        lines.append(f"- {topic}: {description}" if description else f"- {topic}")
    return "\n".join(lines)


def system_prompt(topics: Sequence[str], descriptions: Mapping[str, str] | None = None) -> str:
    """The instructions sent with every request for this topic list."""
    data = _data()
    by_fold = {t.casefold(): t for t in topics}
    examples = [e for e in data["examples"] if e["topic"].casefold() in by_fold]
    rows = [Row(id=str(i), text=e["text"], author=e.get("author", UNTAGGED_AUTHOR)) for i, e in enumerate(examples)]
    keys = request_keys(len(rows))
    answer = {key: (e["sentiment"], e["priority"], by_fold[e["topic"].casefold()])
              for key, e in zip(keys, examples, strict=True)}
    tags = " or ".join(data["authors"].values())
    return data["system"].format(topics=topic_lines(topics, descriptions), author_tags=tags,
                                 example_input=user_message(rows, keys), example_output=answer_json(answer))


def _compact(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
