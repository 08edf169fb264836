"""Everything JupyterHub is told, in one function (``jupyterhub_config.py`` only calls it)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

from dallosh.config import PROJECT_ROOT, SETTINGS, Config, get_config
from dallosh.db.embedded import ensure_database
from dallosh.localservices import services_state_path
from dallosh.storage import Storage
from hub.csp import HUB_POLICY
from hub.firewall import guard_services
from hub.secrets import cookie_secret_file, service_token
from hub.spawner import DalloshSpawner, servers_unprivileged, singleuser_cmd

HUB_DIR = Path(__file__).resolve().parent
#: The file ``jupyterhub -f`` reads (``python -m hub`` passes it); shipped inside the package.
CONFIG_FILE = HUB_DIR / "jupyterhub_config.py"
#: Where Voilà finds the ``dallosh`` page template (``<dir>/voila/templates/dallosh``).
JUPYTER_DIR = HUB_DIR / "jupyter"
#: Name of the hub service whose token lets the app stop and remove users' servers.
SERVICE_NAME = "dallosh"
#: The dallosh API: a hub-managed service under the proxy (``/services/dallosh-api/``), see dallosh/api.
API_SERVICE_NAME = "dallosh-api"
#: Internal ports follow the public one (8000 → proxy API 8001, hub API 8081: JupyterHub's own defaults;
#: the dallosh API 8082).
PROXY_API_OFFSET, HUB_API_OFFSET, API_OFFSET = 1, 81, 82


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
        offsets = (PROXY_API_OFFSET, HUB_API_OFFSET, API_OFFSET)
        if port + max(offsets) < 65536 and all(_bindable(port + o) for o in offsets):
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


def app_name(user) -> str:
    """The app name from the settings (admins can rename the app): hub pages, sign-in included, show it."""
    from dallosh.services import get_services

    return get_services().settings.general().appName


def node_proxy_command() -> list[str]:
    """The checkout's npm-installed proxy (``./run``), else the one on PATH (the image, an installed wheel)."""
    local = PROJECT_ROOT / "node_modules" / ".bin" / "configurable-http-proxy"
    return [str(local)] if local.exists() else ["configurable-http-proxy"]


def api_service(config: Config) -> dict:
    """The dallosh API as a hub-managed service: started (and restarted) by the hub with the app's settings.

    Managed services get only the environment given here (plus PATH, PYTHONPATH...), so the DALLOSH_* settings
    that reach the hub are passed on; the API is, with the worker, the process that holds the credentials.
    """
    env = {s.env: os.environ[s.env] for s in SETTINGS if s.env in os.environ}
    env["DALLOSH_SERVICES_STATE"] = str(services_state_path())
    for key in ("NO_PROXY", "no_proxy", "HOME", "PYTHONPATH"):
        if key in os.environ:
            env[key] = os.environ[key]
    return {"name": API_SERVICE_NAME, "url": api_url(config), "command": [sys.executable, "-m", "dallosh.api"],
            "cwd": str(PROJECT_ROOT), "environment": env, "oauth_no_confirm": True, "display": False}


def api_url(config: Config) -> str:
    """Where the API listens (loopback: kernels and the proxy reach it there)."""
    return f"http://127.0.0.1:{config.hub_port + API_OFFSET}"


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
    if config.spawner == "local" and servers_unprivileged():
        guard_services(config)  # their accounts may not connect to the database, Redis or RabbitMQ
    os.environ["JUPYTER_PATH"] = with_dallosh_templates(os.environ.get("JUPYTER_PATH", ""))

    c.JupyterHub.ip = config.hub_ip
    c.JupyterHub.port = config.hub_port
    c.JupyterHub.hub_ip = "127.0.0.1"
    c.JupyterHub.db_url = f"sqlite:///{run_dir / 'jupyterhub.sqlite'}"
    c.JupyterHub.cookie_secret_file = str(cookie_secret_file(config))
    c.JupyterHub.pid_file = str(run_dir / "jupyterhub.pid")
    c.JupyterHub.template_paths = [str(HUB_DIR / "templates")]
    c.JupyterHub.default_url = landing_for_anonymous
    c.JupyterHub.template_vars = {"dallosh_theme": profile_theme, "app_name": app_name}
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
    if config.spawner == "docker":
        from hub.containers import configure_docker  # dockerspawner: the app image has it

        configure_docker(c)
    c.Spawner.http_timeout = 60
    c.Spawner.start_timeout = 90
    c.SimpleLocalProcessSpawner.home_dir_template = str(config.storage_root / "homes" / "{username}")
    c.JupyterHub.redirect_to_server = True
    c.JupyterHub.shutdown_on_logout = False
    c.JupyterHub.cleanup_servers = True

    # The app's own service: kernels stop/remove a user's server when the app deletes or disables the account.
    c.JupyterHub.services = [{"name": SERVICE_NAME, "api_token": service_token(config)}, api_service(config)]
    api_access = f"access:services!service={API_SERVICE_NAME}"
    c.JupyterHub.load_roles = [{
        "name": "dallosh-app", "description": "Lets the Dallosh app stop and remove users' servers.",
        "scopes": ["admin:users", "admin:servers", "list:users"], "services": [SERVICE_NAME],
    }, {
        # Every user may call the API (what they may do there is their dallosh role's business).
        "name": "user", "description": "Standard user privileges, and access to the dallosh API.",
        "scopes": ["self", api_access],
    }]
    # A server's own token ($JUPYTERHUB_API_TOKEN, which its kernels inherit) may call the API as its user.
    c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server", api_access]
    c.Spawner.environment = {"DALLOSH_API_URL": f"{api_url(config)}/services/{API_SERVICE_NAME}/"}
    # Kubernetes keeps the same authenticator and pages; KubeSpawner with the same rules in a pre-spawn hook
    # (docs/scaling.md's values.yaml).
