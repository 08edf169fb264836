"""A task processed by a real RQ worker with a real LLM server configured in the settings (llama.cpp's server)."""

from __future__ import annotations

import pandas as pd
import pytest

from dallosh.services import SYSTEM
from tests.llama_server import MODEL_ALIAS
from tools.synthetic import generate_tweets

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]


def test_a_worker_task_labels_every_customer_row_with_the_real_server(services, admin, analyst, runtime, workers,
                                                                      subscribe, llama_server):
    entry = services.settings.add_model(admin, "external", {"model": MODEL_ALIAS, "baseUrl": llama_server.url})
    services.settings.set_preferences(admin, mode="external", hybrid_threshold=1.0)
    file, task = services.files.add(analyst, "tweets.csv", generate_tweets(36, seed=12).to_csv(index=False).encode())
    events = subscribe(file.uid)
    since = llama_server.log_size()
    workers.start()
    services.tasks.request(analyst, task.uid, "start")
    received = events.wait_for(lambda items: any(e["event"] in ("done", "on_error") for e in items), 840)
    assert received[-1]["event"] == "done", workers.logs()[-3000:]

    model = f"openai:{MODEL_ALIAS}"
    analysed = pd.read_csv(services.storage.path("analysed", file.uid), dtype=str, keep_default_na=False)
    assert (analysed["labelled_by"] == model).sum() >= 20
    assert set(analysed["labelled_by"]) <= {model, "rule:operator", "rule:retweet"}
    pages = [e for e in received if e["event"] == "sending_to_llm" and "pages" in e]
    assert pages and not any(p["fallback_used"] for p in pages)
    assert not any(e.get("fallback_to") for e in received)

    summary = services.tasks.labelling(analyst, task.uid)
    assert summary["complete"] and summary["fallbacks"] == []
    assert summary["rows_by_model"][model] == (analysed["labelled_by"] == model).sum()
    assert summary["response_formats"] == {model: "json_object_schema"}
    # negotiated once, then stored with the model so the next task starts at the format that works
    stored = services.settings.ai_config(SYSTEM)["external"][0]
    assert stored["uid"] == entry["uid"] and stored["data"]["negotiatedFormat"] == "json_object_schema"
    chats = [status for method, path, status in llama_server.statuses(since) if path == "/v1/chat/completions"]
    assert chats[0] == 500 and set(chats[1:]) == {200}, llama_server.log_text()[-3000:]
