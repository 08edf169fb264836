"""All configuration in one place: environment variables with documented defaults.

Like JupyterHub's traitlets, every setting is declared once in ``SETTINGS`` with its default and a one-line
help text; ``.env.example`` is generated from that list (``dallosh config env-example``) and a test checks the
committed file matches. The hub, the worker, the CLI and the notebooks all call ``get_config()``.

Values are read from the process environment, then from a ``.env`` file at the project root (environment wins).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlparse

#: The project root: the folder holding ``pyproject.toml``. Storage defaults live under it so that the hub,
#: kernels (whose cwd is ``notebooks/``) and the worker share one ``storage/`` whatever their working directory.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Setting:
    """One configuration variable: attribute name, environment variable, default, and why it exists."""

    attr: str
    env: str
    default: str
    help: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("mongodb_uri", "DALLOSH_MONGODB_URI", "mongodb://localhost:27017",
            "MongoDB connection URI. When nothing answers at the local default, the embedded nx-27017 server "
            "is started on that port."),
    Setting("mongodb_database", "DALLOSH_MONGODB_DATABASE", "dallosh_analysis",
            "Database name (the original spec's dallosh_analysis)."),
    Setting("embedded_db", "DALLOSH_EMBEDDED_DB", "auto",
            "auto: start the embedded nx-27017 server when no MongoDB answers at a local URI; never: fail instead."),
    Setting("redis_url", "DALLOSH_REDIS_URL", "redis://localhost:6379/0", "Redis URL used by the RQ queue."),
    Setting("rabbitmq_url", "DALLOSH_RABBITMQ_URL", "amqp://guest:guest@localhost:5672/%2F",
            "RabbitMQ URL for the 'tasks' topic exchange (step events and control messages).", secret=True),
    Setting("queue_name", "DALLOSH_QUEUE_NAME", "dallosh-tasks", "RQ queue the workers listen on."),
    Setting("events_exchange", "DALLOSH_EVENTS_EXCHANGE", "tasks", "RabbitMQ topic exchange for task events."),
    Setting("storage_root", "DALLOSH_STORAGE_ROOT", "storage",
            "Shared storage folder (datasets/, cleaned/, analysed/, db/); relative paths are resolved against "
            "the project root, not the working directory."),
    Setting("hub_ip", "DALLOSH_HUB_IP", "127.0.0.1", "Address the public proxy listens on."),
    Setting("hub_port", "DALLOSH_HUB_PORT", "8000",
            "Port of the app (JupyterHub's public proxy); the proxy API uses port+1 and the hub API port+81."),
    Setting("secret_key", "DALLOSH_SECRET_KEY", "",
            "Secret used to sign hub cookies; generated into storage/run on first start when empty.", secret=True),
    Setting("local_user", "DALLOSH_LOCAL_USER", "admin@free.com",
            "Email of the acting user for notebooks run outside the hub (nbval, CLI)."),
    Setting("heartbeat_s", "DALLOSH_HEARTBEAT_S", "5",
            "Seconds between a running task's heartbeats (how a dead worker is noticed)."),
    Setting("orphan_after_s", "DALLOSH_ORPHAN_AFTER_S", "60",
            "A task whose heartbeat is older than this is marked on_error so the user can retry it."),
    Setting("job_timeout_s", "DALLOSH_JOB_TIMEOUT_S", "86400",
            "RQ job timeout: one run of a task (pause exits the job, so this only bounds runaway work)."),
    Setting("cull_kernel_s", "DALLOSH_CULL_KERNEL_S", "900",
            "Idle dashboard kernels (closed tabs) are shut down after this many seconds."),
    Setting("cull_server_s", "DALLOSH_CULL_SERVER_S", "3600",
            "A user's server with no kernel and no activity stops after this many seconds."),
    Setting("log_level", "DALLOSH_LOG_LEVEL", "INFO", "Python logging level of the app's processes."),
    Setting("kernel_client", "DALLOSH_KERNEL_CLIENT", "off",
            "on: kernels in users' hub servers call the dallosh API with the user's token instead of the database; "
            "auto: the same when the API answers; off: kernels use the database directly."),
)


@dataclass(frozen=True)
class Config:
    """Resolved configuration. Build it with ``load_config()`` (or ``get_config()`` for the cached one)."""

    mongodb_uri: str
    mongodb_database: str
    embedded_db: str
    redis_url: str
    rabbitmq_url: str = field(repr=False)
    queue_name: str
    events_exchange: str
    storage_root: Path
    hub_ip: str
    hub_port: int
    secret_key: str = field(repr=False)
    local_user: str
    heartbeat_s: float
    orphan_after_s: float
    job_timeout_s: int
    cull_kernel_s: int
    cull_server_s: int
    log_level: str
    kernel_client: str

    @property
    def mongodb_is_local(self) -> bool:
        """True when the URI points at this machine, so starting the embedded server there makes sense."""
        host = urlparse(self.mongodb_uri).hostname or ""
        return host in {"localhost", "127.0.0.1", "::1"}

    @property
    def mongodb_port(self) -> int:
        return urlparse(self.mongodb_uri).port or 27017

    @property
    def hub_url(self) -> str:
        host = "localhost" if self.hub_ip in {"127.0.0.1", "0.0.0.0", ""} else self.hub_ip
        return f"http://{host}:{self.hub_port}/"


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``KEY=value`` file (comments and blank lines ignored, optional quotes stripped)."""
    values: dict[str, str] = {}
    if not path.is_file():
        return values
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def load_config(environ: dict[str, str] | None = None, env_file: Path | None = None) -> Config:
    """Build a Config from ``environ`` (default ``os.environ``) over the ``.env`` file over defaults."""
    env = dict(read_env_file(env_file or PROJECT_ROOT / ".env"))
    env.update(os.environ if environ is None else environ)
    raw = {s.attr: env.get(s.env, s.default) for s in SETTINGS}
    from dallosh.localservices import local_url  # unset URLs: the local services with their generated passwords

    for attr, name, kind in (("redis_url", "DALLOSH_REDIS_URL", "redis"),
                             ("rabbitmq_url", "DALLOSH_RABBITMQ_URL", "rabbitmq")):
        if name not in env:
            raw[attr] = local_url(kind, raw[attr])
    storage = Path(raw["storage_root"]).expanduser()
    if not storage.is_absolute():
        storage = PROJECT_ROOT / storage
    try:
        hub_port = int(raw["hub_port"])
    except ValueError:
        raise ValueError(f"DALLOSH_HUB_PORT must be a port number, got {raw['hub_port']!r}") from None
    try:
        numbers = {"heartbeat_s": float(raw["heartbeat_s"]), "orphan_after_s": float(raw["orphan_after_s"]),
                   "job_timeout_s": int(raw["job_timeout_s"]), "cull_kernel_s": int(raw["cull_kernel_s"]),
                   "cull_server_s": int(raw["cull_server_s"])}
    except ValueError as exc:
        raise ValueError(f"a DALLOSH_*_S setting is not a number: {exc}") from None
    if raw["kernel_client"] not in {"on", "auto", "off"}:
        raise ValueError(f"DALLOSH_KERNEL_CLIENT must be 'on', 'auto' or 'off', got {raw['kernel_client']!r}")
    if raw["embedded_db"] not in {"auto", "never"}:
        raise ValueError(f"DALLOSH_EMBEDDED_DB must be 'auto' or 'never', got {raw['embedded_db']!r}")
    return Config(**{**raw, **numbers, "storage_root": storage, "hub_port": hub_port})


@lru_cache(maxsize=1)
def get_config() -> Config:
    """The process-wide configuration (read once)."""
    return load_config()


def env_example() -> str:
    """The text of ``.env.example``, generated from SETTINGS so the two cannot drift."""
    lines = [
        "# Dallosh Analysis configuration. Copy to .env and edit; environment variables override this file.",
        "# Generated by `dallosh config env-example` from dallosh/config.py (a test keeps them in sync).",
        "",
    ]
    for s in SETTINGS:
        lines.append(f"# {s.help}")
        lines.append(f"{s.env}={s.default}")
        lines.append("")
    return "\n".join(lines)
