"""The built-in offline analyzer: the "default model" that always answers, with no network.

It is the fallback when an LLM provider fails and the default when no LLM is configured, so it must never raise
for ordinary input, must be fast (≥ 20,000 distinct texts/s, ``bench/eval_builtin.py``) and must only answer within
the allowed labels. It is a learned model: three multinomial logistic regressions (sentiment, priority, topic) on
word and character n-grams, trained on the project's real labelled tweets (``dallosh/llm/train.py``,
docs/labels.md). The weights ship in ``builtin_model/`` and are scored in plain numpy (``ngram_model.py``).

On top of the model's argmax per field: posts by the operator's accounts and retweets are neutral / priority 0
(the guideline's rule, right on every such row of the train split; the topic stays the model's), and a text with
no word at all is neutral / 0 / the fallback topic. The caller's topic list is mapped onto the six trained topics
by name (``builtin_model/topic_names.json``, docs/labels.md). Engagement is not used (the guideline does not).
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from dallosh.defaults import PAGINATE_ROWS_MAX
from dallosh.errors import ProviderError, ValidationError
from dallosh.llm import features
from dallosh.llm.base import Label, Provider, Row
from dallosh.llm.ngram_model import MODEL_DIR, NgramModel, softmax

#: Distinct texts scored per numpy batch: bounds the per-batch arrays to a few tens of MB.
BATCH_TEXTS = 8192
#: Authors whose posts are neutral / priority 0 by rule (LABELING-GUIDELINE.md: company posts, retweets).
RULE_AUTHORS = frozenset({"operator", "retweet"})


@lru_cache(maxsize=1)
def _model() -> NgramModel:
    return NgramModel()


# --------------------------------------------------------------------------------------------------
# Custom topic lists: the caller's topics mapped onto the six trained ones
# --------------------------------------------------------------------------------------------------


def _fold(text: str) -> str:
    """Lower case without accents, so "Réseau", "reseau" and "RÉSEAU" compare equal."""
    return unicodedata.normalize("NFKD", text.lower()).encode("ascii", "ignore").decode("ascii")


def _word_key(word: str) -> str:
    """How topic names and tweet words are compared: folded, without a plural s."""
    word = _fold(word)
    return word[:-1] if len(word) > 3 and word.endswith("s") else word


def _name_words(name: str) -> list[str]:
    """Significant words of a topic name (or synonym), as ``_word_key``s."""
    stop = _topic_names()["stopwords"]
    return [k for k in map(_word_key, features.tokens(name)) if k not in stop]


@lru_cache(maxsize=1)
def _topic_names() -> dict:
    """Names and synonyms of the trained topics (``builtin_model/topic_names.json``)."""
    data = json.loads((MODEL_DIR / "topic_names.json").read_text(encoding="utf-8"))
    stop = frozenset(data["stopwords"])
    return {"stopwords": stop,
            "synonyms": {topic: {k for name in names for k in map(_word_key, features.tokens(name)) if k not in stop}
                         for topic, names in data["synonyms"].items()}}


@dataclass(frozen=True)
class _TopicPlan:
    """How the model's six topic probabilities become the caller's topics."""

    topics: tuple[str, ...]
    #: (6, len(topics)) 0/1 matrix: trained topic → caller topic (unmatched trained topics → fallback).
    matrix: np.ndarray
    fallback: int
    #: folded name word → index of a caller topic that matches no trained topic ("Télévision", "Sport").
    custom: dict[str, int]


@lru_cache(maxsize=64)
def _plan(topics: tuple[str, ...], trained: tuple[str, ...]) -> _TopicPlan:
    """Match each caller topic to a trained one by name or synonym; the rest match their own name's words."""
    synonyms = _topic_names()["synonyms"]
    other = trained[-1]  # "Autre": what the model says when no known topic fits
    owner: dict[str, int] = {}
    custom: dict[str, int] = {}
    fallback: int | None = None
    for i, topic in enumerate(topics):
        words = _name_words(topic)
        counts = {t: sum(w in synonyms.get(t, ()) for w in words) for t in trained}
        best = max(trained, key=lambda t: (counts[t], -trained.index(t)))
        if counts[best] and best == other:
            fallback = i if fallback is None else fallback
        elif counts[best] and best not in owner:
            owner[best] = i
        else:
            for w in words:
                custom.setdefault(w, i)
    fallback = len(topics) - 1 if fallback is None else fallback
    matrix = np.zeros((len(trained), len(topics)))
    for k, t in enumerate(trained):
        matrix[k, owner.get(t, fallback)] = 1.0
    return _TopicPlan(topics, matrix, fallback, custom)


# --------------------------------------------------------------------------------------------------
# Provider
# --------------------------------------------------------------------------------------------------


class BuiltinAnalyzer(Provider):
    """Offline learned labeller; always answers, so it is the pipeline's safety net."""

    name = "builtin"

    def __init__(self, page_size: int = PAGINATE_ROWS_MAX):
        if not 1 <= page_size <= PAGINATE_ROWS_MAX:
            raise ValidationError("page_size", f"must be between 1 and {PAGINATE_ROWS_MAX}, got {page_size}.")
        self.page_size = page_size

    def label(self, rows: Sequence[Row], topics: Sequence[str]) -> dict[str, Label]:
        """Label every row; identical (text, author) pairs are analysed once. Engagement is not used."""
        topic_list = tuple(t for t in topics if isinstance(t, str) and t.strip())
        if not topic_list:
            raise ProviderError("The topic list is empty: add at least one topic in the settings.")
        model = _model()
        plan = _plan(topic_list, tuple(model.fields["main_topic"]))
        pairs = [(text if isinstance(text, str) else "", author if author in RULE_AUTHORS else "customer")
                 for _, text, _, author in rows]
        keys = dict.fromkeys(pairs)
        distinct = list(keys)
        labels: list[Label] = []
        for lo in range(0, len(distinct), BATCH_TEXTS):
            labels += _label_distinct(model, plan, distinct[lo:lo + BATCH_TEXTS])
        ids = [row.id for row in rows]
        if len(distinct) == len(pairs):  # the pipeline sends distinct texts: no re-mapping needed
            return dict(zip(ids, labels, strict=True))
        keys.update(zip(distinct, labels, strict=True))
        return dict(zip(ids, map(keys.__getitem__, pairs), strict=True))


def _label_distinct(model: NgramModel, plan: _TopicPlan, items: list[tuple[str, str]]) -> list[Label]:
    """Labels of distinct (text, author) pairs: the model's argmax per field, then the rules."""
    texts = [text for text, _ in items]
    authors = [author for _, author in items]
    ids = model.text_ids(texts)
    logits = model.logits(ids, authors)
    sizes = [len(model.fields[f]) for f in ("sentiment", "priority", "main_topic")]
    sentiment_p = softmax(logits[:, :sizes[0]])
    priority_p = softmax(logits[:, sizes[0]:sizes[0] + sizes[1]])
    topic_p = softmax(logits[:, sizes[0] + sizes[1]:]) @ plan.matrix
    sentiment, priority, topic = (p.argmax(axis=1) for p in (sentiment_p, priority_p, topic_p))
    rows = np.arange(len(items))
    confidence = np.column_stack([sentiment_p[rows, sentiment], priority_p[rows, priority], topic_p[rows, topic]])
    if plan.custom:
        for i, text in enumerate(texts):
            hit = min((plan.custom[k] for k in map(_word_key, features.tokens(text)) if k in plan.custom),
                      default=None)
            if hit is not None:
                # A custom topic named in the text: confidence = the model's mass on "none of the others".
                topic[i], confidence[i, 2] = hit, topic_p[i, plan.fallback]
    neutral = model.fields["sentiment"].index("neutral")
    low = model.fields["priority"].index("0")
    rule = model.rule_confidence
    for author in RULE_AUTHORS:
        ruled = np.array([a == author for a in authors], dtype=bool)
        sentiment[ruled], priority[ruled], confidence[ruled, :2] = neutral, low, rule[author]
    empty = ids.lengths == 0
    sentiment[empty], priority[empty], topic[empty], confidence[empty] = neutral, low, plan.fallback, rule["empty"]
    sentiments = list(map(model.fields["sentiment"].__getitem__, sentiment.tolist()))
    priorities = list(map(int, map(model.fields["priority"].__getitem__, priority.tolist())))
    topics = list(map(plan.topics.__getitem__, topic.tolist()))
    confidences = zip(*confidence.round(4).T.tolist(), strict=True)  # tuples built in C, not per row
    return list(map(Label, sentiments, priorities, topics, confidences))
