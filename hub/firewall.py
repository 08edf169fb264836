"""Users' servers may not open connections to the database, Redis or RabbitMQ (netfilter, by group).

Why: the embedded database (nx-27017) has no authentication and listens on loopback, so without this any local
account, including a user's server, could read and write every collection. Redis and RabbitMQ have passwords,
but a server has no business knocking on them either. When the hub runs users' servers as their own system
accounts (hub/sysusers.py), every such account is also a member of ``dallosh-servers``, and the hub adds one
netfilter chain (iptables and ip6tables, the ``owner`` match) that resets any *new* TCP connection those accounts
open to the services' ports, on any address. Replies of their own servers are untouched (only SYNs match), and the
hub, the API and the worker, which do not run in that group, reach the services as before.

The chain is named after the hub's process (``DALLOSH-<pid>``) so hubs running side by side (tests) do not remove
each other's rules; a chain whose hub died without cleaning up is removed by the next hub. Where the rules cannot
be installed (no iptables, no ``CAP_NET_ADMIN``, not root), the hub logs why and the risk stated in
docs/security.md remains.
"""

from __future__ import annotations

import atexit
import logging
import os
import re
import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass, field

from dallosh.config import Config
from hub.sysusers import GROUP, AccountError, ensure_group

log = logging.getLogger("dallosh.hub")

CHAIN_PREFIX = "DALLOSH-"
#: iptables for IPv4, ip6tables for IPv6 (Redis listens on ::1 too).
TOOLS = ("iptables", "ip6tables")
_JUMP = re.compile(rf"^-A OUTPUT (?P<rule>.* -j (?P<chain>{CHAIN_PREFIX}(?P<pid>\d+)))\s*$")


class FirewallError(RuntimeError):
    """The rules could not be installed; the reason is the tool's own message."""


def service_ports(config: Config) -> list[int]:
    """The TCP ports of the database (every host of its URI), Redis and RabbitMQ, as configured."""
    ports: set[int] = set()
    for uri, default in ((config.mongodb_uri, 27017), (config.redis_url, 6379), (config.rabbitmq_url, 5672)):
        # by hand: urlsplit refuses MongoDB's multi-host lists with an IPv6 host in them
        netloc = re.split(r"[/?]", uri.partition("://")[2], maxsplit=1)[0].rpartition("@")[2]
        for host in filter(None, netloc.split(",")):
            # "[::1]:27017", "host:27017", "host": the port is what follows the last colon outside brackets
            tail = host.rsplit("]", 1)[-1]
            port = tail.rpartition(":")[2] if ":" in tail else ""
            ports.add(int(port) if port.isdigit() else default)
    return sorted(ports)


def jump_rule(chain: str) -> list[str]:
    """The OUTPUT rule (without ``-I OUTPUT 1`` / ``-D OUTPUT``) that sends the group's new connections to ``chain``."""
    return ["-p", "tcp", "--syn", "-m", "owner", "--gid-owner", GROUP, "--suppl-groups", "-j", chain]


def chain_rules(chain: str, ports: Iterable[int]) -> list[list[str]]:
    """The arguments of each command that builds ``chain`` and sends the group's new connections through it."""
    rules = [["-N", chain]]
    for port in sorted(set(ports)):
        rules.append(["-A", chain, "-p", "tcp", "--dport", str(port), "-j", "REJECT", "--reject-with", "tcp-reset"])
    rules.append(["-I", "OUTPUT", "1", *jump_rule(chain)])
    return rules


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


@dataclass
class Firewall:
    """The rules of this hub process: ``install(ports)`` once, ``remove()`` at exit (registered by install)."""

    chain: str = field(default_factory=lambda: f"{CHAIN_PREFIX}{os.getpid()}")
    tools: list[str] = field(default_factory=list)

    def _run(self, tool: str, args: list[str], *, check: bool = True) -> subprocess.CompletedProcess:
        result = subprocess.run([tool, "-w", *args], capture_output=True, text=True, check=False)
        if check and result.returncode != 0:
            raise FirewallError(f"{tool} {' '.join(args)}: {result.stderr.strip() or result.returncode}")
        return result

    def _drop_chain(self, tool: str, chain: str, jump: list[str] | None = None) -> None:
        if jump is not None:
            self._run(tool, ["-D", "OUTPUT", *jump], check=False)
        self._run(tool, ["-F", chain], check=False)
        self._run(tool, ["-X", chain], check=False)

    def remove_stale(self, tool: str) -> None:
        """Chains of hubs that died without removing them (their jump rule names a dead pid)."""
        listing = self._run(tool, ["-S", "OUTPUT"], check=False).stdout
        for line in listing.splitlines():
            match = _JUMP.match(line)
            if match and (int(match["pid"]) == os.getpid() or not _pid_alive(int(match["pid"]))):
                self._drop_chain(tool, match["chain"], match["rule"].split())

    def install(self, ports: Iterable[int]) -> None:
        """Add the chain for ``ports`` with every available tool; raise ``FirewallError`` if IPv4 failed."""
        ports = list(ports)
        ensure_group()
        for tool in TOOLS:
            if shutil.which(tool) is None:
                if tool == "iptables":
                    raise FirewallError("iptables is not installed")
                continue
            try:
                self.remove_stale(tool)
                for args in chain_rules(self.chain, ports):
                    self._run(tool, args)
            except FirewallError:
                self._drop_chain(tool, self.chain, jump_rule(self.chain))
                if tool == "iptables":
                    raise
                log.warning("ip6tables rules not installed; IPv4 ones are", exc_info=True)
                continue
            self.tools.append(tool)
        atexit.register(self.remove)

    def remove(self) -> None:
        for tool in self.tools:
            self._drop_chain(tool, self.chain, jump_rule(self.chain))
        self.tools = []


_installed: Firewall | None = None


def guard_services(config: Config) -> bool:
    """Install this hub's rules once; False (with the reason in the hub's log) when they cannot be."""
    global _installed
    if _installed is not None:
        return True
    firewall, ports = Firewall(), service_ports(config)
    try:
        firewall.install(ports)
    except (FirewallError, AccountError, OSError) as exc:
        log.warning("users' servers can still open connections to the database, Redis and RabbitMQ (the "
                    "embedded database has no password): %s. Install iptables and run the hub as root with "
                    "CAP_NET_ADMIN (docs/security.md).", exc)
        return False
    _installed = firewall
    log.info("users' servers cannot connect to ports %s (netfilter chain %s)",
             ", ".join(map(str, ports)), firewall.chain)
    return True
