"""A dataset goes through the real worker, queue, event bus and (fake) LLM, from upload to analysed CSV."""

from __future__ import annotations

import pandas as pd

from dallosh.lifecycle import STEPS
from dallosh.services import SYSTEM
from dallosh.textkey import text_key
from tests.conftest import wait_status
from tests.mocking import FAKE_MODEL
from tools.synthetic import generate_tweets


def add_dataset(services, actor, rows: int, seed: int = 0, name: str = "tweets.csv"):
    frame = generate_tweets(rows, seed=seed)
    file, task = services.files.add(actor, name, frame.to_csv(index=False).encode())
    return file, task


def use_fake_llm(services, admin, fake_llm, *, page_size: int = 500, api_key: str = "") -> dict:
    entry = services.settings.add_model(admin, "local", {"model": FAKE_MODEL, "baseUrl": fake_llm.ollama_url,
                                                         "paginateRowsLimit": page_size, "apiKey": api_key})
    services.settings.set_preferences(admin, mode="local", hybrid_threshold=1.0)  # every customer row to the LLM
    return entry


def test_full_run_with_events_in_order(services, admin, analyst, runtime, workers, subscribe, fake_llm):
    use_fake_llm(services, admin, fake_llm, page_size=40)
    file, task = add_dataset(services, analyst, 150)
    events = subscribe(file.uid)
    workers.start()
    services.tasks.request(analyst, task.uid, "start")
    received = events.wait_for(lambda items: any(e["event"] in ("done", "on_error") for e in items), 90)
    assert received[-1]["event"] == "done", workers.logs()[-3000:]

    names = [e["event"] for e in received]
    assert names[0] == "in_queue"
    order = [n for n in dict.fromkeys(names)]
    assert order == ["in_queue", *STEPS, "done"]
    pages = [e for e in received if e["event"] == "sending_to_llm" and "page" in e]
    assert [p["page"] for p in pages] == list(range(1, pages[0]["pages"] + 1))
    assert all(p["model"] == f"ollama:{FAKE_MODEL}" and not p["fallback_used"] for p in pages)
    done_cleaning = next(e for e in received if e["event"] == "process_cleaning" and e.get("phase") == "done")
    assert done_cleaning["rows_in"] == 150 and "removed" in done_cleaning and "flagged" in done_cleaning
    assert all({"file_id", "task_id", "event", "ts"} <= set(e) for e in received)

    final = services.tasks.get(SYSTEM, task.uid)
    assert final.data.status == "done" and final.data.last_completed_step == "saving_file"
    assert set(final.data.stats) == set(STEPS)
    cleaned = pd.read_csv(services.storage.path("cleaned", file.uid), dtype=str, keep_default_na=False)
    analysed = pd.read_csv(services.storage.path("analysed", file.uid), dtype=str, keep_default_na=False)
    assert analysed["id"].tolist() == cleaned["id"].tolist()
    assert set(analysed["sentiment"]) <= {"negative", "neutral", "positive"}
    assert set(analysed["priority"]) <= {"0", "1", "2"}
    assert set(analysed["main_topic"]) <= set(services.settings.general().topics)
    rule = analysed["labelled_by"].str.startswith("rule:")
    assert set(analysed.loc[~rule, "labelled_by"]) == {f"ollama:{FAKE_MODEL}"}
    assert (cleaned.loc[rule, "is_operator"] == "True").all()  # the operator's own posts never reach the LLM
    # same texts (links, @handles, case, spacing aside) labelled once and alike: every group of customer texts was
    # sent exactly once, and all its rows carry its labels
    sent = [text_key(text) for r in fake_llm.chat_requests for text in r.texts]
    customers = analysed.loc[~rule].assign(same=analysed.loc[~rule, "full_text"].map(text_key))
    assert len(sent) == len(set(sent)) == customers["same"].nunique()
    spread = customers.groupby("same")[["sentiment", "priority", "main_topic", "labelled_by"]].nunique()
    assert (spread == 1).all().all()
    merged = customers.groupby("same")["full_text"].nunique()
    assert (merged > 1).any()  # control: the dataset has near-identical texts (it is not exact copies only)

    history = services.tasks.history(analyst, task.uid)
    assert [h["event"] for h in history] == names  # the stored history matches what was broadcast


def test_builtin_default_when_no_model_configured(services, analyst, runtime, workers):
    file, task = add_dataset(services, analyst, 80, seed=3)
    workers.start()
    services.tasks.request(analyst, task.uid, "start")
    assert wait_status(services, task.uid, {"done", "on_error"}, 90) == "done", workers.logs()[-3000:]
    analysed = pd.read_csv(services.storage.path("analysed", file.uid), dtype=str, keep_default_na=False)
    assert set(analysed["labelled_by"]) == {"builtin"}
