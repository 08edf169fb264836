"""The LLM path against a real server: llama.cpp's OpenAI-compatible server (llama-cpp-python) and a 270M model.

The model's labels are not judged (a 270M base model); the protocol, the answer schema and the batching are: the
server accepts what the product sends, refuses only what the negotiation expects it to refuse, and every row the
product means to send to an LLM is labelled by it.
"""

from __future__ import annotations

import json
import subprocess
import sys

import httpx
import pandas as pd
import pytest

from dallosh.defaults import DEFAULT_TOPICS
from dallosh.llm.answer import build_schema, parse_answer
from dallosh.llm.base import Row
from dallosh.llm.budget import completion_tokens
from dallosh.llm.openai_provider import response_format
from dallosh.llm.prompt import system_prompt, user_message
from tests.llama_server import MODEL_ALIAS
from tests.mocking import FakeLLMServer
from tools.synthetic import generate_tweets

pytestmark = [pytest.mark.slow, pytest.mark.timeout(900)]
TOPICS = list(DEFAULT_TOPICS)
CHAT = "/v1/chat/completions"


def chat_body(fmt: str) -> dict:
    rows = [Row("1", "Plus de connexion depuis ce matin, la fibre est coupée 😡")]
    schema = build_schema(["1"], TOPICS)
    body = {"model": MODEL_ALIAS, "temperature": 0, "max_tokens": completion_tokens(1),
            "messages": [{"role": "system", "content": system_prompt(TOPICS)},
                         {"role": "user", "content": user_message(rows, ["1"])}]}
    rf = response_format(fmt, schema)
    return {**body, "response_format": rf} if rf else body


def test_the_fake_refuses_what_the_real_server_refuses(llama_server):
    """Each response format the provider can send, to the real server and to the fake's llama.cpp rules."""
    real, fake_statuses = [], []
    with FakeLLMServer(server="llama.cpp") as fake:
        for fmt in ("json_schema", "json_object_schema", "json_object", "prompt"):
            body = chat_body(fmt)
            answer = httpx.post(llama_server.url + "/chat/completions", json=body, timeout=300)
            real.append(answer.status_code)
            fake_statuses.append(httpx.post(fake.openai_url + "/chat/completions", json=body).status_code)
            if fmt == "json_schema":
                assert "response_format" in answer.json()["error"]["message"]
            if fmt == "json_object_schema":  # the grammar holds the answer to the schema
                content = answer.json()["choices"][0]["message"]["content"]
                assert set(parse_answer(content, {"1": "row"}, TOPICS)) == {"row"}
                assert answer.json()["usage"]["completion_tokens"] <= completion_tokens(1)
        assert fake.shape_errors == []
    assert real == fake_statuses == [500, 200, 200, 200]


def test_dallosh_process_labels_every_customer_row_with_the_real_server(llama_server, tmp_path):
    source = tmp_path / "export.csv"
    generate_tweets(40, seed=11).to_csv(source, index=False)
    since = llama_server.log_size()
    result = subprocess.run([sys.executable, "-m", "dallosh", "process", str(source), "--model",
                             f"openai:{MODEL_ALIAS}@{llama_server.url}", "--hybrid-threshold", "1",
                             "--out", str(tmp_path / "out.csv")],
                            capture_output=True, text=True, timeout=840)
    assert result.returncode == 0, result.stderr[-3000:]
    step = json.loads(result.stdout)["steps"]["sending_to_llm"]
    analysed = pd.read_csv(tmp_path / "out.csv", dtype=str, keep_default_na=False)
    model = f"openai:{MODEL_ALIAS}"
    by_model = analysed[analysed["labelled_by"] == model]
    assert len(by_model) >= 20
    assert set(analysed["labelled_by"]) <= {model, "rule:operator", "rule:retweet"}
    assert not step["fallback_used"] and step["fallbacks"] == []
    stats = step["llm"][model]
    assert stats["response_format"] == "json_object_schema"
    assert [f.split(":")[0] for f in stats["rejected_formats"]] == ["json_schema"]
    assert stats["requests"] >= 3  # the refused probe, then more than one request: batching is exercised
    chats = [status for method, path, status in llama_server.statuses(since) if path == CHAT]
    # the only refusal is the negotiation's json_schema probe; every labelling request was accepted
    assert chats[0] == 500 and chats[1:] == [200] * (stats["requests"] - 1), llama_server.log_text()[-3000:]
    assert stats["completion_tokens"] / step["texts_by_model"][model] <= 15
