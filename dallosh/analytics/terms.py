"""What customers actually say: the most frequent terms and hashtags of a selection of tweets, fast enough to
recompute on every filter click on 1M rows.

Texts repeat a lot (retweets, copies, the operator's templates), so :func:`build_term_index` (once per load)
tokenises each distinct text once into a sparse matrix distinct text → term ids (CSR, numpy arrays). Counting the
terms of a selection is then a few ``bincount`` over the distinct texts it contains, whatever its size.

Tokenisation (one function, shared by the index, :func:`terms_of` and :func:`term_mask`): links, @handles and
literal ``\\n`` escapes are removed; the text is folded like the search folds it
(:func:`~dallosh.analytics.fold_text`: lower case, accents removed); tokens are hashtags (``#panne``) and words
(letters and digits; a hyphenated compound stays whole: ``wi-fi``). A word is dropped when it is a stopword
(``dallosh/data/stopwords.txt``), shorter than 3 characters or starts with a digit (numbers, ``10h``, ``2eme``),
unless ``dallosh/data/kept_terms.txt`` keeps it (``4g``, ``tv``, ``wi-fi``); a compound when each of its parts
would be dropped (``est-ce``); a hashtag only when its body has no letter (``#1``). A term counts once per tweet,
however often the tweet repeats it.

Speed (``bench/bench_terms.py``): Python objects per token are what costs, so texts are cut into pieces at the
ASCII characters no token holds with ``bytes.translate`` + ``split`` (C speed), and only each distinct piece
("réseau", "l’internet", "PANNE") is decoded, folded and tokenised, once.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from itertools import groupby
from pathlib import Path

import numpy as np
import pandas as pd

from dallosh.analytics.load import _codes

DATA = Path(__file__).resolve().parents[1] / "data"
STOPWORDS_FILE = DATA / "stopwords.txt"
KEPT_TERMS_FILE = DATA / "kept_terms.txt"
#: Shortest word kept (unless listed in kept_terms.txt).
MIN_WORD_LENGTH = 3
#: Above this many cells, (group × distinct text) and (group × term) counts are aggregated by sorting instead of
#: a dense bincount (groups with many values, e.g. authors).
DENSE_CELLS = 8_000_000

#: Blanked before tokenising: links, @handles and the two-character escapes scrapers write for line breaks.
_LINKS = re.compile(r"(?i:https?://|www\.|pic\.twitter\.com/)[^\s\x00]+|@\w+|\\[nrt]")
#: The tokens of a folded piece: a hashtag, or a word or hyphenated compound.
_TOKEN = re.compile(r"#\w+|\w+(?:-\w+)*")
_LETTER = re.compile(r"[^\W\d_]")
#: Astral characters that may be combining marks (they all lie below the emoji blocks).
_ASTRAL = re.compile("[\U00010000-\U0001efff]")
#: Texts processed per call, joined by a separator no step changes, crosses or keeps inside a text.
_BATCH = 4096
_SEPARATOR = "\x00"
#: UTF-8 bytes → the same bytes, except the ASCII characters no token holds (blanks, punctuation), which become
#: spaces: ``bytes.translate`` then ``bytes.split`` cut a text into pieces at C speed. Non-ASCII characters
#: (accents, ’, «, emoji) stay inside their piece; each distinct piece is then folded and tokenised once.
_PIECES = bytes(c if chr(c).isalnum() or chr(c) in "_#-\x00" or c >= 0x80 else 0x20 for c in range(256))


def _word_list(path: Path) -> frozenset[str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return frozenset(_fold(line.strip()) for line in lines if line.strip() and not line.lstrip().startswith("#"))


@cache
def stopwords() -> frozenset[str]:
    """The folded stopwords of ``dallosh/data/stopwords.txt`` (read once per process)."""
    return _word_list(STOPWORDS_FILE)


@cache
def kept_terms() -> frozenset[str]:
    """The folded terms of ``dallosh/data/kept_terms.txt``, kept although short, numeric or made of such parts."""
    return _word_list(KEPT_TERMS_FILE)


@cache
def _combining() -> tuple[re.Pattern[str], dict[int, None]]:
    """Every combining character (what :func:`fold_text` drops after NFKD): the Basic Multilingual Plane's as one
    regex class (one C-level substitution per text), the few others as a ``str.translate`` table (a regex class
    of astral ranges is tested range by range, 10× slower), used only on texts with astral characters."""
    marks = [cp for cp in range(sys.maxunicode + 1) if unicodedata.combining(chr(cp))]
    ranges = []
    for _, run in groupby(enumerate(cp for cp in marks if cp <= 0xFFFF), lambda item: item[1] - item[0]):
        first, *rest = (cp for _, cp in run)
        ranges.append(re.escape(chr(first)) + ("-" + re.escape(chr(rest[-1])) if rest else ""))
    table: dict[int, None] = dict.fromkeys(cp for cp in marks if cp > 0xFFFF)
    return re.compile("[" + "".join(ranges) + "]"), table


def _fold(text: str) -> str:
    """:func:`fold_text` (lower case, accents removed), faster: "Réseau ÉTÉ" → "reseau ete"."""
    marks, astral_marks = _combining()
    decomposed = marks.sub("", unicodedata.normalize("NFKD", text))
    if _ASTRAL.search(decomposed):
        decomposed = decomposed.translate(astral_marks)
    return decomposed.casefold()


def _strip(text: str) -> str:
    """``text`` with links, handles and escapes blanked (the batch separator too, if a text holds it)."""
    return _LINKS.sub(" ", text.replace(_SEPARATOR, " "))


def _strip_joined(text: str) -> str:
    return _LINKS.sub(" ", text)


def _batched(texts: Sequence[object], step: Callable[[str], str], single: Callable[[str], str]) -> list[str]:
    """``single`` of each text, computed as ``step`` of a batch of texts joined by the separator (one C-level
    pass instead of thousands of small calls); a batch holding the separator itself is done text by text."""
    out: list[str] = []
    for start in range(0, len(texts), _BATCH):
        chunk = [str(text) for text in texts[start:start + _BATCH]]
        joined = _SEPARATOR.join(chunk)
        if joined.count(_SEPARATOR) == len(chunk) - 1:
            out.extend(step(joined).split(_SEPARATOR))
        else:
            out.extend(map(single, chunk))
    return out


def _stripped(values: pd.Series | pd.Index) -> tuple[np.ndarray, np.ndarray]:
    """(code of each value, distinct stripped texts): values that strip alike (the same reply to another
    @handle) are tokenised once."""
    codes, distinct = pd.factorize(pd.Series(_batched(np.asarray(values, dtype=object), _strip_joined, _strip),
                                             dtype=object))
    return codes, np.asarray(distinct, dtype=object)


def _pieces(text: str) -> list[bytes]:
    """``text`` cut at the ASCII characters no token holds (see ``_PIECES``)."""
    return text.encode("utf-8", "surrogatepass").translate(_PIECES).split()


def _keep_word(word: str) -> bool:
    if len(word) < MIN_WORD_LENGTH or word[0].isdigit() or word in stopwords():
        return word in kept_terms()
    return _LETTER.search(word) is not None


def _keep(token: str) -> bool:
    """Whether a folded token is a term (module docstring)."""
    if token.startswith("#"):
        return _LETTER.search(token, 1) is not None
    if token in kept_terms():
        return True
    if "-" in token:
        return token not in stopwords() and any(_keep_word(part) for part in token.split("-"))
    return _keep_word(token)


def _piece_terms(piece: bytes) -> list[tuple[str, str]]:
    """The terms of one piece: decoded, folded, tokenised, each kept once (module docstring), each with the
    form it is written in here (lower case, accents kept: what a reader is shown)."""
    text = piece.decode("utf-8", "surrogatepass")
    tokens = _TOKEN.findall(_fold(text))
    written = _TOKEN.findall(unicodedata.normalize("NFC", text).lower())
    if len(written) != len(tokens):  # folding split or joined a token: show the folded form
        written = tokens
    kept: dict[str, str] = {}
    for token, form in zip(tokens, written, strict=True):
        if token not in kept and _keep(token):
            kept[token] = form
    return list(kept.items())


def terms_of(text: str) -> set[str]:
    """The terms one text contributes (each once), e.g. to explain a count or to test the rules."""
    return {term for piece in _pieces(_strip(str(text))) for term, _ in _piece_terms(piece)}


class _Vocabulary(dict[bytes, int]):
    """piece → piece id, deciding each piece's terms the first time it is seen (folding and the rules run once
    per distinct piece, not once per occurrence); the separator piece is -1."""

    def __init__(self) -> None:
        super().__init__()
        self[_SEPARATOR.encode()] = -1
        self.terms: list[str] = []
        #: How each term is shown: its first written form with accents, if any ("réseau", not "reseau").
        self.labels: list[str] = []
        self.term_ids: dict[str, int] = {}
        self.piece_terms: list[list[int]] = []

    def __missing__(self, piece: bytes) -> int:
        ids = []
        for term, form in _piece_terms(piece):
            if term not in self.term_ids:
                self.term_ids[term] = len(self.terms)
                self.terms.append(term)
                self.labels.append(form)
            elif form != term and self.labels[self.term_ids[term]] == term:
                self.labels[self.term_ids[term]] = form
            ids.append(self.term_ids[term])
        self.piece_terms.append(ids)
        piece_id = self[piece] = len(self.piece_terms) - 1
        return piece_id

    def csr(self) -> tuple[np.ndarray, np.ndarray]:
        """(indptr, term ids) of the pieces seen so far."""
        lengths = np.fromiter(map(len, self.piece_terms), dtype=np.int64, count=len(self.piece_terms))
        indptr = np.zeros(len(lengths) + 1, dtype=np.int64)
        np.cumsum(lengths, out=indptr[1:])
        flat = np.fromiter((i for ids in self.piece_terms for i in ids), dtype=np.int32, count=int(indptr[-1]))
        return indptr, flat


@dataclass(frozen=True, eq=False)
class TermIndex:
    """The terms of every row of a frame, by distinct text.

    ``codes[row]`` is the row's distinct text (a missing text is the last, empty one); the terms of distinct text
    ``t`` are ``indices[indptr[t]:indptr[t + 1]]`` (each once), ids into ``terms`` (sorted, so that a smaller id
    is alphabetically first); ``is_hashtag`` flags the ``#…`` terms.
    """

    codes: np.ndarray
    indptr: np.ndarray
    indices: np.ndarray
    terms: np.ndarray
    is_hashtag: np.ndarray
    #: How each term is shown (accents kept); a term's filter is its ``terms`` entry, or this (folded alike).
    labels: np.ndarray | None = None

    @property
    def rows(self) -> int:
        return len(self.codes)

    @property
    def texts(self) -> int:
        return len(self.indptr) - 1


def _expand(indptr: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``rows`` of each element, element index) of the CSR segments ``rows`` laid end to end."""
    starts = indptr[rows]
    lengths = indptr[rows + 1] - starts
    offsets = np.cumsum(lengths) - lengths
    owner = np.repeat(np.arange(len(rows)), lengths)
    return owner, np.repeat(starts - offsets, lengths) + np.arange(int(lengths.sum()))


def build_term_index(texts: pd.Series) -> TermIndex:
    """Tokenise each distinct text of ``texts`` once (the frame's ``full_text``); the index then answers
    :func:`top_terms` and :func:`terms_by` for any selection of its rows.

    Links, handles and escapes are blanked first and the index's distinct texts are the texts left (the same
    reply to two @handles is tokenised once); texts are cut into pieces at C speed and each distinct piece is
    folded and tokenised once.
    """
    codes, uniques = _codes(texts)
    stripped, keys = _stripped(uniques)
    vocabulary = _Vocabulary()
    batches: list[tuple[int, np.ndarray]] = []
    for start in range(0, len(keys), _BATCH):
        joined = f" {_SEPARATOR} ".join(keys[start:start + _BATCH])
        batches.append((start, np.frombuffer(array("i", map(vocabulary.__getitem__, _pieces(joined))),
                                             dtype=np.int32)))
    piece_indptr, piece_terms = vocabulary.csr()
    pairs: list[np.ndarray] = []
    for start, pieces in batches:
        text = start + np.cumsum(pieces == -1)  # the separator ends a text
        real = np.flatnonzero(pieces >= 0)
        owner, position = _expand(piece_indptr, pieces[real].astype(np.int64))
        key = (text[real][owner].astype(np.int64) << 32) | piece_terms[position].astype(np.int64)
        key.sort()  # then each (text, term) once: sort + compare is 7× faster than np.unique here
        pairs.append(key[np.concatenate(([True], key[1:] != key[:-1]))] if len(key) else key)
    pair = np.concatenate(pairs) if pairs else np.zeros(0, dtype=np.int64)
    terms = np.array(vocabulary.terms, dtype=object)
    order = np.argsort(terms, kind="stable") if len(terms) else np.zeros(0, dtype=np.int64)
    new_id = np.empty(len(terms), dtype=np.int32)
    new_id[order] = np.arange(len(terms), dtype=np.int32)
    terms = terms[order]
    labels = np.array(vocabulary.labels, dtype=object)[order] if len(order) else np.zeros(0, dtype=object)
    indptr = np.zeros(len(keys) + 2, dtype=np.int64)  # + the empty text of missing values
    np.cumsum(np.bincount(pair >> 32, minlength=len(keys) + 1), out=indptr[1:])
    return TermIndex(
        codes=np.append(stripped, len(keys))[codes].astype(np.int32),  # code -1 (missing) → the empty text
        indptr=indptr,
        indices=new_id[(pair & 0xFFFFFFFF).astype(np.int64)],
        terms=terms,
        is_hashtag=np.fromiter((t.startswith("#") for t in terms), dtype=bool, count=len(terms)),
        labels=labels,
    )


def _positions(index: TermIndex, rows: np.ndarray | None) -> np.ndarray:
    """``rows`` as positions into the indexed frame (a boolean mask is accepted too); None → every row."""
    if rows is None:
        return np.arange(index.rows)
    rows = np.asarray(rows)
    if rows.dtype == bool:
        if len(rows) != index.rows:
            raise ValueError(f"a mask of {len(rows)} rows for an index of {index.rows}")
        return np.flatnonzero(rows)
    return rows.astype(np.int64, copy=False)


def _aggregate(keys: np.ndarray, weights: np.ndarray | None, cells: int) -> tuple[np.ndarray, np.ndarray]:
    """(distinct keys, summed weights) of integer ``keys`` < ``cells``, keys ascending: a dense bincount when
    the cells are few (:data:`DENSE_CELLS`), a sort otherwise."""
    if cells <= DENSE_CELLS:
        totals = np.bincount(keys, weights=weights, minlength=cells)
        present = np.flatnonzero(totals)
        return present, totals[present].astype(np.int64)
    present, inverse = np.unique(keys, return_inverse=True)
    return present, np.bincount(inverse, weights=weights, minlength=len(present)).astype(np.int64)


def _counts(index: TermIndex, rows: np.ndarray, groups: np.ndarray | None, n_groups: int,
            allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(group, term, tweets) of every (group, term) present among ``rows``; ``groups`` are the rows' group codes
    (None: one group), ``allowed`` a mask over the terms."""
    texts = index.texts
    group_of_row = np.zeros(len(rows), dtype=np.int64) if groups is None else groups.astype(np.int64)
    cells, tweets = _aggregate(group_of_row * texts + index.codes[rows], None, n_groups * texts)
    text, group = cells % texts, cells // texts
    owner, position = _expand(index.indptr, text)  # the terms of every (group, text) cell, end to end
    term = index.indices[position].astype(np.int64)
    weight = tweets[owner].astype(np.float64)
    key = group[owner] * len(index.terms) + term
    if allowed is not None:
        keep = allowed[term]
        key, weight = key[keep], weight[keep]
    cells, counts = _aggregate(key, weight, n_groups * len(index.terms))
    return cells // max(len(index.terms), 1), cells % max(len(index.terms), 1), counts


def _allowed(index: TermIndex, hashtags: bool | None) -> np.ndarray | None:
    if hashtags is None:
        return None
    return index.is_hashtag if hashtags else ~index.is_hashtag


def _table(index: TermIndex, term: np.ndarray, tweets: np.ndarray, selected: int, n: int) -> pd.DataFrame:
    """The ``n`` most frequent of these terms (ties: alphabetical, i.e. smaller id) as the result frame."""
    if n > 0 and len(term) > n:  # shortlist: every term tied with the n-th, then sort those only
        nth = np.partition(tweets, len(tweets) - n)[len(tweets) - n]
        shortlist = tweets >= nth
        term, tweets = term[shortlist], tweets[shortlist]
    order = np.lexsort((term, -tweets))[: max(n, 0)]
    term, tweets = term[order], tweets[order]
    return pd.DataFrame({
        "term": pd.Series(index.terms[term], dtype="str"),
        "label": pd.Series((index.terms if index.labels is None else index.labels)[term], dtype="str"),
        "tweets": tweets.astype(np.int64),
        "share": tweets * 100.0 / selected if selected else np.zeros(len(tweets)),
    })


def top_terms(index: TermIndex, rows: np.ndarray | None = None, n: int = 15, *,
              hashtags: bool | None = None) -> pd.DataFrame:
    """The ``n`` terms most tweets of the selection contain: ``term``, ``tweets`` (selected tweets containing it)
    and ``share`` (% of the selected tweets); most frequent first, ties alphabetical.

    ``rows`` are positions into the indexed frame (None: all of them; a boolean mask works too);
    ``hashtags=True`` counts only hashtags, False only words, None both.
    """
    positions = _positions(index, rows)
    _, term, tweets = _counts(index, positions, None, 1, _allowed(index, hashtags))
    return _table(index, term, tweets, len(positions), n)


def terms_by(index: TermIndex, groups: pd.Series, rows: np.ndarray | None = None, n: int = 5, *,
             hashtags: bool | None = None) -> dict[str, pd.DataFrame]:
    """The top ``n`` terms (as :func:`top_terms`, shares of the group's selected tweets) per value of ``groups``,
    a column of the indexed frame such as ``main_topic`` or ``sentiment``: the biggest group first (then by
    name); rows without a value and groups without a selected row are left out."""
    if len(groups) != index.rows:
        raise ValueError(f"groups has {len(groups)} rows, the index {index.rows}")
    positions = _positions(index, rows)
    codes, names = _codes(groups)
    codes = codes[positions].astype(np.int64)
    valued = codes >= 0
    positions, codes = positions[valued], codes[valued]
    sizes = np.bincount(codes, minlength=len(names))
    group, term, tweets = _counts(index, positions, codes, len(names), _allowed(index, hashtags))
    labels = names.astype("str").to_numpy()
    present = np.flatnonzero(sizes)
    order = present[np.lexsort((labels[present], -sizes[present]))]
    bounds = np.searchsorted(group, np.arange(len(names) + 1))  # _aggregate returns cells sorted by group
    return {str(labels[g]): _table(index, term[bounds[g]:bounds[g + 1]], tweets[bounds[g]:bounds[g + 1]],
                                   int(sizes[g]), n)
            for g in order}


def term_mask(texts: pd.Series, term: str, *, index: TermIndex | None = None) -> np.ndarray:
    """True for the rows whose text contains ``term`` as :func:`top_terms` counts it (click-to-filter): its
    ``tweets`` count is this mask's sum on the same rows.

    ``term`` is folded like the texts ("Fibre" finds "fibre"). Pass the ``index`` built from ``texts``: the
    answer is then a lookup (milliseconds); without it the index is built first (seconds on 1M rows).
    """
    wanted = _fold(term.strip())
    if index is not None:
        if index.rows != len(texts):
            raise ValueError(f"texts has {len(texts)} rows, the index {index.rows}")
        found = np.searchsorted(index.terms, wanted) if len(index.terms) else 0
        if found >= len(index.terms) or index.terms[found] != wanted:
            return np.zeros(index.rows, dtype=bool)
        pairs = np.flatnonzero(index.indices == found)
        has = np.zeros(index.texts, dtype=bool)
        has[np.searchsorted(index.indptr, pairs, side="right") - 1] = True
        return has[index.codes]
    return term_mask(texts, wanted, index=build_term_index(texts))
