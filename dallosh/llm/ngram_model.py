"""The built-in analyzer's trained weights and their plain-numpy scoring (no scikit-learn at run time).

Speed is the point of this module: the pipeline labels ~80k distinct texts per 100k-row file and must stay
within 3× a bare CSV read + write, so per-text Python work is kept to a ``str.split`` and a few dict look-ups:

- a text is split on whitespace; every normalisation step of ``features.tokens`` is local to a
  whitespace-separated piece, so each distinct piece ("@free", "connexion", "depuis") is tokenised once and cached
  as a tuple of token ids (exactly ``features.tokens`` of the whole text, piece by piece);
- every token id has, once, its character-n-gram vector (the sum of its n-grams' weighted coefficients) and the
  row of its unigram;
- bigrams are matched for a whole batch at once: ``id₁·2³² + id₂`` keys searched in the sorted keys of the
  vocabulary's bigrams;
- per-text sums are ``np.add.reduceat`` over the batch; logits = sums / block norms + intercepts.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from itertools import chain
from pathlib import Path
from typing import NamedTuple

import numpy as np

from dallosh.llm import features

MODEL_DIR = Path(__file__).resolve().parent / "builtin_model"
#: Cached pieces and token ids are dropped past this many tokens (a 1M-row file has ~200k distinct words).
MAX_TOKENS = 1_000_000
_COLUMNS = 13  # 12 logits contributions + idf² (for the block's norm)
_SHIFT = np.int64(1 << 32)


class TokenIds(NamedTuple):
    """Token ids of a batch of texts: all of them in one array, and each text's count."""

    flat: np.ndarray
    lengths: np.ndarray


class NgramModel:
    """Loaded ``builtin_model/``: vocabularies, idf-weighted coefficients, classes and rule confidences."""

    def __init__(self, directory: Path = MODEL_DIR):
        meta = json.loads((directory / "model.json").read_text(encoding="utf-8"))
        with np.load(directory / "model.npz", allow_pickle=False) as z:
            vocab = z["word_vocab"].tolist()
            # Column 12 holds idf², so one gather + sum gives both a block's logits and its squared norm.
            # float32: halves the memory traffic of the gathers; sums of ~50 terms lose < 1e-5.
            self.words = np.vstack([np.hstack([z["word_weights"], z["word_sq"][:, None]]),
                                    np.zeros((1, _COLUMNS), dtype=np.float32)])  # last row: unknown n-grams
            self.char_index = {g: i for i, g in enumerate(z["char_vocab"].tolist())}
            self.chars = np.hstack([z["char_weights"], z["char_sq"][:, None]])
            self.intercepts = z["intercepts"].astype(np.float64)
        self.fields: dict[str, list[str]] = meta["fields"]
        self.rule_confidence: dict[str, float] = meta["rule_confidence"]
        if list(meta["char_ngrams"]) != list(features.CHAR_NGRAMS):
            raise RuntimeError("builtin_model was trained with other character n-grams: run `dallosh train-builtin`")
        self.missing = len(vocab)
        self.author_rows = {a: vocab.index(t) if t in vocab else self.missing
                            for a, t in features.AUTHOR_TOKENS.items()}
        self.word_index = {w: i for i, w in enumerate(vocab)}
        unigrams = [w for w in vocab if " " not in w]
        bigrams = [(w.split(" "), i) for i, w in enumerate(vocab) if " " in w]
        # Tokens named by the vocabulary get fixed ids, so the bigram keys below never change.
        self._base = list(dict.fromkeys(unigrams + [t for pair, _ in bigrams for t in pair]))
        self._reset()
        keys = np.array([self.token_id[a] * _SHIFT + self.token_id[b] for (a, b), _ in bigrams], dtype=np.int64)
        order = np.argsort(keys)
        self.bigram_keys = keys[order]
        self.bigram_rows = np.array([i for _, i in bigrams], dtype=np.intp)[order]

    # ---- token ids --------------------------------------------------------------------------------------------

    def _reset(self) -> None:
        self.token_id: dict[str, int] = {}
        self.pieces: dict[str, tuple[int, ...]] = {}
        self.unigram_row = np.empty(0, dtype=np.intp)
        self.char_vectors = np.empty((0, _COLUMNS), dtype=np.float32)
        self.n_tokens = 0
        self._register(self._base)

    def _register(self, tokens: Sequence[str]) -> None:
        """Give new tokens ids, their unigram row and their character-n-gram vector."""
        start = self.n_tokens
        end = start + len(tokens)
        if end > len(self.unigram_row):
            capacity = max(1024, 2 * end)
            self.unigram_row = np.resize(self.unigram_row, capacity)
            grown = np.zeros((capacity, _COLUMNS), dtype=np.float32)
            grown[:start] = self.char_vectors[:start]
            self.char_vectors = grown
        get = self.char_index.get
        grams = [[i for i in map(get, features.char_ngrams(t)) if i is not None] for t in tokens]
        owner = np.repeat(np.arange(len(tokens), dtype=np.intp), [len(g) for g in grams])
        rows = np.fromiter(chain.from_iterable(grams), dtype=np.intp, count=len(owner))
        self.char_vectors[start:end] = _segment_sums(self.chars, rows, owner, len(tokens))
        self.token_id.update(zip(tokens, range(start, end), strict=True))
        self.unigram_row[start:end] = [self.word_index.get(t, self.missing) for t in tokens]
        self.n_tokens = end

    def _add_pieces(self, pieces: list[str]) -> None:
        """Tokenise new pieces together, give their new tokens ids, cache each piece's token ids."""
        toks = features.tokens_of_pieces(pieces)
        new = [t for t in dict.fromkeys(chain.from_iterable(toks)) if t not in self.token_id]
        if new:
            self._register(new)
        get = self.token_id.__getitem__
        self.pieces.update(zip(pieces, (tuple(map(get, t)) for t in toks), strict=True))

    def text_ids(self, texts: Sequence[str]) -> TokenIds:
        """Token ids of the texts (``features.tokens`` of each, computed piece by piece through the cache)."""
        if self.n_tokens > MAX_TOKENS:
            self._reset()
        parts = [text.split() for text in texts]
        pieces = list(chain.from_iterable(parts))
        # set - dict runs in C: only the new pieces reach Python (sorted: token ids do not depend on hash order).
        new = set(pieces).difference(self.pieces)
        if new:
            self._add_pieces(sorted(new))
        ids = list(map(self.pieces.__getitem__, pieces))
        piece_lengths = np.fromiter(map(len, ids), dtype=np.intp, count=len(ids))
        counts = np.fromiter(map(len, parts), dtype=np.intp, count=len(parts))
        tokens_before = np.concatenate([[0], np.cumsum(piece_lengths)])  # tokens before each piece
        ends = np.cumsum(counts)
        lengths = tokens_before[ends] - tokens_before[ends - counts]
        flat = np.fromiter(chain.from_iterable(ids), dtype=np.int64, count=int(piece_lengths.sum()))
        return TokenIds(flat, lengths)

    def token_ids(self, docs: Sequence[Sequence[str]]) -> TokenIds:
        """Token ids of already tokenised texts (training's check that both paths agree)."""
        new = [t for t in dict.fromkeys(chain.from_iterable(docs)) if t not in self.token_id]
        if new:
            self._register(new)
        flat = np.fromiter(map(self.token_id.__getitem__, chain.from_iterable(docs)), dtype=np.int64)
        return TokenIds(flat, np.fromiter(map(len, docs), dtype=np.intp, count=len(docs)))

    # ---- scoring ----------------------------------------------------------------------------------------------

    def logits(self, ids: TokenIds, authors: Sequence[str]) -> np.ndarray:
        """(texts, 12) logits: sentiment, priority and topic classes in ``fields`` order."""
        flat, lengths = ids
        n = len(lengths)
        doc = np.repeat(np.arange(n, dtype=np.intp), lengths)
        # Word block: unigrams, bigrams inside one text, the author's pseudo-word.
        keys = flat[:-1] * _SHIFT + flat[1:]
        pos = np.minimum(np.searchsorted(self.bigram_keys, keys), max(len(self.bigram_keys) - 1, 0))
        hit = (doc[:-1] == doc[1:]) & (self.bigram_keys[pos] == keys) if len(self.bigram_keys) else keys < 0
        author_rows = np.fromiter((self.author_rows.get(a, self.missing) for a in authors), dtype=np.intp, count=n)
        word_rows = np.concatenate([self.unigram_row[flat], self.bigram_rows[pos[hit]], author_rows])
        word_doc = np.concatenate([doc, doc[:-1][hit], np.arange(n, dtype=np.intp)])
        order = np.argsort(word_doc, kind="stable")
        word = _segment_sums(self.words, word_rows[order], word_doc[order], n)
        char = _segment_sums(self.char_vectors, flat, doc, n)
        logits = np.tile(self.intercepts, (n, 1))
        for sums in (word.astype(np.float64), char.astype(np.float64)):
            norm = np.sqrt(sums[:, -1])
            norm[norm == 0] = 1.0
            logits += sums[:, :-1] / norm[:, None]
        return logits


def _segment_sums(table: np.ndarray, rows: np.ndarray, doc: np.ndarray, n: int) -> np.ndarray:
    """Per text, the sum of ``table[rows]`` over its occurrences (``doc`` sorted; texts without any sum to 0)."""
    out = np.zeros((n, table.shape[1]), dtype=table.dtype)
    if len(rows):
        starts = np.searchsorted(doc, np.arange(n))
        filled = np.bincount(doc, minlength=n) > 0
        # reduceat sums from each start to the next one: only non-empty texts may be given.
        out[filled] = np.add.reduceat(table[rows], starts[filled], axis=0)
    return out


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax (the multinomial logistic regression's probabilities)."""
    shifted = np.exp(logits - logits.max(axis=1, keepdims=True))
    return shifted / shifted.sum(axis=1, keepdims=True)
