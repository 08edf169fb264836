"""The hub's netfilter rules (hub/firewall.py) applied for real: a server account cannot connect to a guarded
port, root can, and nothing is left behind. Needs root, useradd and iptables (``./run test`` installs it)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import uuid
from collections.abc import Iterator

import pytest

from hub import firewall, sysusers
from tests.conftest import free_port

pytestmark = pytest.mark.skipif(not sysusers.resolve_mode("auto") or shutil.which("iptables") is None,
                                reason="needs root, useradd and iptables")

PROBE = ("import socket, sys\n"
         "try:\n"
         "    socket.create_connection(('127.0.0.1', int(sys.argv[1])), 3).close(); print('connected')\n"
         "except OSError as exc:\n"
         "    print(type(exc).__name__)\n")


@pytest.fixture
def account() -> Iterator[str]:
    """A throwaway account in the servers' group, as the spawner makes them."""
    sysusers.ensure_group()
    name = f"dlfw{uuid.uuid4().hex[:6]}"
    subprocess.run(["useradd", "--system", "--no-create-home", "--groups", sysusers.GROUP, "--shell",
                    sysusers.NOLOGIN, name], check=True)
    try:
        yield name
    finally:
        subprocess.run(["userdel", name], check=False)


@pytest.fixture
def listener() -> Iterator[int]:
    sock = socket.socket()
    sock.bind(("127.0.0.1", free_port()))
    sock.listen(16)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def connect_as(name: str, port: int) -> str:
    out = subprocess.run(["runuser", "-u", name, "--", "python3", "-c", PROBE, str(port)], capture_output=True,
                         text=True, timeout=30, check=True)
    return out.stdout.strip()


def chains() -> str:
    return subprocess.run(["iptables", "-S"], capture_output=True, text=True, check=True).stdout


def test_a_server_account_cannot_connect_to_a_guarded_port_and_root_still_can(account, listener):
    other = socket.socket()
    other.bind(("127.0.0.1", 0))
    other.listen(1)
    unguarded = other.getsockname()[1]
    assert connect_as(account, listener) == "connected"  # positive control: reachable before
    wall = firewall.Firewall()
    try:
        wall.install([listener])
        assert wall.chain in chains()
        assert connect_as(account, listener) == "ConnectionRefusedError"
        assert connect_as(account, unguarded) == "connected"  # only the services' ports
        socket.create_connection(("127.0.0.1", listener), 3).close()  # the hub's account is not in the group
    finally:
        wall.remove()
        other.close()
    assert wall.chain not in chains()
    assert connect_as(account, listener) == "connected"


def test_a_dead_hubs_chain_is_removed_by_the_next_hub(account, listener):
    dead = subprocess.Popen(["true"])
    dead.wait()
    stale = firewall.Firewall(chain=f"{firewall.CHAIN_PREFIX}{dead.pid}")
    for args in firewall.chain_rules(stale.chain, [listener]):
        stale._run("iptables", args)
    assert connect_as(account, listener) == "ConnectionRefusedError"
    wall = firewall.Firewall()
    try:
        wall.install([listener + 1])
        assert stale.chain not in chains() and wall.chain in chains()
        assert connect_as(account, listener) == "connected"
    finally:
        wall.remove()
        stale._drop_chain("iptables", stale.chain, firewall.jump_rule(stale.chain))
