"""Users' servers in containers (hub/containers.py, docker-compose.yaml) and the environment rule every spawner
shares (hub/spawner.py::settings_environment): no credential reaches a server that runs users' code."""

from __future__ import annotations

from pathlib import Path

import yaml
from traitlets.config import Config as TraitletsConfig

from hub import containers
from hub.spawner import CLIENT_WITHHOLDS, SERVER_STORAGE, settings_environment

ROOT = Path(__file__).resolve().parents[2]
HUB_ENV = {"DALLOSH_MONGODB_URI": "mongodb://dallosh:pw@mongodb:27017", "DALLOSH_REDIS_URL": "redis://:pw@redis",
           "DALLOSH_RABBITMQ_URL": "amqp://dallosh:pw@rabbitmq/%2F", "DALLOSH_SECRET_KEY": "k" * 40,
           "DALLOSH_LOG_LEVEL": "DEBUG", "DALLOSH_KERNEL_CLIENT": "off", "PATH": "/usr/bin"}


def test_servers_whose_kernels_are_clients_get_the_settings_without_credentials():
    env = settings_environment(clients=True, environ=HUB_ENV)
    assert not any(secret in value for value in env.values() for secret in ("pw@", "k" * 40))
    assert env["DALLOSH_LOG_LEVEL"] == "DEBUG" and env["DALLOSH_KERNEL_CLIENT"] == "on"
    assert "PATH" not in env  # settings only
    # positive control: servers allowed to use the database directly get every setting
    direct = settings_environment(clients=False, environ=HUB_ENV)
    assert direct["DALLOSH_MONGODB_URI"] == HUB_ENV["DALLOSH_MONGODB_URI"] and direct["DALLOSH_KERNEL_CLIENT"] == "off"
    assert {"mongodb_uri", "redis_url", "rabbitmq_url", "secret_key"} <= CLIENT_WITHHOLDS


def test_a_container_calls_the_api_through_the_hub_and_holds_no_credential(monkeypatch):
    for key, value in HUB_ENV.items():
        monkeypatch.setenv(key, value)
    role = {"DALLOSH_NOTEBOOKS": "1", "DALLOSH_WORK_DIR": "work/mallory_example.com"}
    env = containers.container_environment({"JUPYTERHUB_API_TOKEN": "user-token"}, role)
    api = env["DALLOSH_API_URL"]
    assert api.startswith("http://hub:") and api.endswith("/services/dallosh-api/")
    assert env["DALLOSH_STORAGE_ROOT"] == SERVER_STORAGE and env["JUPYTERHUB_API_TOKEN"] == "user-token"
    assert env["DALLOSH_WORK_DIR"] == "work/mallory_example.com" and env["DALLOSH_KERNEL_CLIENT"] == "on"
    assert not [k for k, v in env.items() if "pw@" in v or v == HUB_ENV["DALLOSH_SECRET_KEY"]]


def test_the_docker_spawner_puts_servers_on_the_users_network():
    c = TraitletsConfig()
    containers.configure_docker(c)
    assert c.JupyterHub.spawner_class is containers.DalloshDockerSpawner
    assert c.DockerSpawner.network_name == "dallosh-users" and c.JupyterHub.hub_connect_ip == "hub"
    assert c.DockerSpawner.cmd[:3] == ["python", "-m", "hub.singleuser"]


def test_compose_keeps_the_backends_off_the_users_network():
    compose = yaml.safe_load((ROOT / "docker-compose.yaml").read_text(encoding="utf-8"))
    services, networks = compose["services"], compose["networks"]
    users = networks["users"]
    assert users["internal"] is True and users["name"] == "dallosh-users"
    on_users = [name for name, svc in services.items() if "users" in (svc.get("networks") or [])]
    assert on_users == ["hub"], "only the hub answers users' servers"
    for backend in ("mongodb", "redis", "rabbitmq"):
        assert services[backend]["networks"] == ["backend"]
    hub_env = services["hub"]["environment"]
    assert hub_env["DALLOSH_SPAWNER"] == "docker" and hub_env["DALLOSH_USERS_NETWORK"] == users["name"]
    sockets = [name for name, svc in services.items()
               if any("docker.sock" in str(v) for v in svc.get("volumes", []))]
    assert sockets == ["hub"]
    # the backends require credentials there
    assert "--requirepass" in " ".join(services["redis"]["command"])
    assert services["mongodb"]["environment"]["MONGO_INITDB_ROOT_PASSWORD"]
    assert services["rabbitmq"]["environment"]["RABBITMQ_DEFAULT_PASS"]
