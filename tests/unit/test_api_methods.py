"""dallosh.api.methods: every service call the pages make reaches the API (users' kernels are its clients).

A page calls ``services.<service>.<method>``; in a user's kernel ``services`` is ``dallosh.client.Client``, which
forwards each call to the API, where only the allow-list runs. A method a page calls but the list lacks works in
tests on the services themselves and fails on every real page ("… is not part of the dallosh API"); this test
reads the pages' code instead (pages call ``self.services.<service>.<method>(`` as written, never through an
alias, so that it sees every call).
"""

from __future__ import annotations

import re
from pathlib import Path

from dallosh.api.methods import is_exposed
from dallosh.client import Client, RemoteService

UI = Path(__file__).resolve().parents[2] / "dallosh" / "ui"
CALL = re.compile(r"services\.([a-z_]+)\.([a-z_]+)\(")


def pages_calls() -> set[tuple[str, str]]:
    return {m.groups() for path in UI.rglob("*.py") for m in CALL.finditer(path.read_text(encoding="utf-8"))}


def handled_by_the_client(service: str, method: str) -> bool:
    """Calls the client answers with its own endpoints (files stream through upload and download routes)."""
    client = Client("http://127.0.0.1:9/", "token")  # never connects: only its services' classes are read
    try:
        remote = vars(client).get(service)
        return isinstance(remote, RemoteService) and method in vars(type(remote))
    finally:
        client.close()


def test_every_service_call_of_the_pages_is_exposed_by_the_api():
    calls = pages_calls()
    assert ("alerts", "list_firings") in calls and ("files", "frame") in calls  # the scan sees the pages' calls
    missing = sorted(f"{s}.{m}" for s, m in calls if not is_exposed(s, m) and not handled_by_the_client(s, m))
    assert missing == [], f"add them to dallosh/api/methods.py (or the client): {missing}"
    assert not is_exposed("delivery", "enqueue") and not handled_by_the_client("delivery", "enqueue")
