"""The project's fake LLM server (tests/mocking.py, behaviour ``slow``) in its own process, for bench_llm.

Its own process so that answering requests (JSON, request checks, the hash "model") does not compete with the
pipeline for the GIL. Prints its base URL on the first line, then reads commands on stdin: ``count`` prints the number
of chat requests received since the previous ``count``; end of input stops the server.

    PYTHONPATH=. python bench/_fake_llm.py [--latency 0.1] [--backlog 128]
"""

from __future__ import annotations

import argparse
import sys

from tests import mocking
from tests.mocking import FakeLLMServer


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=0.1, help="seconds every chat request waits")
    parser.add_argument("--backlog", type=int, default=128,
                        help="listen backlog (socketserver's default of 5 drops connections at concurrency 16)")
    args = parser.parse_args(argv)
    mocking._HTTPServer.request_queue_size = args.backlog
    with FakeLLMServer("slow", seconds=args.latency) as server:
        print(server.url, flush=True)
        for line in sys.stdin:
            if line.strip() == "count":
                count = len(server.chat_requests)
                server.reset()
                print(count, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
