"""The firewall's rules as data (hub/firewall.py); tests/integration/test_firewall.py applies them for real."""

from __future__ import annotations

from pathlib import Path

from dallosh.config import load_config
from hub import firewall
from hub.sysusers import GROUP


def config(**env: str):
    return load_config(env, env_file=Path("/nonexistent"))


def test_ports_of_every_configured_service_with_their_defaults():
    assert firewall.service_ports(config(
        DALLOSH_MONGODB_URI="mongodb://127.0.0.1:41234", DALLOSH_REDIS_URL="redis://:pw@127.0.0.1:6380/0",
        DALLOSH_RABBITMQ_URL="amqp://dallosh:pw@localhost:5673/%2F")) == [5673, 6380, 41234]
    assert firewall.service_ports(config(
        DALLOSH_MONGODB_URI="mongodb://u:p@db1,db2:27018,[::1]:27019/?replicaSet=rs",
        DALLOSH_REDIS_URL="redis://cache", DALLOSH_RABBITMQ_URL="amqp://broker")) == [5672, 6379, 27017, 27018, 27019]


def test_the_chain_resets_new_connections_of_the_servers_group_only():
    rules = firewall.chain_rules("DALLOSH-42", [6379, 27017, 6379])
    assert rules[0] == ["-N", "DALLOSH-42"]
    assert [r[r.index("--dport") + 1] for r in rules[1:-1]] == ["6379", "27017"]  # once each, sorted
    assert all(r[-3:] == ["REJECT", "--reject-with", "tcp-reset"] for r in rules[1:-1])
    jump = rules[-1]
    assert jump[:3] == ["-I", "OUTPUT", "1"] and jump[-2:] == ["-j", "DALLOSH-42"]
    # only connection openings (replies of the users' own servers pass), only the group's accounts
    assert "--syn" in jump and jump[jump.index("--gid-owner") + 1] == GROUP and "--suppl-groups" in jump


def test_stale_chains_are_recognised_by_their_hubs_pid():
    line = ("-A OUTPUT -p tcp -m tcp --tcp-flags FIN,SYN,RST,ACK SYN -m owner --gid-owner 995 --suppl-groups "
            "-j DALLOSH-11680")
    match = firewall._JUMP.match(line)
    assert match and match["pid"] == "11680" and match["rule"].endswith("-j DALLOSH-11680")
    assert firewall._JUMP.match("-A OUTPUT -j ACCEPT") is None  # someone else's rule is never touched
