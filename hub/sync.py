"""Keeps JupyterHub in step with the app's accounts: a deleted, disabled or re-roled user loses their server.

Runs in kernels (through ``dallosh.session``) and talks to the hub's REST API with the ``dallosh`` service
token. Best effort and asynchronous: the account change is already committed; the hub also re-checks accounts
at every auth refresh (``DalloshAuthenticator.refresh_user``).
"""

from __future__ import annotations

import logging
import os
import threading
from urllib.parse import quote

import httpx

from dallosh.config import Config, get_config
from hub.secrets import service_token

log = logging.getLogger(__name__)


class HubClient:
    def __init__(self, api_url: str, token: str, timeout: float = 10.0):
        self.api_url = api_url.rstrip("/")
        self.headers = {"Authorization": f"token {token}"}
        self.timeout = timeout

    def remove_user(self, name: str) -> int:
        """Stop the user's server and remove them from the hub (they are re-created at their next login)."""
        response = httpx.delete(f"{self.api_url}/users/{quote(name, safe='')}", headers=self.headers,
                                timeout=self.timeout)
        return response.status_code

    def user(self, name: str) -> dict | None:
        response = httpx.get(f"{self.api_url}/users/{quote(name, safe='')}", headers=self.headers,
                             timeout=self.timeout)
        return response.json() if response.status_code == 200 else None


def client_from_env(config: Config | None = None) -> HubClient | None:
    """The client for the hub this process runs under (None outside JupyterHub)."""
    api_url = os.environ.get("JUPYTERHUB_API_URL")
    if not api_url:
        return None
    return HubClient(api_url, service_token(config or get_config()))


def account_listener(client: HubClient):
    """A ``Services.account_listeners`` entry that removes the user from the hub in the background."""

    def on_change(uid: str, email: str) -> None:
        def remove() -> None:
            try:
                status = client.remove_user(email)
                log.info("hub: removed %s (HTTP %s)", email, status)
            except httpx.HTTPError as exc:
                log.warning("hub: could not remove %s: %s", email, exc)

        threading.Thread(target=remove, name="dallosh-hub-sync", daemon=True).start()

    return on_change
