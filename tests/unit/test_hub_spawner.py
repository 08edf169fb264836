"""The spawner's start-up helpers: waiting for a new server to listen, and the single-user entry point."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys

from dallosh.config import PROJECT_ROOT
from hub.spawner import singleuser_cmd, wait_listening


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wait_listening_returns_once_the_server_listens():
    port = free_port()

    async def scenario() -> tuple[bool, bool, int]:
        listening = asyncio.Event()
        polls = 0

        def alive() -> bool:  # called before every poll: the third one opens the port
            nonlocal polls
            polls += 1
            return True

        async def open_after_two_polls():
            while polls < 3:
                await asyncio.sleep(0)
            server = await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)
            listening.set()
            return server

        opening = asyncio.ensure_future(open_after_two_polls())
        ok = await wait_listening("127.0.0.1", port, alive=alive, timeout=30, every=0.01)
        opened_first = listening.is_set()
        (await opening).close()
        return ok, opened_first, polls

    ok, opened_first, polls = asyncio.run(scenario())
    assert ok and opened_first  # True only once the port accepts connections...
    assert polls <= 5  # ...found within a poll or two of opening, not after the hub's growing backoff


def test_wait_listening_gives_up_when_the_process_died_or_at_the_timeout():
    port = free_port()
    assert asyncio.run(wait_listening("127.0.0.1", port, alive=lambda: False, timeout=10)) is False
    assert asyncio.run(wait_listening("127.0.0.1", port, alive=lambda: True, timeout=0.3)) is False


def test_singleuser_entry_point_is_jupyterhub_singleuser_without_the_slow_iri_grammar():
    code = (
        "import sys\n"
        "sys.argv = ['jupyterhub-singleuser', '--version']\n"
        "from hub import singleuser\n"
        "try:\n"
        "    singleuser.main()\n"
        "except SystemExit:\n"
        "    pass\n"
        "import jsonschema\n"
        "print('LOADED' if sys.modules.get('rfc3987_syntax') else 'SKIPPED')\n"
        "print(jsonschema.Draft7Validator({'type': 'string', 'format': 'iri'},\n"
        "      format_checker=jsonschema.FormatChecker()).is_valid('x'))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=PROJECT_ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[-2:] == ["SKIPPED", "True"]
    assert singleuser_cmd() == [sys.executable, "-m", "hub.singleuser"]
