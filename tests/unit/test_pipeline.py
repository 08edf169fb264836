from __future__ import annotations

import pandas as pd

from dallosh.llm.base import Label, Provider
from dallosh.pipeline import Interrupted, Run, run_steps
from dallosh.pipeline.sending_to_llm import distinct_texts


class Counting(Provider):
    """A provider that labels everything neutral and remembers which ids it saw."""

    name = "counting"

    def __init__(self, page_size: int):
        self.page_size = page_size
        self.seen: list[str] = []

    def label(self, rows, topics):
        self.seen += [r.id for r in rows]
        return {r.id: Label("neutral", 0, topics[0]) for r in rows}


def frame(n: int) -> pd.DataFrame:
    texts = [f"texte {i % 7}" for i in range(n)]  # 7 distinct texts
    return pd.DataFrame({"id": [str(10**18 + i) for i in range(n)], "full_text": texts,
                         "favorite_count": [str(i) for i in range(n)]})


def test_distinct_texts_keys_are_first_ids():
    codes, table = distinct_texts(frame(20))
    assert len(table) == 7 and table["key"].iloc[0] == str(10**18)
    assert list(codes[:8]) == [0, 1, 2, 3, 4, 5, 6, 0]


def make_run(tmp_path, provider, check=lambda: None):
    source = tmp_path / "in.csv"
    if not source.exists():
        frame(50).to_csv(source, index=False)
    return Run(source=source, cleaned=tmp_path / "c.csv", analysed=tmp_path / "a.csv", checkpoints=tmp_path / "cp",
               topics=["T"], operator_accounts=[], providers=lambda: [provider], check=check)


def test_identical_texts_are_labelled_once(tmp_path):
    provider = Counting(page_size=3)
    results = run_steps(make_run(tmp_path, provider))
    assert len(provider.seen) == 7 == len(set(provider.seen))
    assert results["sending_to_llm"]["pages"] == 3
    out = pd.read_csv(tmp_path / "a.csv", dtype=str)
    assert len(out) == 50 and set(out["labelled_by"]) == {"counting"}


def test_resume_skips_checkpointed_pages(tmp_path):
    first = Counting(page_size=3)
    calls = {"n": 0}

    def pause_after_two_pages():
        calls["n"] += 1
        if first.seen and len(first.seen) >= 6:
            raise Interrupted("paused")

    try:
        run_steps(make_run(tmp_path, first, pause_after_two_pages))
    except Interrupted:
        pass
    assert len(first.seen) == 6
    second = Counting(page_size=3)
    results = run_steps(make_run(tmp_path, second), "sending_to_llm")
    assert len(second.seen) == 1 and results["sending_to_llm"]["pages_resumed"] == 2
    assert not set(first.seen) & set(second.seen)


def test_starting_over_relabels(tmp_path):
    run_steps(make_run(tmp_path, Counting(page_size=3)))
    again = Counting(page_size=3)
    run_steps(make_run(tmp_path, again))
    assert len(again.seen) == 7
