"""Label quality: score a model (or a previous analysed file) against gold labels — ``dallosh eval``.

Gold is any CSV with ``id`` and the three label columns (``sentiment``, ``priority``, ``main_topic``): the
project's real labelled set (``evaluation/real_gold.csv``, texts joined by id from another file), a team's
corrections export (its ``sentiment``/``priority``/``main_topic`` columns are the corrected labels and its
``model_*`` columns what the model said) or a hand-written set with its texts inline. Texts go through the same
cleaning as in the pipeline (``normalise_text``) and each row gets the author's role, so a model sees what it
would see in production.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np
import pandas as pd

from dallosh.cleaning import author_roles, normalise_text
from dallosh.defaults import DEFAULT_OPERATOR_ACCOUNTS, PRIORITIES, SENTIMENTS
from dallosh.errors import ProviderError, ValidationError
from dallosh.llm.base import Provider, Row

#: (field of a Label, gold column) pairs scored, in report order.
FIELDS: tuple[tuple[str, str], ...] = (("sentiment", "sentiment"), ("priority", "priority"), ("topic", "main_topic"))
#: Other spellings of the gold columns accepted on input.
_ALIASES = {"topic": "main_topic", "text": "full_text", "tweet_id": "id"}
#: Rows sent to the model per call: small enough for a smooth progress bar, large enough to batch well.
EVAL_CHUNK_ROWS = 500


@dataclass
class FieldScore:
    """Accuracy, macro-F1 and the confusion matrix (rows gold, columns predicted) of one field."""

    field: str
    classes: list[str]
    accuracy: float
    macro_f1: float
    confusion: list[list[int]]
    n: int

    def to_dict(self) -> dict[str, Any]:
        return {"accuracy": self.accuracy, "macro_f1": self.macro_f1, "n": self.n, "classes": self.classes,
                "confusion": self.confusion}


@dataclass
class Report:
    """The scores of one evaluation and what was (not) scored."""

    rows: int
    fields: list[FieldScore]
    labelled_by: dict[str, int] = field(default_factory=dict)
    missing: int = 0  # gold rows without a text or a prediction, not scored
    source: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"source": self.source, "rows": self.rows, "missing": self.missing, "labelled_by": self.labelled_by,
                "fields": {f.field: f.to_dict() for f in self.fields}}


def score_field(name: str, gold: Sequence[str], pred: Sequence[str], classes: Sequence[str] = ()) -> FieldScore:
    """Score one field; macro-F1 averages the classes present in gold or predictions (plus ``classes``)."""
    if len(gold) != len(pred):
        raise ValueError(f"{name}: {len(gold)} gold labels but {len(pred)} predictions")
    present = set(gold) | set(pred)
    ordered = [c for c in classes if c in present] + sorted(present - set(classes))
    index = {c: i for i, c in enumerate(ordered)}
    matrix = np.zeros((len(ordered), len(ordered)), dtype=np.int64)
    for g, p in zip(gold, pred, strict=True):
        matrix[index[g], index[p]] += 1
    tp = np.diag(matrix).astype(float)
    predicted, actual = matrix.sum(axis=0), matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        f1 = np.where(predicted + actual > 0, 2 * tp / (predicted + actual), 0.0)
    n = len(gold)
    return FieldScore(field=name, classes=ordered, accuracy=float(tp.sum() / n) if n else 0.0,
                      macro_f1=float(f1.mean()) if len(ordered) else 0.0, confusion=matrix.tolist(), n=n)


def _read_csv(path: str | Path) -> pd.DataFrame:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    return frame.rename(columns={k: v for k, v in _ALIASES.items() if k in frame.columns and v not in frame.columns})


def _label_value(column: str, values: pd.Series) -> pd.Series:
    """Gold/predicted values as comparable strings: priorities "2", "2.0" and 2 are the same label."""
    values = values.astype("str").str.strip()
    if column == "priority":
        numbers = pd.to_numeric(values, errors="coerce")
        values = values.where(numbers.isna(), numbers.astype("Int64").astype("str"))
    return values


def load_gold(path: str | Path, *, split: str | None = None, texts: str | Path | None = None) -> pd.DataFrame:
    """Gold rows with their text: the CSV's own ``full_text``, or ``texts`` (a tweet export) joined by id.

    ``split`` keeps the rows whose ``split`` column equals it (the real set's fixed train/test split).
    """
    gold = _read_csv(path)
    missing = [c for c in ("id", *(g for _, g in FIELDS)) if c not in gold.columns]
    if missing:
        raise ValidationError("columns", f"are missing from {path}: {', '.join(missing)}")
    if split is not None:
        if "split" not in gold.columns:
            raise ValidationError("split", f"column is missing from {path}; drop --split")
        gold = gold[gold["split"] == split]
    for _, column in FIELDS:
        gold[column] = _label_value(column, gold[column])
    if texts is not None:
        source = _read_csv(texts).drop_duplicates("id")
        gold = gold.drop(columns=[c for c in ("full_text", "screen_name", "is_operator", "is_retweet")
                                  if c in gold.columns and c in source.columns])
        keep = [c for c in source.columns if c not in gold.columns or c == "id"]
        gold = gold.merge(source[keep], on="id", how="left")
    return gold.reset_index(drop=True)


def rows_for(frame: pd.DataFrame, operator_accounts: Sequence[str] = DEFAULT_OPERATOR_ACCOUNTS) -> list[Row]:
    """Rows as the pipeline builds them: cleaned text, author's role; keyed by position (ids may repeat)."""
    roles = author_roles(frame, operator_accounts)
    texts = frame["full_text"].fillna("").astype("str")
    return [Row(id=str(i), text=normalise_text(t), author=r) for i, (t, r) in enumerate(zip(texts, roles, strict=True))]


ProgressFn = Callable[[int, int, str], None]


def predict(rows: Sequence[Row], providers: Sequence[Provider], topics: Sequence[str],
            progress: ProgressFn | None = None, chunk: int = EVAL_CHUNK_ROWS) -> tuple[list[Any], list[str]]:
    """Labels of ``rows`` (in order) and who labelled each: providers in fallback order, like the pipeline."""
    labels: list[Any] = []
    names: list[str] = []
    current = 0
    for lo in range(0, len(rows), chunk):
        part = list(rows[lo:lo + chunk])
        while True:
            provider = providers[current]
            try:
                got = provider.label(part, topics)
                break
            except ProviderError:
                if current + 1 >= len(providers):
                    raise
                current += 1
        labels += [got[r.id] for r in part]
        names += [provider.name] * len(part)
        if progress:
            progress(lo + len(part), len(rows), provider.name)
    return labels, names


def _counts(names: Sequence[str]) -> dict[str, int]:
    """Rows per model, most first (plain ints: the report is JSON)."""
    return {str(k): int(v) for k, v in pd.Series(list(names), dtype=object).value_counts().items()}


def _score_frame(gold: pd.DataFrame, predicted: dict[str, Sequence[str]], topics: Sequence[str]) -> list[FieldScore]:
    order = {"sentiment": list(SENTIMENTS), "priority": [str(p) for p in PRIORITIES], "topic": list(topics)}
    return [score_field(name, gold[column].tolist(), list(predicted[name]), order[name]) for name, column in FIELDS]


def evaluate_model(gold: pd.DataFrame, providers: Sequence[Provider], topics: Sequence[str],
                   progress: ProgressFn | None = None,
                   operator_accounts: Sequence[str] = DEFAULT_OPERATOR_ACCOUNTS) -> Report:
    """Label the gold rows' texts with ``providers`` and score them; rows without a text are not scored."""
    if "full_text" not in gold.columns:
        raise ValidationError("full_text", "column is missing from the gold file: pass --texts FILE")
    has_text = gold["full_text"].notna() & (gold["full_text"].astype("str").str.strip() != "")
    scored = gold[has_text].reset_index(drop=True)
    labels, names = predict(rows_for(scored, operator_accounts), providers, topics, progress)
    predicted = {name: [str(getattr(label, name)) for label in labels] for name, _ in FIELDS}
    return Report(rows=len(scored), fields=_score_frame(scored, predicted, topics),
                  labelled_by=_counts(names),
                  missing=int((~has_text).sum()))


def evaluate_predictions(gold: pd.DataFrame, predictions: str | Path, topics: Sequence[str]) -> Report:
    """Score a previous analysed file (or the ``model_*`` columns of a corrections export) against gold.

    Rows are joined by id (and by ``dataset`` when both files have it, as in corrections exports).
    """
    pred = _read_csv(predictions)
    prefix = "model_" if all(f"model_{c}" in pred.columns for _, c in FIELDS) else ""
    columns = [prefix + c for _, c in FIELDS]
    missing = [c for c in ("id", *columns) if c not in pred.columns]
    if missing:
        raise ValidationError("columns", f"are missing from {predictions}: {', '.join(missing)}")
    keys = ["id"] + (["dataset"] if "dataset" in pred.columns and "dataset" in gold.columns else [])
    extra = ["labelled_by"] if "labelled_by" in pred.columns else []
    pred = pred[keys + columns + extra].drop_duplicates(keys)
    pred = pred.rename(columns={prefix + c: f"pred_{c}" for _, c in FIELDS})
    clash = [c for c in pred.columns if c in gold.columns and c not in keys]  # e.g. labelled_by of an export
    joined = gold.drop(columns=clash).merge(pred, on=keys, how="inner")
    predicted = {name: _label_value(column, joined[f"pred_{column}"]).tolist() for name, column in FIELDS}
    by = _counts(joined["labelled_by"].tolist()) if extra else {}
    return Report(rows=len(joined), fields=_score_frame(joined, predicted, topics), labelled_by=by,
                  missing=len(gold) - len(joined))


def format_report(report: Report) -> str:
    """Plain-text report: one block per field with accuracy, macro-F1 and the confusion matrix."""
    lines = [f"{report.source}: {report.rows} rows scored"
             + (f", {report.missing} without text or prediction (not scored)" if report.missing else "")]
    if report.labelled_by:
        lines.append("labelled by: " + ", ".join(f"{k} {v}" for k, v in report.labelled_by.items()))
    for score in report.fields:
        lines.append(f"\n{score.field}: accuracy {score.accuracy:.3f}  macro-F1 {score.macro_f1:.3f}  (n={score.n})")
        width = max(8, *(len(c) for c in score.classes)) + 1 if score.classes else 9
        lines.append("gold \\ pred".ljust(width + 2) + "".join(c.rjust(width) for c in score.classes))
        for label, counts in zip(score.classes, score.confusion, strict=True):
            lines.append(label.ljust(width + 2) + "".join(str(n).rjust(width) for n in counts))
    return "\n".join(lines)


class ProgressBar:
    """``[#####.....] 500/1000 rows (model)`` on one line of stderr."""

    def __init__(self, stream: IO[str] | None = None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width

    def __call__(self, done: int, total: int, model: str) -> None:
        filled = int(self.width * done / total) if total else self.width
        self.stream.write(f"\rlabelling [{'#' * filled}{'.' * (self.width - filled)}] {done}/{total} rows ({model})")
        if done >= total:
            self.stream.write("\n")
        self.stream.flush()
