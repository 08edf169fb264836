"""The built-in offline analyzer: the "default model" that always answers, with no network.

It is the fallback when an LLM provider fails and the default when no LLM is configured, so it must never raise
for ordinary input, must be fast (≥ 20,000 distinct texts/s, ``bench/eval_builtin.py``) and must only answer within
the allowed labels. It is a learned model: three multinomial logistic regressions (sentiment, priority, topic) on
word and character n-grams, trained on the project's real labelled tweets (``dallosh/llm/train.py``,
docs/labels.md). The weights ship in ``builtin_model/``; inference is plain numpy.

Inference for a batch of distinct texts: ``features.tokens`` → each word's character-n-gram vector (cached per
word: tweets share most of their words) and each word n-gram's vector are looked up, summed per text and block,
divided by the block's norm, plus the intercepts → a softmax per field. Two rules sit on top, both measured on the
train split's cross-validation (docs/labels.md): posts by the operator's accounts and retweets are neutral /
priority 0 (the topic stays the model's), and a text with no word at all is neutral / 0 / the fallback topic.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import accumulate, chain, repeat
from pathlib import Path

import numpy as np

from dallosh.defaults import PAGINATE_ROWS_MAX
from dallosh.errors import ProviderError, ValidationError
from dallosh.llm import features
from dallosh.llm.base import Label, Provider, Row

MODEL_DIR = Path(__file__).resolve().parent / "builtin_model"
#: Distinct words whose character vector is kept between calls (a 100k-tweet file has ~60k distinct words).
WORD_CACHE_MAX = 200_000
#: Texts scored per numpy batch: bounds the gathered (occurrences × 13) arrays to a few MB.
BATCH_TEXTS = 4096
#: Authors whose posts are neutral / priority 0 by rule (LABELING-GUIDELINE.md: company posts, retweets).
RULE_AUTHORS = frozenset({"operator", "retweet"})


class _Weights:
    """The artifact in memory: per n-gram vectors of 12 logits contributions + idf², and the classes."""

    def __init__(self, directory: Path = MODEL_DIR):
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        with np.load(directory / "model.npz", allow_pickle=False) as z:
            self.word_index = {w: i for i, w in enumerate(z["word_vocab"].tolist())}
            self.char_index = {g: i for i, g in enumerate(z["char_vocab"].tolist())}
            # Column 12 holds idf² so that one gather + sum gives both a block's logits and its squared norm.
            words = np.hstack([z["word_weights"], z["word_sq"][:, None]]).astype(np.float64)
            self.words = np.vstack([words, np.zeros((1, words.shape[1]))])
            self.chars = np.hstack([z["char_weights"], z["char_sq"][:, None]]).astype(np.float64)
            self.intercepts = z["intercepts"].astype(np.float64)
        self.fields: dict[str, list[str]] = meta["fields"]
        self.rule_confidence: dict[str, float] = meta["rule_confidence"]
        self.sizes = tuple(features.CHAR_NGRAMS)
        if list(meta["char_ngrams"]) != list(self.sizes):
            raise RuntimeError("builtin_model was trained with other character n-grams: run `dallosh train-builtin`")
        self.word_cache: dict[str, np.ndarray] = {}
        self._zero = np.zeros(self.chars.shape[1])

    def word_vector(self, token: str) -> np.ndarray:
        """Sum of the character-n-gram rows of one word (with its idf² in the last column)."""
        vector = self.word_cache.get(token)
        if vector is None:
            index = self.char_index
            ids = [i for i in map(index.get, features.char_ngrams(token, self.sizes)) if i is not None]
            vector = self.chars[ids].sum(axis=0) if ids else self._zero
            if len(self.word_cache) >= WORD_CACHE_MAX:
                self.word_cache.clear()
            self.word_cache[token] = vector
        return vector

    def logits(self, texts: Sequence[tuple[list[str], str]]) -> np.ndarray:
        """(len(texts), 12) logits for (tokens, author) pairs."""
        get, missing = self.word_index.get, repeat(len(self.words) - 1)  # last row: zeros, for unknown n-grams
        grams = [features.word_features(toks, author) for toks, author in texts]
        word_ids = list(map(get, chain.from_iterable(grams), missing))
        word_ends = list(accumulate(map(len, grams)))
        all_tokens = list(chain.from_iterable(toks for toks, _ in texts))
        char_ends = list(accumulate(len(toks) for toks, _ in texts))
        local = dict.fromkeys(all_tokens)  # distinct words of the batch → row of ``batch_words``
        for row, token in enumerate(local):
            local[token] = row
        char_ids = list(map(local.__getitem__, all_tokens))
        batch_words = np.array([self.word_vector(t) for t in local]) if local else self._zero[None, :]
        logits = np.tile(self.intercepts, (len(texts), 1))
        for table, ids, ends in ((self.words, word_ids, word_ends), (batch_words, char_ids, char_ends)):
            sums = _segment_sums(table, ids, ends)
            norm = np.sqrt(sums[:, -1])
            norm[norm == 0] = 1.0
            logits += sums[:, :-1] / norm[:, None]
        return logits


def _segment_sums(table: np.ndarray, ids: list[int], ends: list[int]) -> np.ndarray:
    """Row sums of ``table[ids]`` per segment (segment k ends at ``ends[k]``; empty segments sum to 0)."""
    stops = np.asarray(ends, dtype=np.intp)
    starts = np.concatenate([[0], stops[:-1]]).astype(np.intp)
    out = np.zeros((len(ends), table.shape[1]))
    filled = stops > starts
    if filled.any():
        # reduceat sums from each start to the next one: only non-empty segments may be given.
        out[filled] = np.add.reduceat(table[np.asarray(ids, dtype=np.intp)], starts[filled], axis=0)
    return out


@lru_cache(maxsize=1)
def _weights() -> _Weights:
    return _Weights()


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


def _softmax(logits: np.ndarray) -> np.ndarray:
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)


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
        weights = _weights()
        plan = _plan(topic_list, tuple(weights.fields["main_topic"]))
        keys: dict[tuple[str, str], int] = {}
        order: list[int] = []
        for row in rows:
            text = row.text if isinstance(row.text, str) else ""
            author = row.author if row.author in RULE_AUTHORS else "customer"
            order.append(keys.setdefault((text, author), len(keys)))
        distinct = list(keys)
        labels: list[Label] = []
        for lo in range(0, len(distinct), BATCH_TEXTS):
            labels += self._label_distinct(weights, plan, distinct[lo:lo + BATCH_TEXTS])
        return {row.id: labels[k] for row, k in zip(rows, order, strict=True)}

    def _label_distinct(self, weights: _Weights, plan: _TopicPlan,
                        items: list[tuple[str, str]]) -> list[Label]:
        parsed = [(features.tokens(text), author) for text, author in items]
        logits = weights.logits(parsed)
        sentiment_p, priority_p, topic_p = (_softmax(logits[:, s]) for s in _slices(weights))
        caller_p = topic_p @ plan.matrix
        picks = [p.argmax(axis=1) for p in (sentiment_p, priority_p, caller_p)]
        rows = np.arange(len(parsed))
        confidence = np.column_stack([p[rows, k] for p, k in zip((sentiment_p, priority_p, caller_p), picks,
                                                                   strict=True)]).round(4)
        sentiments = np.asarray(weights.fields["sentiment"], dtype=object)[picks[0]].tolist()
        priorities = np.asarray(weights.fields["priority"], dtype=np.int64)[picks[1]].tolist()
        topic_names = np.asarray(plan.topics, dtype=object)
        topics = topic_names[picks[2]].tolist()
        confidences = list(map(tuple, confidence.tolist()))
        rule = weights.rule_confidence
        for i, (toks, author) in enumerate(parsed):
            if plan.custom:
                hit = min((plan.custom[k] for k in map(_word_key, toks) if k in plan.custom), default=None)
                if hit is not None:
                    # A custom topic named in the text: confidence = the model's mass on "none of the others".
                    topics[i] = plan.topics[hit]
                    confidences[i] = (*confidences[i][:2], round(float(caller_p[i, plan.fallback]), 4))
            if not toks:
                sentiments[i], priorities[i], topics[i] = "neutral", 0, plan.topics[plan.fallback]
                confidences[i] = (rule["empty"],) * 3
            elif author in RULE_AUTHORS:
                sentiments[i], priorities[i] = "neutral", 0
                confidences[i] = (rule[author], rule[author], confidences[i][2])
        return list(map(Label, sentiments, priorities, topics, confidences))


def _slices(weights: _Weights) -> list[slice]:
    out, start = [], 0
    for name in ("sentiment", "priority", "main_topic"):
        size = len(weights.fields[name])
        out.append(slice(start, start + size))
        start += size
    return out
