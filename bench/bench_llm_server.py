"""Tokens per labelled row against a real inference server: llama.cpp's OpenAI-compatible server, 270M Gemma 3.

Starts the server of the test suite (tests/llama_server.py: needs pyproject's ``llm-test`` extra, which
``./run test`` installs), labels ``--rows`` distinct tweets with the OpenAI-compatible provider exactly as the
pipeline does (negotiated format, token-sized requests), and reads the server's ``usage`` counts:

- completion tokens per labelled row (target ≤ 15);
- prompt tokens per row, the system prompt counted once for the run (target ≤ 1.5 × the tweet's own tokens): the
  system prompt is the same prefix in every request, which llama.cpp (and OpenAI, vLLM, Ollama) evaluate once and
  keep cached; the raw count (the system prompt in every request) is printed too;
- requests, wall time, rows per second.

Tweets: customer rows of ``../shared/data/real_tweets_unlabeled.csv`` when it exists (real French tweets),
else the synthetic generator. Token counts of tweets and of the system prompt come from the server's tokenizer.

    .venv/bin/python bench/bench_llm_server.py [--rows 100] [--data PATH] [--url http://host:port/v1 --model M]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path

import httpx
import pandas as pd
from _common import PROJECT_ROOT, Section, print_sections

sys.path.insert(0, str(PROJECT_ROOT))

from dallosh.defaults import DEFAULT_OPERATOR_ACCOUNTS, DEFAULT_TOPICS  # noqa: E402
from dallosh.llm.base import Row  # noqa: E402
from dallosh.llm.models import ModelConfig  # noqa: E402
from dallosh.llm.openai_provider import OpenAICompatibleProvider  # noqa: E402

REAL_TWEETS = PROJECT_ROOT.parent / "shared" / "data" / "real_tweets_unlabeled.csv"
COMPLETION_TARGET = 15
PROMPT_RATIO_TARGET = 1.5


def load_rows(path: Path | None, count: int) -> tuple[list[Row], str]:
    if path is not None and path.exists():
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
        operators = {a.casefold() for a in DEFAULT_OPERATOR_ACCOUNTS}
        frame = frame[~frame["screen_name"].str.casefold().isin(operators)].drop_duplicates("full_text")
        source = f"{path.name} (real tweets, customers only)"
    else:
        from tools.synthetic import generate_tweets

        frame = generate_tweets(count * 2, seed=3).drop_duplicates("full_text")
        source = "synthetic tweets"
    frame = frame.head(count)
    return [Row(str(i), text) for i, text in zip(frame["id"], frame["full_text"], strict=True)], source


def token_count(base_url: str, text: str) -> int:
    """Tokens of ``text`` by the server's tokenizer (llama-cpp-python's /extras/tokenize/count, BOS removed)."""
    root = base_url.removesuffix("/v1")
    count = httpx.post(f"{root}/extras/tokenize/count", json={"input": text}, timeout=60).json()["count"]
    empty = httpx.post(f"{root}/extras/tokenize/count", json={"input": ""}, timeout=60).json()["count"]
    return count - empty


def run(rows: int = 100, data: Path | None = REAL_TWEETS, url: str | None = None, model: str | None = None) -> Section:
    from tests.conftest import free_port

    section = Section("llm_server", "Real LLM server: tokens per labelled row (llama.cpp server, 270M Gemma 3)")
    with ExitStack() as stack:
        if url is None:
            from tests.llama_server import MODEL_ALIAS, LlamaServer

            log = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="dallosh-llm-"))) / "server.log"
            server = stack.enter_context(LlamaServer(free_port(), log))
            url, model = server.url, MODEL_ALIAS
        batch, source = load_rows(data, rows)
        provider = OpenAICompatibleProvider(ModelConfig(uid="bench", model=model or "model", base_url=url,
                                                        provider="openai", kind="external"), timeout=600)
        started = time.perf_counter()
        attempt = provider.label_partial(batch, list(DEFAULT_TOPICS))
        wall = time.perf_counter() - started
        provider.close()
        stats = provider.stats()
        labelled = len(attempt.labels)
        tweet_tokens = [token_count(url, r.text) for r in batch]
        system_tokens = token_count(url, provider.system_prompt(list(DEFAULT_TOPICS)))
    requests = stats["requests"] - len(stats["rejected_formats"])  # refused probes carry no usage
    section.metrics.update(source=source, response_format=stats["response_format"],
                           rejected_formats=stats["rejected_formats"])
    section.line("tweets", f"{len(batch)} distinct from {source}")
    section.add("labelled", "rows labelled by the model", labelled)
    section.add("requests", "labelling requests (after negotiation)", requests)
    section.line("response format", f"{stats['response_format']} (refused: "
                 f"{', '.join(f.split(':')[0] for f in stats['rejected_formats']) or 'none'})")
    section.add("wall_s", "wall time", round(wall, 1), "{:.1f} s")
    section.add("rows_per_s", "rows per second", round(labelled / wall, 2) if wall else 0, "{:.2f}")
    completion = stats["completion_tokens"] / max(1, labelled)
    section.add("completion_per_row", "completion tokens per row", round(completion, 2), "{:.2f}")
    raw = stats["prompt_tokens"] / max(1, labelled)
    amortised = (stats["prompt_tokens"] - system_tokens * max(0, requests - 1)) / max(1, labelled)
    tweet = statistics.mean(tweet_tokens)
    section.add("system_prompt_tokens", "system prompt tokens (once per request)", system_tokens)
    section.add("tweet_tokens_mean", "tweet's own tokens, mean", round(tweet, 1), "{:.1f}")
    section.add("prompt_per_row_raw", "prompt tokens per row, system prompt in every request", round(raw, 1),
                "{:.1f}")
    section.add("prompt_per_row", "prompt tokens per row, system prompt once per run", round(amortised, 1),
                "{:.1f}")
    section.target(f"completion tokens per row ≤ {COMPLETION_TARGET}", f"{completion:.2f}",
                   completion <= COMPLETION_TARGET)
    section.target(f"prompt tokens per row ≤ {PROMPT_RATIO_TARGET} × tweet tokens",
                   f"{amortised:.1f} ≤ {PROMPT_RATIO_TARGET * tweet:.1f} ({amortised / tweet:.2f}×)",
                   amortised <= PROMPT_RATIO_TARGET * tweet)
    section.notes.append(f"with the system prompt in every request the ratio is {raw / tweet:.2f}× "
                         f"({system_tokens} tokens over ~{labelled / max(1, requests):.0f} rows per request)")
    if labelled < len(batch):
        section.notes.append(f"{len(batch) - labelled} row(s) not labelled: {attempt.failures[:1]}")
    return section


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100, help="distinct tweets to label")
    parser.add_argument("--data", type=Path, default=REAL_TWEETS, help="a tweet export (default: the real set)")
    parser.add_argument("--url", help="an OpenAI-compatible base URL (default: start the test server)")
    parser.add_argument("--model", help="the model name for --url")
    args = parser.parse_args(argv)
    print_sections([run(args.rows, args.data, args.url, args.model)])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
