"""Text → features for the learned built-in analyzer, shared by training (``train.py``) and inference.

One definition serves both, so the model is scored at inference on exactly the features it was trained on
(``train.py`` checks it). Pure stdlib: inference needs numpy only, never scikit-learn.

Features of one tweet:

- **word block**: word unigrams and bigrams of the normalised text, plus a pseudo-word for the author's role
  (operator account, retweet): the model learns, e.g., what the operator's own posts are about;
- **character block**: character n-grams (2–5) of each word padded with spaces (scikit-learn's ``char_wb``):
  they match spelling variants, slang and glued words that a word model has never seen.

Each occurrence is weighted by its idf; each block is divided by ``sqrt(Σ idf²)`` over its occurrences (the l2
norm of the block when no n-gram repeats), so long and short tweets weigh alike. Counting repeats separately
instead of merging them keeps inference a sum of cached per-word vectors (see ``builtin.py``).
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence

#: Character n-gram sizes (measured: 2–5 beat 1–4 and 3–6 on the train split's cross-validation).
CHAR_NGRAMS: tuple[int, int] = (2, 5)
#: Pseudo-words for the author's role (``Row.author``); customers get none.
AUTHOR_TOKENS: dict[str, str] = {"operator": "__author_operator__", "retweet": "__author_retweet__"}

_URL = re.compile(r"https?://\S+|www\.\S+")
_MENTION = re.compile(r"@\w+")
_ESCAPES = re.compile(r"\\[nrt]")
# The lowercased export turned every line break into a bare "n" glued to its neighbours ("désolés.nnretrouvez",
# "messenger ?ndes soucis"): two n's opening a word, or one n right after sentence punctuation, are breaks (no
# French or English word starts with "nn"; "n" after ".!?…" followed by a letter is almost always a break).
_ARTEFACT_NN = re.compile(r"(?<!\w)nn(?=\w)")
_ARTEFACT_PUNCT_N = re.compile(r"([.!?…:;])n(?=\w)")
#: Words, "!" and "?" (questions need an answer: priority), and emoji / pictographs one by one.
_TOKEN = re.compile(r"\w+|[!?]|[\u2190-\u2bff\U0001f000-\U0001faff]")


_BIGRAM = "{} {}".format


def normalise(text: str) -> str:
    """Make raw tweets and the lowercased training export look alike.

    Lower case; HTML entities decoded; URLs, @mentions, literal ``\\n`` and real line breaks removed (the
    training export had none of them); the export's stray-"n" line breaks undone.
    """
    if "&" in text:
        text = html.unescape(text)
    if "\\" in text:
        text = _ESCAPES.sub(" ", text)
    text = text.lower()
    if "http" in text or "www." in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _MENTION.sub(" ", text)
    if "nn" in text:
        text = _ARTEFACT_NN.sub(" ", text)
    return _ARTEFACT_PUNCT_N.sub(r"\1 ", text)


def tokens(text: str) -> list[str]:
    """Word tokens of a raw or exported tweet (after ``normalise``)."""
    return _TOKEN.findall(normalise(text))


def tokens_of_pieces(pieces: Sequence[str]) -> list[list[str]]:
    """``tokens`` of each whitespace-free piece, with one normalisation pass over all of them (faster).

    Every step of ``normalise`` is local to a whitespace-separated piece, so pieces joined by a line break are
    normalised as they would be one by one; a piece whose entities decode to a line break falls back to that.
    """
    normalised = normalise("\n".join(pieces)).split("\n")
    if len(normalised) != len(pieces):
        return [tokens(p) for p in pieces]
    return list(map(_TOKEN.findall, normalised))


def word_features(toks: list[str], author: str = "customer") -> list[str]:
    """Unigrams, bigrams (``"a b"``) and the author's pseudo-word: the word block's n-grams, with repeats."""
    grams = toks + list(map(_BIGRAM, toks, toks[1:]))
    role = AUTHOR_TOKENS.get(author)
    if role:
        grams.append(role)
    return grams


def char_ngrams(token: str, sizes: tuple[int, int] = CHAR_NGRAMS) -> list[str]:
    """Character n-grams of `` token `` (padded with spaces, like scikit-learn's ``char_wb``), with repeats."""
    padded = f" {token} "
    lo, hi = sizes
    return [padded[i:i + n] for n in range(lo, hi + 1) for i in range(len(padded) - n + 1)]
