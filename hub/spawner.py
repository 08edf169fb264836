"""Per-user single-user servers: Voilà dashboards for everyone, JupyterLab for the ``use_notebooks`` permission.

When ``DALLOSH_SYSTEM_USERS`` is on (the default when the hub runs as root on Linux) each server runs as its
user's own unprivileged system account (hub/sysusers.py, as JupyterHub's LocalProcessSpawner with system users)
and its kernels are API clients: no database, Redis or RabbitMQ address, no hub secret in their environment, and
nothing under the storage they may read but their home and work folder. Otherwise (``off``, or a non-root hub)
servers run as the hub's account. The production equivalents (DockerSpawner, KubeSpawner) take the same
``get_env``/``default_url`` logic — see ``jupyterhub_config.py``.
"""

from __future__ import annotations

import asyncio
import logging
import os
import pwd
import sys
import time
from collections.abc import Callable
from functools import lru_cache
from pathlib import Path

from jupyterhub.spawner import SimpleLocalProcessSpawner

import dallosh
from dallosh.config import SETTINGS, get_config
from dallosh.localservices import services_state_path
from dallosh.services import get_services
from dallosh.storage import TRAVERSE_ONLY, Storage
from hub import sysusers

#: The Voilà pages as shipped in the package (read-only in an installed app).
NOTEBOOKS_DIR = Path(__file__).with_name("notebooks")
#: The users' private folders, relative to the servers' root (``Storage.notebooks_dir``).
WORK_DIR = "work"
SINGLEUSER_CONFIG = Path(__file__).with_name("singleuser_config.py")
#: Inside a server container or pod (hub/containers.py, docs/scaling.md): the storage root. Its notebooks folder
#: holds links to the shipped pages (made at the server's start, hub/singleuser.py) and ``work/``, the user's own
#: volume (created by the image, owned by its account, so a new volume is too); the hub's storage is not mounted.
SERVER_STORAGE = "/srv/dallosh/server"
SERVER_NOTEBOOKS = f"{SERVER_STORAGE}/notebooks"
#: The Voilà pages users land on after login, by role kind.
ADMIN_HOME = "/voila/render/admin/overview.ipynb"
ANALYST_HOME = "/voila/render/home/overview.ipynb"
#: Settings kept from users' servers whose kernels are API clients: service addresses with their credentials.
CLIENT_WITHHOLDS = frozenset({"mongodb_uri", "redis_url", "rabbitmq_url", "secret_key"})


def work_dir_for(name: str) -> str:
    """A power user's own folder (relative to the servers' root), the only place their server may write."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in name)
    return f"{WORK_DIR}/{safe}"


def runtime_paths() -> list[Path]:
    """What a server's account must read: the interpreter, its environment and standard library, the code."""
    return [Path(sys.executable), Path(sys.prefix), Path(sys.base_prefix) / "lib", NOTEBOOKS_DIR,
            Path(dallosh.__file__).parent]


@lru_cache(maxsize=1)
def servers_unprivileged() -> bool:
    """True when users' servers run as their own system accounts (``DALLOSH_SYSTEM_USERS``).

    ``auto`` needs root on Linux and an interpreter and code that other accounts may read; when they may not (a
    virtualenv under a private home), servers run as the hub's account and the hub says why in its log."""
    mode = get_config().system_users
    if not sysusers.resolve_mode(mode):
        return False
    if mode == "auto":
        try:
            sysusers.check_reachable(runtime_paths())
        except sysusers.AccountError as exc:
            logging.getLogger("dallosh.hub").warning("users' servers run as the hub's account: %s", exc)
            return False
    return True


def kernels_are_clients() -> bool:
    """Kernels call the API (no credentials in their environment): ``kernel_client=on``, or forced by
    unprivileged servers, which could not read the credentials anyway."""
    return get_config().kernel_client == "on" or servers_unprivileged()


def home_url(actor) -> str:
    """The page a user lands on after login, by role kind."""
    return ADMIN_HOME if "manage_app" in actor.permissions else ANALYST_HOME


def role_environment(actor, user_name: str) -> dict[str, str]:
    """What a server's configuration (hub/singleuser_config.py) reads of its user's role."""
    permissions = set(actor.permissions)
    notebooks = "use_notebooks" in permissions
    return {"DALLOSH_NOTEBOOKS": "1" if notebooks else "0",
            "DALLOSH_IS_ADMIN": "1" if "manage_app" in permissions else "0",
            "DALLOSH_WORK_DIR": work_dir_for(user_name) if notebooks else ""}


def settings_environment(*, clients: bool, environ: dict[str, str] | None = None) -> dict[str, str]:
    """The app's settings a server inherits from the hub's environment: all of them, except, when its kernels
    are API clients, the service addresses and secrets (``CLIENT_WITHHOLDS``) — then ``DALLOSH_KERNEL_CLIENT=on``
    whatever the hub's own value. One rule for every spawner (local, Docker, the Kubernetes hook)."""
    environ = os.environ if environ is None else environ
    env = {s.env: environ[s.env] for s in SETTINGS
           if s.env in environ and not (clients and s.attr in CLIENT_WITHHOLDS)}
    if clients:
        env["DALLOSH_KERNEL_CLIENT"] = "on"
    return env


def actor_of(user_name: str):
    """The dallosh actor of a hub user, or an error that keeps the server from starting."""
    services = get_services()
    user = services.users.find_by_email(user_name)
    actor = services.users.actor(user.uid) if user else None
    if actor is None:
        raise RuntimeError(f"{user_name} has no active account; the server is not started.")
    return actor


def open_tree_for_servers(storage: Storage) -> None:
    """What servers running as other accounts must reach, and no more: the storage root and ``homes/`` are
    traverse-only (nothing listed; ``datasets/``, ``db/``, ``run/``... stay 0700), the notebooks folder and
    ``work/`` are readable (links to the shipped pages; each work folder is its account's, 0700)."""
    sysusers.open_for_traversal(storage.root, TRAVERSE_ONLY)
    sysusers.open_for_traversal(storage.root / "homes")
    sysusers.open_for_traversal(storage.notebooks_dir, 0o755)
    sysusers.open_for_traversal(storage.notebooks_dir / WORK_DIR, 0o755)


def notebook_root(storage: Storage | None = None) -> Path:
    """The folder users' servers serve: a link to each shipped page or folder, beside ``work/``.

    The pages stay where the package installed them (root-owned in the image, never copied), while the users'
    files live in the storage, so neither needs a source checkout nor a writable package folder."""
    root = (storage or Storage.from_config()).notebooks_dir
    (root / WORK_DIR).mkdir(parents=True, exist_ok=True)
    for shipped in NOTEBOOKS_DIR.iterdir():
        if shipped.name == WORK_DIR or shipped.name.startswith((".", "__")):
            continue
        link = root / shipped.name
        if link.is_symlink() and link.readlink() == shipped:
            continue
        if link.is_symlink():
            link.unlink()  # another install or checkout: follow the running code
        link.symlink_to(shipped, target_is_directory=shipped.is_dir())
    return root


async def wait_listening(ip: str, port: int, *, alive: Callable[[], bool], timeout: float,
                         every: float = 0.05) -> bool:
    """Poll ``ip:port`` every ``every`` s until it accepts a connection (True), ``alive()`` turns False or the
    timeout passes (False: the hub's own check then reports the failure as usual)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and alive():
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(ip or "127.0.0.1", port), 1)
        except (TimeoutError, OSError):
            await asyncio.sleep(every)
            continue
        writer.close()
        return True
    return False


class DalloshSpawner(SimpleLocalProcessSpawner):
    #: The server's system account when servers run unprivileged (set by ``start``).
    _account: pwd.struct_passwd | None = None
    #: Its name as saved in the hub's state (a restarted hub deletes the right account).
    _account_name: str = ""

    def _prepare_account(self, user_uid: str, storage: Storage) -> None:
        """Create (or check) the user's system account and home, and open only what its server must reach."""
        sysusers.check_reachable(runtime_paths())
        open_tree_for_servers(storage)
        home = storage.root / "homes" / sysusers.account_name(user_uid)
        self._account = sysusers.ensure_account(user_uid, home)
        self.home_dir = str(home)

    async def start(self):
        actor = actor_of(self.user.name)
        notebooks = "use_notebooks" in actor.permissions
        storage = Storage.from_config()
        root = notebook_root(storage)
        self._account = None
        if servers_unprivileged():
            self._prepare_account(actor.uid, storage)
        self.notebook_dir = str(root)
        self.default_url = home_url(actor)
        self._dallosh_env = role_environment(actor, self.user.name)
        if notebooks:
            work = root / work_dir_for(self.user.name)
            work.mkdir(parents=True, exist_ok=True)
            if self._account is not None:
                sysusers.own_folder(work, self._account)
        address = await super().start()
        # The hub polls a new server with exponential backoff (0.2 s, 0.4, 0.8, 1.6 s…): a server ready just
        # after a poll waited up to 2 s more for the next one. Returning once it listens makes the first poll hit.
        await wait_listening(*address, alive=lambda: self.proc is not None and self.proc.poll() is None,
                             timeout=self.http_timeout)
        return address

    def get_env(self):
        env = super().get_env()
        # The library's configuration (database, brokers, storage) reaches the kernels through the environment —
        # except, when kernels are API clients (DALLOSH_KERNEL_CLIENT=on), the addresses and secrets they no longer
        # need: they reach the data through the dallosh API with the user's own token.
        as_clients = kernels_are_clients()
        env.update(settings_environment(clients=as_clients))
        # Resolved here: the servers' HOME differs from the hub's, so their own default would differ.
        config = get_config()
        env["DALLOSH_HOME"], env["DALLOSH_STORAGE_ROOT"] = str(config.home), str(config.storage_root)
        for key in ("JUPYTER_PATH", "PATH", "NO_PROXY", "no_proxy", "PYTHONPATH", "NODE_PATH"):
            if key in os.environ:
                env[key] = os.environ[key]
        # The servers' HOME is the user's folder: point them at the hub's generated service credentials.
        if not as_clients:
            env["DALLOSH_SERVICES_STATE"] = str(services_state_path())
        env.update(getattr(self, "_dallosh_env", {}))
        return env

    def get_state(self):
        state = super().get_state()
        if self._account is not None:
            state["account"] = self._account.pw_name
        return state

    def load_state(self, state):
        super().load_state(state)
        self._account_name = state.get("account", "")

    async def delete_forever(self):
        """The hub user is deleted (the app deleted the account): its system account and home go too."""
        name = self._account.pw_name if self._account is not None else self._account_name
        if name:
            sysusers.remove_account(name)

    def user_env(self, env):
        if self._account is None:
            return super().user_env(env)
        env["USER"] = env["LOGNAME"] = self._account.pw_name
        env["HOME"] = self._account.pw_dir
        env["SHELL"] = "/bin/bash"  # JupyterLab terminals of admins (the account itself has no login shell)
        return env

    def make_preexec_fn(self, name):
        if self._account is None:
            return super().make_preexec_fn(name)
        return sysusers.preexec_as(self._account)

    def get_args(self):
        args = super().get_args()
        args.append(f"--config={SINGLEUSER_CONFIG}")
        if os.geteuid() == 0 and self._account is None:
            args.append("--allow-root")
        return args


def singleuser_cmd() -> list[str]:
    """``jupyterhub-singleuser`` through hub/singleuser.py, with the interpreter of the hub's environment."""
    return [sys.executable, "-m", "hub.singleuser"]
