from __future__ import annotations

import json

import pandas as pd
import pytest

from dallosh.defaults import DEFAULT_TOPICS, ROWS_PER_REQUEST
from dallosh.errors import DalloshError
from dallosh.llm.base import Label, Provider, Row
from dallosh.llm.labelling import row_confidence
from dallosh.llm.registry import providers_for
from dallosh.pipeline import Interrupted, Run, run_steps
from dallosh.pipeline.sending_to_llm import GROUPING, distinct_texts
from dallosh.textkey import text_key
from tests.mocking import FAKE_MODEL, FakeLLMServer, expected_label


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


def pause_after_two_pages(tmp_path) -> Counting:
    """Label the first two pages (of three), then pause: the provider that labelled them."""
    first = Counting(page_size=3)

    def check():
        if first.seen and len(first.seen) >= 6:
            raise Interrupted("paused")

    with pytest.raises(Interrupted):
        run_steps(make_run(tmp_path, first, check))
    assert len(first.seen) == 6
    return first


def test_resume_skips_checkpointed_pages(tmp_path):
    first = pause_after_two_pages(tmp_path)
    second = Counting(page_size=3)
    results = run_steps(make_run(tmp_path, second), "sending_to_llm")
    assert len(second.seen) == 1 and results["sending_to_llm"]["pages_resumed"] == 2
    assert not set(first.seen) & set(second.seen)


def test_checkpoints_of_another_grouping_are_not_resumed(tmp_path):
    """Pages checkpointed by a version that grouped texts differently are keyed differently: labelled again."""
    pause_after_two_pages(tmp_path)
    plan_path = tmp_path / "cp" / "plan.json"
    plan = json.loads(plan_path.read_text())
    del plan["grouping"]  # as a version that labelled exact texts wrote it
    plan_path.write_text(json.dumps(plan))
    second = Counting(page_size=3)
    results = run_steps(make_run(tmp_path, second), "sending_to_llm")
    assert len(second.seen) == 7 and results["sending_to_llm"]["pages_resumed"] == 0  # resumed: 1 (test above)
    assert json.loads(plan_path.read_text())["grouping"] == GROUPING


def test_appending_columns_alone_reads_the_pages_and_refuses_missing_labels(tmp_path):
    run_steps(make_run(tmp_path, Counting(page_size=3)))
    first = pd.read_csv(tmp_path / "a.csv", dtype=str)
    again = run_steps(make_run(tmp_path, Counting(page_size=3)), "appending_columns")  # a retry: nothing in memory
    assert again["appending_columns"]["rows"] == 50
    assert pd.read_csv(tmp_path / "a.csv", dtype=str).equals(first)  # control: same output from the pages
    page = tmp_path / "cp" / "labels-00002.json"
    data = json.loads(page.read_text())
    data["key"][0] = "not-a-key"  # a page that lost one group's label
    page.write_text(json.dumps(data))
    with pytest.raises(DalloshError, match="1 text"):
        run_steps(make_run(tmp_path, Counting(page_size=3)), "appending_columns")


def test_starting_over_relabels(tmp_path):
    run_steps(make_run(tmp_path, Counting(page_size=3)))
    again = Counting(page_size=3)
    run_steps(make_run(tmp_path, again))
    assert len(again.seen) == 7


# -- near-identical texts: one group, one label ---------------------------------------------------------------

TOPICS = list(DEFAULT_TOPICS)
OPERATORS = ["free"]
#: Customer tweets that differ from each other in words; each is posted in several near-identical forms.
COMPLAINTS = [
    "Plus de fibre depuis hier soir, on fait comment ?",
    "Merci pour la réparation rapide de ma ligne, super service",
    "Facturé deux fois ce mois-ci, remboursez-moi",
    "La nouvelle offre 5G est vraiment intéressante",
    "Ma box redémarre toute seule toutes les heures",
]
#: The operator's reply, sent to every customer above (and one customer who pastes it back).
REPLY = "Bonjour, pouvez-vous nous écrire en message privé avec votre identifiant ? ^JD"


def variants(text: str, n: int) -> list[str]:
    """``n`` forms of ``text`` that differ only by handles, links, case and spacing (the first one twice)."""
    forms = [f"@free {text}", f"@free {text}", f"@Freebox {text} https://t.co/x{n}", text.upper(),
             text.replace(" ", "\n", 1), f"{text} @FreeMobile"]
    return forms[:n]


def near_identical_frame(bases: list[str] = COMPLAINTS, forms: int = 6) -> pd.DataFrame:
    """Customers' near-identical tweets, the operator's reply to each customer, and one customer echoing it."""
    texts, names = [], []
    for b, base in enumerate(bases):
        for f, text in enumerate(variants(base, forms)):
            texts.append(text)
            names.append(f"client_{b}_{f}")
            texts.append(f"@client_{b}_{f} {REPLY}")
            names.append("free")
    texts.append(f"@free {REPLY}")
    names.append("client_echo")
    return pd.DataFrame({"id": [str(10**18 + i) for i in range(len(texts))], "full_text": texts,
                         "screen_name": names})


def run_dataset(tmp_path, frame: pd.DataFrame, providers, threshold: float = 1.0) -> tuple[pd.DataFrame, dict]:
    source = tmp_path / "in.csv"
    frame.to_csv(source, index=False)
    run = Run(source=source, cleaned=tmp_path / "c.csv", analysed=tmp_path / "a.csv", checkpoints=tmp_path / "cp",
              topics=TOPICS, operator_accounts=OPERATORS, providers=providers, hybrid_threshold=threshold)
    stats = run_steps(run)["sending_to_llm"]
    return pd.read_csv(tmp_path / "a.csv", dtype=str, keep_default_na=False), stats


def same_label_groups(analysed: pd.DataFrame) -> pd.DataFrame:
    """One row per (normalised text, author is the operator), with its label; fails if a group's rows differ."""
    frame = analysed.assign(same=[text_key(t) for t in analysed["full_text"]])
    labels = ["sentiment", "priority", "main_topic", "labelled_by"]
    spread = frame.groupby(["same", "is_operator"])[labels].nunique()
    assert (spread == 1).all().all(), spread[(spread > 1).any(axis=1)]
    return frame.drop_duplicates(["same", "is_operator"])[["same", "is_operator", "full_text", *labels]]


def ai(fake: FakeLLMServer, **data) -> dict:
    return {"preferences": {"mode": "local", "default_local_model_id": "m1"},
            "local": [{"uid": "m1", "data": {"model": FAKE_MODEL, "baseUrl": fake.ollama_url, **data}}]}


def llm_providers(fake: FakeLLMServer, **data):
    return lambda: providers_for(ai(fake, **data), timeout=0.5, sleep=lambda s: None)



def test_groups_pick_the_most_frequent_text_then_the_first():
    texts = ["@a Salut", "SALUT", "salut @b", "SALUT", "Autre chose", "@c autre chose", "@d Autre   chose"]
    frame = pd.DataFrame({"id": [str(i) for i in range(len(texts))], "full_text": texts})
    codes, table = distinct_texts(frame)
    assert list(codes) == [0, 0, 0, 0, 1, 1, 1]
    assert table["text"].tolist() == ["SALUT", "Autre chose"]  # twice beats once; a tie goes to the first
    assert table["key"].tolist() == ["1", "4"] and table["exact_texts"].tolist() == [3, 3]
    # control: texts that differ by a word stay apart, and an exact text alone keys on its first row
    codes, table = distinct_texts(pd.DataFrame({"id": ["a", "b", "c"], "full_text": ["x y", "x z", "x y"]}))
    assert list(codes) == [0, 1, 0] and table["key"].tolist() == ["a", "b"]


def test_groups_never_mix_author_roles():
    frame = pd.DataFrame({"id": ["1", "2", "3", "4"], "full_text": ["@bob Merci", "@free merci", "RT @free: Promo",
                                                                     "RT @someone: promo"],
                          "is_operator": ["True", "False", "False", "False"],
                          "is_retweet": ["False", "False", "True", "True"]})
    codes, table = distinct_texts(frame, OPERATORS)
    # same normalised text, but the operator's reply is not the customer's thanks, nor a retweet of the operator
    # a customer's retweet of someone else
    assert list(codes) == [0, 1, 2, 3]
    assert table["author"].tolist() == ["operator", "customer", "retweet", "customer"]


def test_distinct_texts_of_an_empty_frame():
    codes, table = distinct_texts(pd.DataFrame({"id": [], "full_text": []}, dtype=str))
    assert len(codes) == 0 and len(table) == 0


def test_builtin_labels_near_identical_texts_alike(tmp_path):
    seen: list[str] = []

    def providers():
        builtin = providers_for(None)[-1]
        label = builtin.label

        def recording(rows, topics):  # the real analyzer; only records what it was given
            seen.extend(r.text for r in rows)
            return label(rows, topics)

        builtin.label = recording
        return [builtin]

    analysed, stats = run_dataset(tmp_path, near_identical_frame(), providers)
    groups = same_label_groups(analysed)
    assert len(groups) == len(COMPLAINTS) + 2 == stats["distinct_texts"] == len(seen)  # each group once
    assert set(analysed["labelled_by"]) == {"builtin"}
    # control: the complaints, genuinely different, do not all get one label
    customers = groups[groups["is_operator"] == "False"]
    assert customers[["sentiment", "priority", "main_topic"]].drop_duplicates().shape[0] > 1


def test_llm_labels_near_identical_texts_alike_and_sees_each_group_once(tmp_path, fake_llm):
    analysed, stats = run_dataset(tmp_path, near_identical_frame(), llm_providers(fake_llm))
    groups = same_label_groups(analysed)
    sent = [text for request in fake_llm.chat_requests for text in request.texts]
    customers = groups[groups["is_operator"] == "False"]
    assert sorted(map(text_key, sent)) == sorted(customers["same"])  # every customer group sent once
    assert set(sent) == {f"@free {c}" for c in COMPLAINTS} | {f"@free {REPLY}"}  # the most frequent form
    keys = analysed["full_text"].map(text_key)
    for text in sent:  # the label the fake gave the representative is every row's label
        rows = analysed[(keys == text_key(text)) & (analysed["is_operator"] == "False")]
        expected = expected_label(text, TOPICS)
        assert set(rows["sentiment"]) == {expected["sentiment"]} and set(rows["main_topic"]) == {expected["topic"]}
    # the operator's replies: the author rule, one group, one topic
    operator = analysed[analysed["is_operator"] == "True"]
    assert set(operator["labelled_by"]) == {"rule:operator"} and operator["main_topic"].nunique() == 1
    assert stats["texts_merged"] == len(analysed.drop_duplicates(["full_text", "is_operator"])) - len(groups) > 0
    # controls: had the forms been sent one by one, the fake would have labelled them differently; and different
    # complaints do get different labels
    forms = variants(COMPLAINTS[0], 6)
    assert len({tuple(expected_label(f, TOPICS).values()) for f in forms}) > 1
    assert customers[["sentiment", "priority", "main_topic"]].drop_duplicates().shape[0] > 1


def test_hybrid_labels_near_identical_texts_alike(tmp_path, fake_llm):
    builtin = providers_for(None)[-1]
    confidence = sorted(row_confidence(label) for label in builtin.label(
        [Row(str(i), c) for i, c in enumerate(COMPLAINTS)], TOPICS).values())
    threshold = confidence[len(confidence) // 2]  # half the complaints are confident enough, half are not
    assert confidence[0] < threshold
    analysed, stats = run_dataset(tmp_path, near_identical_frame(), llm_providers(fake_llm), threshold)
    groups = same_label_groups(analysed)
    customers = groups[groups["is_operator"] == "False"]
    assert {"builtin", f"ollama:{FAKE_MODEL}"} <= set(customers["labelled_by"])  # control: both paths used
    sent = [text_key(text) for request in fake_llm.chat_requests for text in request.texts]
    assert len(sent) == len(set(sent)) == (customers["labelled_by"] != "builtin").sum()


def test_fallback_labels_near_identical_texts_alike(tmp_path, fake_llm):
    bases = [f"{c} (ticket {n})" for n in range(6) for c in COMPLAINTS]  # 30 groups: two requests
    assert len(bases) > ROWS_PER_REQUEST
    fake_llm.set_behaviour("server_error", times=1)  # the first request fails, the second works
    analysed, stats = run_dataset(tmp_path, near_identical_frame(bases, forms=3),
                                  llm_providers(fake_llm, retryRequests=0))
    groups = same_label_groups(analysed)
    customers = groups[groups["is_operator"] == "False"]
    assert set(customers["labelled_by"]) == {"builtin", f"ollama:{FAKE_MODEL}"}  # control: a chunk fell back
    assert stats["fallback_used"] and len(fake_llm.chat_requests) == 2
    sent = [text_key(text) for request in fake_llm.chat_requests for text in request.texts]
    assert sorted(sent) == sorted(customers["same"])
