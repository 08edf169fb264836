"""Everything JupyterHub is told, in one function (``jupyterhub_config.py`` only calls it)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

from dallosh.config import PROJECT_ROOT, Config, get_config
from dallosh.db.embedded import ensure_database
from dallosh.storage import Storage
from hub.csp import HUB_POLICY
from hub.secrets import cookie_secret_file, service_token
from hub.spawner import DalloshSpawner, singleuser_cmd

HUB_DIR = Path(__file__).resolve().parent
#: The file ``jupyterhub -f`` reads (``python -m hub`` passes it); shipped inside the package.
CONFIG_FILE = HUB_DIR / "jupyterhub_config.py"
#: Where Voilà finds the ``dallosh`` page template (``<dir>/voila/templates/dallosh``).
JUPYTER_DIR = HUB_DIR / "jupyter"
#: Name of the hub service whose token lets the app stop and remove users' servers.
SERVICE_NAME = "dallosh"
#: Internal ports follow the public one (8000 → proxy API 8001, hub API 8081: JupyterHub's own defaults).
PROXY_API_OFFSET, HUB_API_OFFSET = 1, 81


def _bindable(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def free_public_port(attempts: int = 200) -> int:
    """A free port for a hub whose two internal ports are free as well (test and benchmark hubs)."""
    for _ in range(attempts):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        if port + HUB_API_OFFSET < 65536 and all(_bindable(port + o) for o in (PROXY_API_OFFSET, HUB_API_OFFSET)):
            return port
    raise RuntimeError("no free port with free internal ports for a hub")


def landing_for_anonymous(handler) -> str:
    """``/`` shows the landing page to visitors; signed-in users get their dashboards (empty = default)."""
    if type(handler).__name__ == "RootHandler" and handler.current_user is None:
        return handler.hub.base_url + "landing"
    return ""


def profile_theme(user) -> str:
    """The signed-in user's theme from their profile, so hub pages match the dashboards."""
    if user is None:
        return ""
    from dallosh.services import get_services

    record = get_services().users.find_by_email(user.name)
    return record.data.theme if record else ""


def node_proxy_command() -> list[str]:
    """The checkout's npm-installed proxy (``./run``), else the one on PATH (the image, an installed wheel)."""
    local = PROJECT_ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
    return [str(local)] if local.exists() else ["configurable-http-proxy"]


def with_dallosh_templates(jupyter_path: str) -> str:
    """``JUPYTER_PATH`` with the package's template folder first, other entries kept after it."""
    entries = [p for p in jupyter_path.split(os.pathsep) if p and p != str(JUPYTER_DIR)]
    return os.pathsep.join([str(JUPYTER_DIR), *entries])


def configure(c, config: Config | None = None) -> None:
    config = config or get_config()
    storage = Storage(config.storage_root)
    run_dir = storage.run_dir
    run_dir.mkdir(parents=True, exist_ok=True)
    ensure_database(config)
    os.environ["JUPYTER_PATH"] = with_dallosh_templates(os.environ.get("JUPYTER_PATH", ""))

    c.JupyterHub.ip = config.hub_ip
    c.JupyterHub.port = config.hub_port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.db_url = f"sqlite:///{run_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(cookie_secret_file(config))
    c.JupyterHub.pid_file = str(run_dir / "jupyterhub.pid")
    c.JupyterHub.template_paths = [str(HUB_DIR / "templates")]
    c.JupyterHub.default_url = landing_for_anonymous
    c.JupyterHub.template_vars = {"dallosh_theme": profile_theme}
    c.JupyterHub.logo_file = ""
    # SameSite=Lax: another site cannot make a signed-in browser send the session cookie with its requests.
    # (Secure is added by JupyterHub itself whenever the page is served over HTTPS or public_url is https.)
    c.JupyterHub.tornado_settings = {"cookie_options": {"samesite": "Lax"},
                                     "headers": {"Content-Security-Policy": HUB_POLICY}}
    c.Spawner.cookie_options = {"samesite": "Lax"}
    c.ConfigurableHTTPProxy.command = node_proxy_command()
    c.ConfigurableHTTPProxy.pid_file = str(storage.proxy_pid_file)
    c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{config.hub_port + PROXY_API_OFFSET}"
    c.JupyterHub.hub_port = config.hub_port + HUB_API_OFFSET

    c.JupyterHub.authenticator_class = "hub.authenticator.DalloshAuthenticator"
    c.Authenticator.allow_all = True  # the dallosh users collection is the allow-list
    c.Authenticator.manage_groups = True
    c.Authenticator.auth_refresh_age = 300
    c.Authenticator.refresh_pre_spawn = True

    c.JupyterHub.spawner_class = DalloshSpawner
    c.Spawner.cmd = singleuser_cmd()
    c.Spawner.http_timeout = 60
    c.Spawner.start_timeout = 90
    c.SimpleLocalProcessSpawner.home_dir_template = str(config.storage_root / "homes" / "{username}")
    c.JupyterHub.redirect_to_server = True
    c.JupyterHub.shutdown_on_logout = False
    c.JupyterHub.cleanup_servers = True

    # The app's own service: kernels stop/remove a user's server when the app deletes or disables the account.
    c.JupyterHub.services = [{"name": SERVICE_NAME, "api_token": service_token(config)}]
    c.JupyterHub.load_roles = [{
        "name": "dallosh-app", "description": "Lets the Dallosh app stop and remove users' servers.",
        "scopes": ["admin:users", "admin:servers", "list:users"], "services": [SERVICE_NAME],
    }]
    # Production on Kubernetes or Docker keeps the same authenticator and pages; only the spawner changes:
    #   c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"   (Zero to JupyterHub; see docs/scaling.md)
    #   c.KubeSpawner.image = "dallosh/singleuser:latest"; c.KubeSpawner.volumes = [<storage PVC>]
    #   c.JupyterHub.spawner_class = "dockerspawner.DockerSpawner"; c.DockerSpawner.image = "dallosh/singleuser"
    #   c.DockerSpawner.volumes = {"dallosh-storage": "/srv/dallosh/storage"}
