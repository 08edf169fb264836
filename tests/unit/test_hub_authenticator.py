"""The hub's authenticator: password hashing off the event loop, the client's address passed for throttling."""

from __future__ import annotations

import asyncio
import threading
from types import SimpleNamespace

from dallosh.services.base import Actor
from hub.authenticator import DalloshAuthenticator


class RecordingAuth:
    """Stands in for AuthService.login only to record where and with what it was called."""

    def __init__(self):
        self.calls: list[tuple[str, str, str, str]] = []

    def login(self, email: str, password: str, address: str = "") -> Actor:
        self.calls.append((email, password, address, threading.current_thread().name))
        return Actor(uid="u1", email=email, role_name="analyst", permissions=frozenset({"read_datasets"}))


def test_login_runs_in_a_worker_thread_with_the_client_address(monkeypatch):
    auth = RecordingAuth()
    monkeypatch.setattr(DalloshAuthenticator, "services", property(lambda self: SimpleNamespace(auth=auth)))
    handler = SimpleNamespace(request=SimpleNamespace(remote_ip="203.0.113.9"))

    async def sign_in():
        loop_thread = threading.current_thread().name
        result = await DalloshAuthenticator().authenticate(handler, {"username": "a@b.io", "password": "pw"})
        return loop_thread, result

    loop_thread, result = asyncio.run(sign_in())
    [(email, password, address, thread)] = auth.calls
    assert (email, password, address) == ("a@b.io", "pw", "203.0.113.9")
    assert thread != loop_thread  # scrypt's 40 ms no longer blocks every other request of the hub
    assert result["name"] == "a@b.io" and result["groups"] == ["analyst"] and not result["admin"]
