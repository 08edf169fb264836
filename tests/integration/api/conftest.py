"""A real JupyterHub with its proxy and the managed dallosh API service, on free ports, once per module.

Tokens are real hub tokens: a user signs in through the hub's login form and creates a token on the hub API
with that session, as the hub's own token page does; ``token_for`` caches one per user. The queue and exchange
are the module's own; no worker runs (a started task stays queued, its ``in_queue`` event is published).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest

from dallosh.bootstrap import bootstrap
from dallosh.config import PROJECT_ROOT, Config, load_config
from dallosh.processes import stop_pid_file, stop_tree
from dallosh.services import Services
from dallosh.storage import Storage
from hub.config import API_SERVICE_NAME, free_public_port

#: Roles the tests give their own users (created through the services, as an admin would).
POWER_PERMISSIONS = ["read_datasets", "use_notebooks"]


@dataclass
class ApiHub:
    config: Config
    services: Services
    url: str
    env: dict[str, str]
    name: str = "api"
    tokens: dict[str, str] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"{self.url}/services/{API_SERVICE_NAME}/"

    def log(self) -> str:
        path = self.config.storage_root / "logs" / f"{self.name}-hub.log"
        return path.read_text(errors="replace")[-6000:] if path.exists() else ""

    def token_for(self, email: str, password: str, scopes: list[str] | None = None) -> str:
        """A hub token of ``email``: signs in with the login form, then asks the hub API for a token."""
        key = f"{email}|{scopes}"
        if key in self.tokens:
            return self.tokens[key]
        with httpx.Client(base_url=self.url, follow_redirects=False, timeout=30) as http:
            http.get("/hub/login")
            xsrf = http.cookies.get("_xsrf", "")
            response = http.post("/hub/login", data={"username": email, "password": password, "_xsrf": xsrf})
            assert response.status_code == 302, f"login failed for {email}: {response.status_code}"
            body = {"note": "dallosh API test"} | ({"scopes": scopes} if scopes is not None else {})
            response = http.post(f"/hub/api/users/{email}/tokens", json=body,
                                 headers={"X-XSRFToken": http.cookies.get("_xsrf", xsrf)})
            assert response.status_code == 201, response.text
            token = response.json()["token"]
        self.tokens[key] = token
        return token


def wait_answers(url: str, proc: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise RuntimeError(f"{url} did not answer")


def start_hub(mongo_uri: str, root: Path, name: str = "api") -> tuple[ApiHub, subprocess.Popen]:
    """Bootstrap a database and storage of their own, start the hub (which starts the API); wait for both."""
    port = free_public_port()
    suffix = uuid.uuid4().hex[:8]
    env = {**os.environ,
           "DALLOSH_MONGODB_URI": mongo_uri, "DALLOSH_MONGODB_DATABASE": f"{name}_{suffix}",
           "DALLOSH_STORAGE_ROOT": str(root / "storage"), "DALLOSH_HUB_PORT": str(port),
           "DALLOSH_QUEUE_NAME": f"{name}-{suffix}", "DALLOSH_EVENTS_EXCHANGE": f"{name}-tasks-{suffix}",
           "DALLOSH_EMBEDDED_DB": "never",
           "NO_PROXY": "127.0.0.1,localhost", "PYTHONPATH": os.pathsep.join(
               p for p in (str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")) if p)}
    config = load_config(env, env_file=Path("/nonexistent"))
    services = Services.from_config(config)
    bootstrap(services)
    (config.storage_root / "logs").mkdir(parents=True, exist_ok=True)
    log = open(config.storage_root / "logs" / f"{name}-hub.log", "wb")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "hub"], cwd=config.storage_root / "run",
                            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    hub = ApiHub(config, services, f"http://127.0.0.1:{port}", env, name)
    try:
        wait_answers(hub.url + "/hub/health", proc)
        wait_answers(hub.api_url + "health", proc)
    except RuntimeError:
        stop_hub(hub, proc)
        raise RuntimeError(f"the hub or its API did not start:\n{hub.log()}") from None
    return hub, proc


def stop_hub(hub: ApiHub, proc: subprocess.Popen) -> None:
    from tests.e2e.conftest import remove_server_accounts

    stop_tree(proc.pid)
    stop_pid_file(Storage(hub.config.storage_root).proxy_pid_file, "configurable-http-proxy")
    hub.services.db.drop_database()
    remove_server_accounts(hub.config.storage_root)  # the system accounts its users' servers ran as


@pytest.fixture(scope="module")
def api_hub(mongo_uri: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ApiHub]:
    hub, proc = start_hub(mongo_uri, tmp_path_factory.mktemp("api-hub"))
    try:
        yield hub
    finally:
        stop_hub(hub, proc)
