"""All configuration in one place: environment variables with documented defaults.

Like JupyterHub's traitlets, every setting is declared once, as a typed field of :class:`Config` with its default
and a one-line help text; its variable is ``DALLOSH_`` + the field name in capitals. Validation (pydantic),
``.env.example`` (``dallosh config env-example``, a test checks the committed file matches) and the settings table
of docs/reference.md (``docs/make_reference.py``) all come from that declaration. The hub, the worker, the CLI
and the notebooks all call ``get_config()``.

Values are read from the process environment, then from ``.env`` in the app's home (environment wins): the source
checkout when the code runs from one, else ``DALLOSH_HOME`` (default ``~/.local/share/dallosh``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlparse

from pydantic import ConfigDict, Field, TypeAdapter, ValidationError, ValidationInfo, field_validator
from pydantic import dataclasses as pydantic_dataclasses

from dallosh.localservices import RABBITMQ_DEFAULT, REDIS_DEFAULT

PREFIX = "DALLOSH_"

#: The folder holding the package: a source checkout when ``pyproject.toml`` sits there (editable installs,
#: ``./run``), else the installed package's site-packages (a wheel install), which holds no user state.
PROJECT_ROOT = Path(__file__).resolve().parent.parent
#: Where an installed app keeps its ``.env`` and relative storage when ``DALLOSH_HOME`` is not set (XDG's data home,
#: next to the services' ``~/.local/state/dallosh``).
INSTALLED_HOME = Path("~/.local/share/dallosh")


def is_source_checkout() -> bool:
    """True when the code runs from the repository (editable install or ``PYTHONPATH``), not from a wheel."""
    return (PROJECT_ROOT / "pyproject.toml").is_file() and (PROJECT_ROOT / "dallosh").is_dir()


def default_home() -> Path:
    """The app's home when ``DALLOSH_HOME`` is unset: the checkout (so ``./run`` keeps ``storage/`` and ``.env``
    at the repository root), else ``~/.local/share/dallosh``."""
    return PROJECT_ROOT if is_source_checkout() else INSTALLED_HOME.expanduser()


def resolve_home(value: Path | str) -> Path:
    """``DALLOSH_HOME`` made absolute; empty means :func:`default_home`."""
    return Path(value).expanduser().absolute() if str(value) not in ("", ".") else default_home()


def _secret(default: str, help_text: str) -> object:
    """A field whose value is never shown (``repr``, ``dallosh config``, docs)."""
    return Field(default, description=help_text, repr=False, json_schema_extra={"secret": True})


Seconds = Annotated[float, Field(gt=0)]
WholeSeconds = Annotated[int, Field(gt=0)]


@pydantic_dataclasses.dataclass(frozen=True, config=ConfigDict(
    alias_generator=lambda name: PREFIX + name.upper(), validate_by_alias=True, validate_by_name=True,
    validate_default=True, extra="ignore"))
class Config:
    """Resolved configuration. Build it with ``load_config()`` (or ``get_config()`` for the cached one)."""

    mongodb_uri: str = Field(
        "mongodb://localhost:27017",
        description="MongoDB connection URI. When nothing answers at the local default, the embedded nx-27017 "
                    "server is started on that port.")
    mongodb_database: str = Field("dallosh_analysis", description="Database name (the original spec's "
                                                                  "dallosh_analysis).")
    embedded_db: Literal["auto", "never"] = Field(
        "auto", description="auto: start the embedded nx-27017 server when no MongoDB answers at a local URI; "
                            "never: fail instead.")
    redis_url: str = Field(REDIS_DEFAULT, description="Redis URL used by the RQ queue.")
    rabbitmq_url: str = _secret(RABBITMQ_DEFAULT, "RabbitMQ URL for the 'tasks' topic exchange (step events and "
                                                  "control messages).")
    queue_name: str = Field("dallosh-tasks", description="RQ queue the workers listen on.")
    notify_queue_name: str = Field(
        "", description="RQ queue of e-mails and webhooks (alerts, scheduled reports); empty: the task queue's name "
                        "followed by -notify. Every `dallosh worker` serves it in a separate process with RQ's "
                        "scheduler, so a message never waits behind a labelling task and timed jobs run at their "
                        "time.")
    notify_retry_s: str = Field(
        "30,120,600,1800", description="Seconds to wait before each new attempt of a failed e-mail or webhook, "
                                       "comma-separated (one number per retry; 4 numbers: up to 5 attempts).")
    events_exchange: str = Field("tasks", description="RabbitMQ topic exchange for task events.")
    home: Path = Field(
        "",
        description="The app's home, read from the environment only (its .env file lives there): empty means "
                    "the source checkout when the code runs from one, else ~/.local/share/dallosh.")
    storage_root: Path = Field(
        "storage",
        description="Shared storage folder (datasets/, cleaned/, analysed/, db/); relative paths are "
                    "resolved against the app's home (DALLOSH_HOME), not the working directory.")
    hub_ip: str = Field("127.0.0.1", description="Address the public proxy listens on.")
    hub_port: Annotated[int, Field(ge=1, le=65535 - 81)] = Field(
        8000, description="Port of the app (JupyterHub's public proxy); the proxy API uses port+1 and the hub "
                          "API port+81.")
    secret_key: str = _secret("", "Secret used to sign hub cookies; generated into storage/run on first start "
                                  "when empty.")
    local_user: str = Field("admin@free.com", description="Email of the acting user for notebooks run outside "
                                                          "the hub (nbval, CLI).")
    heartbeat_s: Seconds = Field(5, description="Seconds between a running task's heartbeats (how a dead worker "
                                                "is noticed).")
    orphan_after_s: Seconds = Field(60, description="A task whose heartbeat is older than this is marked on_error "
                                                    "so the user can retry it.")
    job_timeout_s: WholeSeconds = Field(86400, description="RQ job timeout: one run of a task (pause exits the job, "
                                                           "so this only bounds runaway work).")
    cull_kernel_s: WholeSeconds = Field(900, description="Idle dashboard kernels (closed tabs) are shut down after "
                                                         "this many seconds.")
    cull_server_s: WholeSeconds = Field(3600, description="A user's server with no kernel and no activity stops "
                                                          "after this many seconds.")
    preheat_kernels: int = Field(1, ge=0, le=4, description="Kernels each user's server keeps ready with the "
                                 "Analysis page already executed, so that a page or a shared link opens without "
                                 "waiting for a kernel; each costs one idle kernel's memory per running server. "
                                 "0 turns it off.")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="Python logging level of the app's processes.")
    kernel_client: Literal["on", "auto", "off"] = Field(
        "on", description="on: kernels in users' hub servers call the dallosh API with the user's token instead of "
                          "the database; auto: the same when the API answers; off: kernels use the database "
                          "directly (forced on when servers run as system users).")
    spawner: Literal["local", "docker", "kubernetes"] = Field(
        "local", description="local: users' servers are processes on the hub's machine (their own system accounts "
                             "when the hub is root); docker: each in its own container of DALLOSH_SERVER_IMAGE on "
                             "the DALLOSH_USERS_NETWORK network, which has no route to the database, Redis or "
                             "RabbitMQ (docker-compose.yaml); kubernetes: pods of KubeSpawner, configured by "
                             "docs/scaling.md's values.yaml.")
    server_image: str = Field("dallosh-analysis:local", description="Image of users' server containers "
                                                                    "(spawner=docker).")
    api_listen: str = Field("", description="Address the dallosh API binds to; empty: the host of its service URL "
                                            "(on Kubernetes 0.0.0.0, since its URL names the hub's Service).")
    users_network: str = Field("dallosh-users", description="Docker network of users' server containers "
                                                            "(spawner=docker): the hub only, no backend service.")
    system_users: Literal["auto", "on", "off"] = Field(
        "auto", description="on: each hub user's server runs as its own unprivileged system account (dl-<uid>, "
                            "created by the hub; requires root); auto: on when the hub runs as root on Linux; off: "
                            "servers run as the hub's account.")

    @field_validator("home")
    @classmethod
    def _home(cls, value: Path) -> Path:
        return resolve_home(value)

    @field_validator("storage_root")
    @classmethod
    def _anchor(cls, value: Path, info: ValidationInfo) -> Path:
        """Relative to the home, so the hub, the kernels (cwd: a notebook's folder) and the workers agree."""
        value = value.expanduser()
        return value if value.is_absolute() else info.data.get("home", default_home()) / value

    @field_validator("notify_queue_name")
    @classmethod
    def _notify_queue(cls, value: str, info: ValidationInfo) -> str:
        """Empty: next to the task queue, so that whatever separates task queues separates notify queues too."""
        return value.strip() or f"{info.data.get('queue_name', 'dallosh-tasks')}-notify"

    @field_validator("notify_retry_s")
    @classmethod
    def _delays(cls, value: str) -> str:
        parts = [p.strip() for p in str(value).split(",") if p.strip()]
        if not parts or not all(p.isdigit() and 0 < int(p) <= 86400 for p in parts):
            raise ValueError("must be whole numbers of seconds between 1 and 86400, comma-separated, e.g. 30,120,600")
        return ",".join(parts)

    @property
    def notify_retry_delays(self) -> list[int]:
        """:attr:`notify_retry_s` as numbers: the delay before each retry of a delivery."""
        return [int(p) for p in self.notify_retry_s.split(",")]

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

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


@dataclass(frozen=True)
class Setting:
    """One configuration variable as documented: attribute name, environment variable, default text, help."""

    attr: str
    env: str
    default: str
    help: str
    secret: bool = False


def _settings() -> tuple[Setting, ...]:
    """The settings of :class:`Config`, in declaration order (for the CLI, the docs and ``.env.example``)."""
    out = []
    for name, info in Config.__pydantic_fields__.items():
        default = "" if info.default is None else str(info.default)
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        out.append(Setting(name, PREFIX + name.upper(), default, info.description or "",
                           bool(extra.get("secret"))))
    return tuple(out)


SETTINGS: tuple[Setting, ...] = _settings()
_ADAPTER = TypeAdapter(Config)


def read_env_file(path: Path) -> dict[str, str]:
    """Parse a ``KEY=value`` file (comments and blank lines ignored, optional quotes stripped)."""
    values: dict[str, str] = {}
    try:
        text = path.read_text(encoding="utf-8") if path.is_file() else ""
    except PermissionError:  # a user's server running as its own account may not read the app's .env
        return values
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#") or "=" not in line:
            continue
        key, _, value = line.partition("=")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        values[key.strip()] = value
    return values


def env_file_path(environ: dict[str, str] | None = None) -> Path:
    """The ``.env`` file of the app's home (``DALLOSH_HOME`` comes from the environment only)."""
    home = (os.environ if environ is None else environ).get(PREFIX + "HOME", "")
    return resolve_home(home) / ".env"


def _explain(exc: ValidationError) -> str:
    """One line per bad value, naming the variable, the value given and what is expected."""
    lines = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "?"
        env = name if name.startswith(PREFIX) else PREFIX + name.upper()
        lines.append(f"{env}={error.get('input')!r} is not valid: {error['msg']}")
    return "invalid configuration: " + "; ".join(lines)


def load_config(environ: dict[str, str] | None = None, env_file: Path | None = None) -> Config:
    """Build a Config from ``environ`` (default ``os.environ``) over the ``.env`` file over defaults.

    Raises ValueError naming the variable when a value is invalid. Redis and RabbitMQ URLs that neither sets are
    the local services' with their generated passwords (dallosh.localservices)."""
    environ = dict(os.environ if environ is None else environ)
    env = read_env_file(env_file or env_file_path(environ))
    env.pop(PREFIX + "HOME", None)  # the .env file lives in the home: it cannot move it
    env.update(environ)
    from dallosh.localservices import local_url

    for name, kind, default in ((PREFIX + "REDIS_URL", "redis", REDIS_DEFAULT),
                                (PREFIX + "RABBITMQ_URL", "rabbitmq", RABBITMQ_DEFAULT)):
        if name not in env:
            env[name] = local_url(kind, default)
    try:
        config = _ADAPTER.validate_python({k: v for k, v in env.items() if k.startswith(PREFIX)})
    except ValidationError as exc:
        raise ValueError(_explain(exc)) from None
    return config


@lru_cache(maxsize=1)
def get_config() -> Config:
    """The process-wide configuration (read once)."""
    return load_config()


def env_example() -> str:
    """The text of ``.env.example``, generated from the declaration so the two cannot drift."""
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
