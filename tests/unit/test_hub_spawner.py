"""The spawner's start-up helpers: waiting for a new server to listen, and the single-user entry point."""

from __future__ import annotations

import asyncio
import socket
import subprocess
import sys
import time

from dallosh.config import PROJECT_ROOT
from hub.spawner import singleuser_cmd, wait_listening


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wait_listening_returns_as_soon_as_the_server_listens():
    port = free_port()

    async def scenario() -> tuple[bool, float]:
        async def open_later():
            await asyncio.sleep(0.3)
            return await asyncio.start_server(lambda r, w: w.close(), "127.0.0.1", port)

        opening = asyncio.ensure_future(open_later())
        start = time.monotonic()
        ok = await wait_listening("127.0.0.1", port, alive=lambda: True, timeout=10)
        elapsed = time.monotonic() - start
        (await opening).close()
        return ok, elapsed

    ok, elapsed = asyncio.run(scenario())
    assert ok
    assert 0.25 < elapsed < 1.0  # not the hub's next backoff step (0.2 + 0.4 + 0.8 s)


def test_wait_listening_gives_up_when_the_process_died_or_at_the_timeout():
    port = free_port()
    assert asyncio.run(wait_listening("127.0.0.1", port, alive=lambda: False, timeout=10)) is False
    start = time.monotonic()
    assert asyncio.run(wait_listening("127.0.0.1", port, alive=lambda: True, timeout=0.3)) is False
    assert time.monotonic() - start < 2


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
