"""Train the built-in analyzer and write its artifact: ``dallosh train-builtin`` (= ``python -m dallosh.llm.train``).

Training material (docs/labels.md): the ``train`` split of ``evaluation/real_gold.csv`` (texts joined by id from
``../shared/data/real_tweets_unlabeled.csv``, never copied here) plus ``training/handwritten.csv`` (the
real set has 3 positive tweets in its train split: without a few written ones the model could never say
"positive"). The ``test`` split is never read here.

One multinomial logistic regression per field (scikit-learn, lbfgs: deterministic) on the features of
``features.py``. The artifact holds the vocabularies and, per n-gram, its idf-weighted coefficients, so
inference is a sum of looked-up vectors in plain numpy. Rebuilding on the same data gives the same bytes.

``--cv`` prints the model-selection table: 5-fold cross-validation on the train split for a few configurations.
Needs scikit-learn (``pip install -e .[train]``); the product itself does not.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import sys
import zipfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from dallosh.config import PROJECT_ROOT
from dallosh.defaults import DEFAULT_TOPICS, PRIORITIES, SENTIMENTS
from dallosh.evaluation import load_gold
from dallosh.llm import features
from dallosh.llm.builtin import RULE_AUTHORS

GOLD = PROJECT_ROOT / "evaluation" / "real_gold.csv"
TEXTS = PROJECT_ROOT.parent / "shared" / "data" / "real_tweets_unlabeled.csv"
HANDWRITTEN = PROJECT_ROOT / "training" / "handwritten.csv"
MODEL_DIR = Path(__file__).resolve().parent / "builtin_model"
#: Gold column → the model's classes, in the artifact's column order.
FIELDS: dict[str, tuple[str, ...]] = {
    "sentiment": SENTIMENTS,
    "priority": tuple(str(p) for p in PRIORITIES),
    "main_topic": DEFAULT_TOPICS,
}
SEED = 0
CV_FOLDS = 5


@dataclass(frozen=True)
class Config:
    """One training configuration (the defaults are the shipped model, chosen by ``--cv``)."""

    name: str = "shipped: C=10, class weights on topic, author feature + rule, handwritten rows"
    words: bool = True
    chars: bool = True
    #: Inverse regularisation strength of the logistic regressions.
    c: float = 10.0
    #: Fields trained with class weights inversely proportional to class frequency (rare topics matter).
    balanced: tuple[str, ...] = ("main_topic",)
    #: Character n-grams seen in fewer training tweets are dropped (halves the artifact, no measured loss).
    char_min_df: int = 2
    handwritten: bool = True
    author_feature: bool = True
    #: Operator accounts' posts and retweets are neutral / 0 by rule (guideline), not by the model.
    author_rule: bool = True
    #: Weight of the word block (against the character block) in the topic model; folded into its coefficients.
    topic_word_weight: float = 1.0
    #: Self-training: unlabelled real tweets the first model labels with at least this probability on every
    #: field are added with those labels and the model is fitted again (0 = off).
    self_training: float = 0.0


@dataclass
class Docs:
    """Tokenised tweets with their author role and gold labels."""

    tokens: list[list[str]]
    authors: list[str]
    labels: dict[str, list[str]] = field(default_factory=dict)

    def take(self, index: Sequence[int]) -> Docs:
        return Docs([self.tokens[i] for i in index], [self.authors[i] for i in index],
                    {k: [v[i] for i in index] for k, v in self.labels.items()})

    def __add__(self, other: Docs) -> Docs:
        return Docs(self.tokens + other.tokens, self.authors + other.authors,
                    {k: v + other.labels[k] for k, v in self.labels.items()})


def load_docs(gold: Path = GOLD, texts: Path = TEXTS, split: str = "train") -> Docs:
    """The real labelled tweets of ``split`` with their texts and roles (as ``dallosh eval`` builds them)."""
    from dallosh.evaluation import rows_for

    frame = load_gold(gold, split=split, texts=texts)
    if frame["full_text"].isna().any():
        raise SystemExit(f"{int(frame['full_text'].isna().sum())} gold ids have no text in {texts}")
    rows = rows_for(frame)
    return Docs([features.tokens(r.text) for r in rows], [r.author for r in rows],
                {f: frame[f].tolist() for f in FIELDS})


def load_unlabelled(texts: Path = TEXTS, labelled: Path = PROJECT_ROOT / "evaluation" / "pass_a.csv") -> Docs:
    """Real tweets that nobody labelled (every id of the labelling passes, test split included, left out)."""
    from dallosh.evaluation import rows_for

    frame = pd.read_csv(texts, dtype=str, keep_default_na=False)
    seen = set(pd.read_csv(labelled, dtype=str, keep_default_na=False)["id"])
    frame = frame[~frame["id"].isin(seen)].drop_duplicates("full_text").reset_index(drop=True)
    rows = rows_for(frame)
    return Docs([features.tokens(r.text) for r in rows], [r.author for r in rows], {})


def load_handwritten(path: Path = HANDWRITTEN) -> Docs:
    """The handwritten training rows (``training/README.md``), as customers' tweets."""
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return Docs([features.tokens(t) for t in frame["text"]], ["customer"] * len(frame),
                {f: frame[f].tolist() for f in FIELDS})


def _author(author: str, cfg: Config) -> str:
    return author if cfg.author_feature else "customer"


@dataclass
class Vocabulary:
    """Feature names and idf of both blocks, sorted (so the artifact is reproducible)."""

    words: list[str]
    chars: list[str]
    word_idf: np.ndarray
    char_idf: np.ndarray

    @classmethod
    def build(cls, docs: Docs, cfg: Config) -> Vocabulary:
        n = len(docs.tokens)
        word_df: Counter[str] = Counter()
        char_df: Counter[str] = Counter()
        for toks, author in zip(docs.tokens, docs.authors, strict=True):
            if cfg.words:
                word_df.update(set(features.word_features(toks, _author(author, cfg))))
            if cfg.chars:
                char_df.update({g for t in toks for g in features.char_ngrams(t)})
        words = sorted(word_df)
        chars = sorted(g for g, df in char_df.items() if df >= cfg.char_min_df)

        def idf(df: Counter[str], names: list[str]) -> np.ndarray:
            # scikit-learn's smooth idf: ln((1 + n) / (1 + df)) + 1.
            return np.array([math.log((1 + n) / (1 + df[w])) + 1.0 for w in names], dtype=np.float64)

        return cls(words, chars, idf(word_df, words), idf(char_df, chars))

    def matrix(self, docs: Docs, cfg: Config):
        """The training matrix (scipy CSR): idf per occurrence, each block divided by sqrt(Σ idf²)."""
        from scipy.sparse import csr_matrix

        word_index = {w: i for i, w in enumerate(self.words)}
        char_index = {g: i + len(self.words) for i, g in enumerate(self.chars)}
        idf = np.concatenate([self.word_idf, self.char_idf])
        data: list[float] = []
        cols: list[int] = []
        indptr = [0]
        for toks, author in zip(docs.tokens, docs.authors, strict=True):
            blocks = []
            if cfg.words:
                blocks.append([word_index[w] for w in features.word_features(toks, _author(author, cfg))
                               if w in word_index])
            if cfg.chars:
                blocks.append([char_index[g] for t in toks for g in features.char_ngrams(t) if g in char_index])
            for ids in blocks:
                weights = idf[ids]
                norm = math.sqrt(float((weights**2).sum())) or 1.0
                cols += ids
                data += (weights / norm).tolist()
            indptr.append(len(cols))
        return csr_matrix((data, cols, indptr), shape=(len(docs.tokens), len(idf)))


def word_weight(cfg: Config, name: str) -> float:
    """How much the word block counts for field ``name`` (1 except the topic's when configured)."""
    return cfg.topic_word_weight if name == "main_topic" else 1.0


def for_field(x, vocab: Vocabulary, cfg: Config, name: str):
    """``x`` with its word columns scaled by ``word_weight`` (a no-op at 1)."""
    weight = word_weight(cfg, name)
    if weight == 1.0:
        return x
    from scipy.sparse import diags

    scale = np.ones(x.shape[1])
    scale[:len(vocab.words)] = weight
    return (x @ diags(scale)).tocsr()


@dataclass
class Trained:
    """A fitted configuration: vocabulary and one classifier per field."""

    cfg: Config
    vocab: Vocabulary
    models: dict[str, Any]
    rows: dict[str, int] = field(default_factory=dict)
    rule_confidence: dict[str, float] = field(default_factory=dict)

    def predict(self, docs: Docs) -> dict[str, list[str]]:
        x = self.vocab.matrix(docs, self.cfg)
        out = {f: list(m.predict(for_field(x, self.vocab, self.cfg, f))) for f, m in self.models.items()}
        if self.cfg.author_rule:
            for i, author in enumerate(docs.authors):
                if author in RULE_AUTHORS:
                    out["sentiment"][i], out["priority"][i] = "neutral", "0"
        return out


def fit(docs: Docs, cfg: Config) -> Trained:
    """Fit the vocabulary and the three classifiers on ``docs`` (plus the handwritten set if configured)."""
    from threadpoolctl import threadpool_limits

    # One BLAS thread: 5x faster here (threads fight over 2 cores) and the same floating-point order every run.
    with threadpool_limits(1):
        return _fit(docs, cfg)


def _fit(docs: Docs, cfg: Config) -> Trained:
    from sklearn.linear_model import LogisticRegression

    rows = {"real_train_split": len(docs.tokens)}
    rules = rule_confidence(docs)
    if cfg.handwritten:
        extra = load_handwritten()
        rows["handwritten"] = len(extra.tokens)
        docs = docs + extra

    def fit_once(docs: Docs) -> Trained:
        vocab = Vocabulary.build(docs, cfg)
        x = vocab.matrix(docs, cfg)
        models = {}
        for name in FIELDS:
            model = LogisticRegression(C=cfg.c, max_iter=5000, random_state=SEED,
                                       class_weight="balanced" if name in cfg.balanced else None)
            models[name] = model.fit(for_field(x, vocab, cfg, name), docs.labels[name])
        return Trained(cfg, vocab, models, rows, rules)

    trained = fit_once(docs)
    pool = load_unlabelled() if cfg.self_training else None
    if pool is not None and pool.tokens:  # every real tweet may already be labelled: nothing to self-train on
        x = trained.vocab.matrix(pool, cfg)
        probabilities = {f: m.predict_proba(for_field(x, trained.vocab, cfg, f)) for f, m in trained.models.items()}
        confident = np.ones(len(pool.tokens), dtype=bool)
        for p in probabilities.values():
            confident &= p.max(axis=1) >= cfg.self_training
        index = np.flatnonzero(confident).tolist()
        pseudo = pool.take(index)
        pseudo.labels = {f: [trained.models[f].classes_[k] for k in probabilities[f][index].argmax(axis=1)]
                         for f in FIELDS}
        rows["self_training"] = len(index)
        trained = fit_once(docs + pseudo)
    return trained


def cross_validate(docs: Docs, cfg: Config, folds: int = CV_FOLDS) -> dict[str, tuple[float, float]]:
    """Accuracy and macro-F1 per field over ``folds`` folds of the train split (fixed seed, same folds for all)."""
    from sklearn.metrics import accuracy_score, f1_score
    from sklearn.model_selection import StratifiedKFold

    predicted: dict[str, list[str]] = {f: [""] * len(docs.tokens) for f in FIELDS}
    splitter = StratifiedKFold(folds, shuffle=True, random_state=SEED)
    for train_idx, dev_idx in splitter.split(docs.tokens, docs.labels["main_topic"]):
        trained = fit(docs.take(train_idx), cfg)
        for f, values in trained.predict(docs.take(dev_idx)).items():
            for i, v in zip(dev_idx, values, strict=True):
                predicted[f][i] = v
    return {f: (accuracy_score(docs.labels[f], predicted[f]),
                f1_score(docs.labels[f], predicted[f], average="macro")) for f in FIELDS}


#: Configurations compared by ``--cv`` (docs/labels.md has the table): the shipped one, then one change each.
CANDIDATES: tuple[Config, ...] = (
    Config(),
    replace(Config(), name="C=1", c=1.0),
    replace(Config(), name="C=3", c=3.0),
    replace(Config(), name="C=30", c=30.0),
    replace(Config(), name="words only", chars=False),
    replace(Config(), name="characters only", words=False),
    replace(Config(), name="no class weights", balanced=()),
    replace(Config(), name="class weights on every field", balanced=tuple(FIELDS)),
    replace(Config(), name="no author feature, no author rule", author_feature=False, author_rule=False),
    replace(Config(), name="author feature, no author rule", author_rule=False),
    replace(Config(), name="no handwritten rows", handwritten=False),
    replace(Config(), name="topic word block × 0.5", topic_word_weight=0.5),
    replace(Config(), name="self-training ≥ 0.6", self_training=0.6),
    replace(Config(), name="self-training ≥ 0.8", self_training=0.8),
    replace(Config(), name="character n-grams seen once kept", char_min_df=1),
)


def export(trained: Trained, directory: Path = MODEL_DIR) -> dict[str, Any]:
    """Write ``model.npz`` (vocabularies, idf-weighted coefficients) and ``model.json`` (classes, provenance)."""
    vocab, cfg = trained.vocab, trained.cfg
    n_words = len(vocab.words)
    coefs = np.hstack([trained.models[f].coef_.T for f in FIELDS])  # (features, 12)
    scale = np.concatenate([[word_weight(cfg, f)] * len(classes) for f, classes in FIELDS.items()])
    coefs[:n_words] *= scale[None, :]  # the word block's weight per field, folded into its coefficients
    intercepts = np.concatenate([trained.models[f].intercept_ for f in FIELDS])
    for f, classes in FIELDS.items():
        if tuple(trained.models[f].classes_) != tuple(sorted(classes)):
            raise SystemExit(f"{f}: trained classes {trained.models[f].classes_} != {sorted(classes)}")
    # scikit-learn orders classes alphabetically; the artifact uses FIELDS' order.
    order, offset = [], 0
    for f, classes in FIELDS.items():
        learned = list(trained.models[f].classes_)
        order += [offset + learned.index(c) for c in classes]
        offset += len(classes)
    coefs, intercepts = coefs[:, order], intercepts[order]
    idf = np.concatenate([vocab.word_idf, vocab.char_idf])
    weights = (coefs * idf[:, None]).astype(np.float32)
    arrays = {
        "word_vocab": np.array(vocab.words, dtype=str),
        "word_weights": weights[:n_words],
        "word_sq": (vocab.word_idf**2).astype(np.float32),
        "char_vocab": np.array(vocab.chars, dtype=str),
        "char_weights": weights[n_words:],
        "char_sq": (vocab.char_idf**2).astype(np.float32),
        "intercepts": intercepts.astype(np.float64),
    }
    directory.mkdir(parents=True, exist_ok=True)
    _write_npz(directory / "model.npz", arrays)
    meta = {
        "about": "Built-in analyzer weights (model.npz); rebuild with `dallosh train-builtin` (docs/labels.md).",
        "fields": {f: list(classes) for f, classes in FIELDS.items()},
        "char_ngrams": list(features.CHAR_NGRAMS),
        "config": asdict(cfg),
        "features": {"words": n_words, "chars": len(vocab.chars)},
        "training_rows": trained.rows,
        "rule_confidence": trained.rule_confidence,
        "scikit_learn": _sklearn_version(),
    }
    (directory / "model.json").write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return meta


def _sklearn_version() -> str:
    import sklearn

    return sklearn.__version__


def rule_confidence(docs: Docs) -> dict[str, float]:
    """How often the author rule (neutral / 0) is right on the training rows it applies to.

    The real set has no retweets: they get the operator accounts' figure (the guideline puts both at
    neutral / 0). An empty text has nothing to act on: 1.0.
    """
    hits = [s == "neutral" and p == "0" for s, p, a in
            zip(docs.labels["sentiment"], docs.labels["priority"], docs.authors, strict=True) if a == "operator"]
    operator = round(sum(hits) / len(hits), 4) if hits else 1.0
    return {"operator": operator, "retweet": operator, "empty": 1.0}


def verify(trained: Trained, docs: Docs, directory: Path = MODEL_DIR) -> float:
    """Largest difference between the shipped numpy inference and scikit-learn's probabilities on ``docs``."""
    from dallosh.llm.ngram_model import NgramModel, softmax

    model = NgramModel(directory)
    logits = model.logits(model.token_ids(docs.tokens), docs.authors)
    x = trained.vocab.matrix(docs, trained.cfg)
    worst, start = 0.0, 0
    for f, classes in FIELDS.items():
        model = trained.models[f]
        expected = model.predict_proba(for_field(x, trained.vocab, trained.cfg, f))
        expected = expected[:, [list(model.classes_).index(c) for c in classes]]
        got = softmax(logits[:, start:start + len(classes)])
        worst = max(worst, float(np.abs(expected - got).max()))
        start += len(classes)
    return worst


def _write_npz(path: Path, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed`` with fixed timestamps: the same arrays give the same bytes."""
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, array in arrays.items():
            buffer = io.BytesIO()
            np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, buffer.getvalue())


def _cv_table(docs: Docs, only: Sequence[str] | None = None) -> str:
    lines = ["| configuration | sentiment acc / F1 | priority acc / F1 | topic acc / F1 |", "| --- | --- | --- | --- |"]
    for cfg in CANDIDATES:
        if only and cfg.name not in only:
            continue
        scores = cross_validate(docs, cfg)
        cells = [f"{scores[f][0]:.3f} / {scores[f][1]:.3f}" for f in FIELDS]
        lines.append(f"| {cfg.name} | " + " | ".join(cells) + " |")
        print(lines[-1], file=sys.stderr, flush=True)
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dallosh train-builtin", description=__doc__.split("\n\n")[0])
    parser.add_argument("--cv", action="store_true", help="print the cross-validation table instead of training")
    parser.add_argument("--only", nargs="+", help="with --cv: only these configurations (by name)")
    parser.add_argument("--gold", type=Path, default=GOLD)
    parser.add_argument("--texts", type=Path, default=TEXTS)
    parser.add_argument("--out", type=Path, default=MODEL_DIR, help="artifact folder (default: the package's)")
    args = parser.parse_args(argv)
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise SystemExit("training needs scikit-learn: pip install -e '.[train]'") from None
    docs = load_docs(args.gold, args.texts)
    if args.cv:
        print(_cv_table(docs, args.only))
        return 0
    trained = fit(docs, Config())
    meta = export(trained, args.out)
    worst = verify(trained, docs, args.out)
    if worst > 1e-3:
        raise SystemExit(f"numpy inference differs from scikit-learn by {worst:.2g}: features.py and builtin.py "
                         "disagree")
    print(json.dumps({**meta, "max_probability_difference_vs_scikit_learn": worst}, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

