"""Who labels which row, and a record of it: author rules, hybrid labelling, fallback along the models.

For one page of rows (:class:`Labeller`), when LLMs are configured:

1. the built-in analyzer (always the last provider) labels every row: it is fast, its topic is needed for the
   rows below and its labels are ready for any fallback;
2. rows written by the operator's own accounts, and retweets of the operator's posts, are not sent to an LLM
   (LABELING-GUIDELINE.md: company posts and replies are neutral, priority 0): the built-in's topic, neutral, 0;
3. hybrid labelling: rows whose built-in confidence reaches ``hybrid_threshold`` keep the built-in labels;
4. the other rows go to the LLMs in the settings' order, chunk by chunk: rows a model could not label go to the
   next one, and the built-in labels what is left. A failed chunk never discards the ones that worked, and every
   page starts again from the first model (each model's circuit breaker decides whether it is tried).

Every row records who labelled it (``labelled_by``) and every fallback why it happened, so the task summary can
say how many rows each model labelled (:func:`summarise`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from dallosh.defaults import HYBRID_THRESHOLD_DEFAULT
from dallosh.errors import ProviderError
from dallosh.llm.base import Label, Provider, Row
from dallosh.llm.chat import LabelAttempt

#: ``labelled_by`` of rows labelled by the author rule: ``rule:operator``, ``rule:retweet``.
RULE_PREFIX = "rule:"
#: Authors whose rows never go to an LLM.
RULE_AUTHORS: tuple[str, ...] = ("operator", "retweet")
#: Label of the author rule (the topic comes from the built-in analyzer).
RULE_SENTIMENT, RULE_PRIORITY = "neutral", 0
#: Distinct fallback reasons kept in a summary (the rest are counted under one line).
MAX_REASONS = 20

_RETWEET_OF = re.compile(r"^RT @(\w+)", re.IGNORECASE)


def author_role(text: str, is_operator: bool, is_retweet: bool, operator_accounts: Iterable[str]) -> str:
    """``operator``, ``retweet`` (a retweet of an operator account's post) or ``customer``.

    A retweet whose origin is unknown (no ``RT @account`` prefix) or another account counts as a customer's.
    """
    if is_operator:
        return "operator"
    if is_retweet:
        match = _RETWEET_OF.match(text or "")
        accounts = {a.strip().lstrip("@").casefold() for a in operator_accounts}
        if match and match.group(1).casefold() in accounts:
            return "retweet"
    return "customer"


def row_confidence(label: Label) -> float | None:
    """A row's confidence: its least confident label (None when the model gives none)."""
    return min(label.confidence) if label.confidence else None


def keeps_builtin(label: Label, threshold: float) -> bool:
    """Hybrid rule: the built-in label stands when its confidence reaches ``threshold`` (1: never)."""
    confidence = row_confidence(label)
    return threshold < 1 and confidence is not None and confidence >= threshold


@dataclass
class PageLabels:
    """One page's labels, who gave each, and why rows fell back."""

    labels: dict[str, Label] = field(default_factory=dict)
    labelled_by: dict[str, str] = field(default_factory=dict)
    #: ``{"model", "to", "rows", "reason"}`` per distinct fallback.
    fallbacks: list[dict[str, Any]] = field(default_factory=list)
    #: Rows the LLMs never saw, by why: ``author_rule``, ``confident``.
    kept: dict[str, int] = field(default_factory=dict)

    def counts(self) -> dict[str, int]:
        """Rows per model."""
        return dict(Counter(self.labelled_by.values()))


class Labeller:
    """Labels pages of rows with ``providers`` (in fallback order, the built-in analyzer last)."""

    def __init__(self, providers: Sequence[Provider], topics: Sequence[str], *,
                 hybrid_threshold: float = HYBRID_THRESHOLD_DEFAULT):
        if not providers:
            raise ValueError("at least the built-in analyzer is needed")
        self.builtin, self.llms = providers[-1], list(providers[:-1])
        self.topics = list(topics)
        self.threshold = hybrid_threshold

    def label(self, rows: Sequence[Row]) -> PageLabels:
        page = PageLabels()
        if not rows:
            return page
        builtin = self.builtin.label(rows, self.topics)
        if not self.llms:
            page.labels = dict(builtin)
            page.labelled_by = {r.id: self.builtin.name for r in rows}
            return page
        pending: list[Row] = []
        kept: Counter[str] = Counter()
        for row in rows:
            label = builtin[row.id]
            if row.author in RULE_AUTHORS:
                page.labels[row.id] = Label(RULE_SENTIMENT, RULE_PRIORITY, label.topic)
                page.labelled_by[row.id] = RULE_PREFIX + row.author
                kept["author_rule"] += 1
            elif keeps_builtin(label, self.threshold):
                page.labels[row.id] = label
                page.labelled_by[row.id] = self.builtin.name
                kept["confident"] += 1
            else:
                pending.append(row)
        page.kept = dict(kept)
        fallbacks: Counter[tuple[str, str, str]] = Counter()
        for index, provider in enumerate(self.llms):
            if not pending:
                break
            attempt = _attempt(provider, pending, self.topics)
            for row_id, label in attempt.labels.items():
                page.labels[row_id] = label
                page.labelled_by[row_id] = provider.name
            following = self.llms[index + 1] if index + 1 < len(self.llms) else self.builtin
            for ids, reason in attempt.failures:
                fallbacks[(provider.name, following.name, reason)] += len(ids)
            failed = set(attempt.failed_ids)
            pending = [r for r in pending if r.id in failed]
        for row in pending:
            page.labels[row.id] = builtin[row.id]
            page.labelled_by[row.id] = self.builtin.name
        page.fallbacks = [{"model": m, "to": t, "rows": n, "reason": r} for (m, t, r), n in fallbacks.items()]
        return page


def _attempt(provider: Provider, rows: list[Row], topics: list[str]) -> LabelAttempt:
    """Chunk-level results from chat providers; all or nothing from any other provider."""
    partial = getattr(provider, "label_partial", None)
    if callable(partial):
        return partial(rows, topics)
    try:
        return LabelAttempt(labels=provider.label(rows, topics))
    except ProviderError as exc:
        return LabelAttempt(failures=[([r.id for r in rows], str(exc))])


def merge_fallbacks(records: Iterable[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """Fallback records summed per (model, to, reason), most rows first, at most MAX_REASONS lines."""
    total: Counter[tuple[str, str, str]] = Counter()
    for record in records:
        total[(str(record.get("model")), str(record.get("to")), str(record.get("reason")))] += int(
            record.get("rows") or 0)
    ranked = [{"model": m, "to": t, "rows": n, "reason": r} for (m, t, r), n in total.most_common()]
    if len(ranked) > MAX_REASONS:
        rest = ranked[MAX_REASONS - 1:]
        ranked = ranked[: MAX_REASONS - 1] + [{"model": "*", "to": "*", "rows": sum(r["rows"] for r in rest),
                                               "reason": f"{len(rest)} other reasons"}]
    return ranked


def summarise(stats: Mapping[str, Any] | None, events: Iterable[Mapping[str, Any]] = ()) -> dict[str, Any]:
    """How a task's rows were labelled, for the task view and the Analysis page.

    ``stats`` are the task's step summaries (``task.data.stats``); while ``sending_to_llm`` has not finished,
    the page events of the current run (``events``, oldest first) stand in for its summary. Returns
    ``{texts_by_model, rows_by_model, fallbacks, kept_by_builtin, response_formats, complete}``:
    ``rows_by_model`` counts dataset rows (after ``appending_columns``, else None), ``texts_by_model`` distinct
    texts (what was sent), ``fallbacks`` ``{model, to, rows, reason}`` lines.
    """
    stats = stats or {}
    step = stats.get("sending_to_llm") or {}
    appended = stats.get("appending_columns") or {}
    if step:
        texts = dict(step.get("texts_by_model") or {})
        fallbacks = list(step.get("fallbacks") or [])
        kept = dict(step.get("kept_by_builtin") or {})
        formats = {name: info.get("response_format") for name, info in (step.get("llm") or {}).items()}
    else:
        texts, kept, records, formats = Counter(), Counter(), [], {}
        for event in events:
            if event.get("event") != "sending_to_llm":
                continue
            if event.get("fallback_to"):
                records.append({"model": event.get("model"), "to": event.get("fallback_to"),
                                "rows": event.get("rows", 0), "reason": event.get("error", "")})
            elif isinstance(event.get("models"), Mapping):
                texts.update(event["models"])
                kept.update(event.get("kept") or {})
        texts, kept, fallbacks = dict(texts), dict(kept), merge_fallbacks(records)
    return {"texts_by_model": texts, "rows_by_model": dict(appended.get("labelled_by") or {}) or None,
            "fallbacks": fallbacks, "kept_by_builtin": kept, "response_formats": formats,
            "complete": bool(step)}
