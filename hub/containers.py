"""Users' servers in their own Docker containers (``DALLOSH_SPAWNER=docker``; docker-compose.yaml).

Each server is a container of the app image on the users' network, where only the hub answers: its kernels
reach the data through the dallosh API (``DALLOSH_API_URL``, behind the hub's proxy) with the user's own token,
and the database, Redis and RabbitMQ, which live on the backend network only, are unreachable. The same rules as
the local spawner decide the environment (``settings_environment`` with ``clients=True``: no credential), the
landing page and the role's switches; the container sees no storage volume, only its user's work volume.
"""

from __future__ import annotations

from dockerspawner import DockerSpawner

from dallosh.config import get_config
from hub.config import API_SERVICE_NAME
from hub.spawner import (
    SERVER_NOTEBOOKS,
    SERVER_STORAGE,
    SINGLEUSER_CONFIG,
    WORK_DIR,
    actor_of,
    home_url,
    role_environment,
    settings_environment,
)


class DalloshDockerSpawner(DockerSpawner):
    """DockerSpawner with the app's per-role logic; configured by ``hub.config.configure_docker``."""

    async def start(self):
        actor = actor_of(self.user.name)
        self.default_url = home_url(actor)
        self._dallosh_env = role_environment(actor, self.user.name)
        self.volumes = {}
        if "use_notebooks" in actor.permissions:  # a power user's files outlive the container
            self.volumes = {"dallosh-work-{username}": f"{SERVER_NOTEBOOKS}/{WORK_DIR}"}
        return await super().start()

    def get_env(self):
        return container_environment(super().get_env(), getattr(self, "_dallosh_env", {}))


def container_environment(base: dict[str, str], role: dict[str, str]) -> dict[str, str]:
    """A server container's environment: JupyterHub's own (``base``), the settings without any credential, where
    it finds its pages and the API (the hub's proxy, on the users' network), and its role's switches."""
    return {**base, **settings_environment(clients=True), "DALLOSH_STORAGE_ROOT": SERVER_STORAGE,
            "DALLOSH_EMBEDDED_DB": "never",
            "DALLOSH_API_URL": f"http://hub:{get_config().hub_port}/services/{API_SERVICE_NAME}/", **role}


def configure_docker(c) -> None:
    """The JupyterHub settings of the Docker spawner (called by ``hub.config.configure``)."""
    config = get_config()
    c.JupyterHub.spawner_class = DalloshDockerSpawner
    c.DockerSpawner.image = config.server_image
    c.DockerSpawner.network_name = config.users_network
    c.DockerSpawner.use_internal_ip = True
    c.DockerSpawner.remove = True  # a server's container goes when it stops; the work volume stays
    c.DockerSpawner.cmd = ["python", "-m", "hub.singleuser", f"--config={SINGLEUSER_CONFIG}"]
    c.DockerSpawner.notebook_dir = SERVER_NOTEBOOKS
    # The containers call the hub API at its name on the users' network; the hub listens there too.
    c.JupyterHub.hub_ip = "0.0.0.0"
    c.JupyterHub.hub_connect_ip = "hub"
