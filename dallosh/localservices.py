"""Credentials for the Redis and RabbitMQ that ``./run`` uses on this machine (DESIGN.md §7).

Out of the box both answer anyone on the machine: Redis without a password, RabbitMQ as ``guest/guest``, so any
local account could read the queue or publish ``control.<id>.proceed_task``. When the services are local and
this account may administer them, ``./run`` calls :func:`secure` before starting the app or the tests:

- Redis gets a generated password (``CONFIG SET requirepass``; a Redis that ``./run`` starts itself gets it
  on the command line);
- RabbitMQ gets a ``dallosh`` account with a generated password, and the ``guest`` account is deleted;
- the passwords live in ``~/.local/state/dallosh/`` (0600; ``DALLOSH_SERVICES_STATE`` moves it), next to the
  services rather than in one checkout, because the services outlive any one checkout;
- ``dallosh.config`` then builds the default ``DALLOSH_REDIS_URL`` / ``DALLOSH_RABBITMQ_URL`` from them.

URLs set by the user (environment or ``.env``) are left alone: then the services are the user's to secure.
``python -m dallosh.localservices --compose-env`` prints the variables Compose needs, freshly generated.
"""

from __future__ import annotations

import argparse
import os
import secrets
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import quote

APP_USER = "dallosh"
REDIS_DEFAULT = "redis://localhost:6379/0"
RABBITMQ_DEFAULT = "amqp://guest:guest@localhost:5672/%2F"


def services_state_path() -> Path:
    """Where the generated passwords live (``DALLOSH_SERVICES_STATE``, else ``~/.local/state/dallosh``).

    Processes started with another HOME (the users' servers) get the variable from the spawner."""
    return Path(os.environ.get("DALLOSH_SERVICES_STATE") or Path.home() / ".local" / "state" / "dallosh").absolute()


def state_dir() -> Path:
    path = services_state_path()
    path.mkdir(parents=True, exist_ok=True)
    path.chmod(0o700)
    return path


def local_url(kind: str, default: str) -> str:
    """The URL of the local ``redis`` or ``rabbitmq`` with its generated password, once :func:`secure` made
    one; else ``default``. The configuration uses it when the user set no URL, so every command (CLI,
    worker, tests, benchmarks) reaches the secured services without carrying the password around."""
    path = services_state_path() / f"{kind}.password"
    if not path.is_file():
        return default
    password = path.read_text().strip()
    return redis_url(password) if kind == "redis" else rabbitmq_url(password)


def secret(name: str) -> str:
    """The generated password ``name`` (created once, 0600)."""
    path = state_dir() / f"{name}.password"
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_urlsafe(24))
    return path.read_text().strip()


def redis_url(password: str, host: str = "127.0.0.1", port: int = 6379, db: int = 0) -> str:
    return f"redis://:{quote(password, safe='')}@{host}:{port}/{db}"


def rabbitmq_url(password: str, host: str = "127.0.0.1", port: int = 5672) -> str:
    return f"amqp://{APP_USER}:{quote(password, safe='')}@{host}:{port}/%2F"


def secure_redis(password: str, host: str = "127.0.0.1", port: int = 6379) -> str:
    """Make the local Redis require ``password``; returns the URL to use. Raises RuntimeError if it needs a
    password that is not ours."""
    from redis import Redis
    from redis.exceptions import AuthenticationError, ResponseError

    anonymous = Redis(host=host, port=port, socket_connect_timeout=3)
    try:
        anonymous.ping()
        anonymous.config_set("requirepass", password)  # open to anyone until now
        return redis_url(password, host, port)
    except (AuthenticationError, ResponseError):
        pass  # it already requires a password: ours?
    finally:
        anonymous.close()
    ours = Redis(host=host, port=port, password=password, socket_connect_timeout=3)
    try:
        ours.ping()
    except (AuthenticationError, ResponseError):
        raise RuntimeError(f"Redis at {host}:{port} requires a password that is not the one in {state_dir()}: "
                           "set DALLOSH_REDIS_URL to its URL.") from None
    finally:
        ours.close()
    return redis_url(password, host, port)


def _rabbitmqctl(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=120)


def _amqp_login(user: str, password: str, host: str, port: int) -> bool:
    import pika
    from pika.exceptions import AMQPError

    try:
        params = pika.ConnectionParameters(host, port, credentials=pika.PlainCredentials(user, password),
                                           connection_attempts=1, socket_timeout=5)
        pika.BlockingConnection(params).close()
        return True
    except (AMQPError, OSError):
        return False


def secure_rabbitmq(password: str, host: str = "127.0.0.1", port: int = 5672) -> str:
    """Give the local RabbitMQ a ``dallosh`` account with ``password`` and remove ``guest``; returns the URL."""
    if _amqp_login(APP_USER, password, host, port) and not _amqp_login("guest", "guest", host, port):
        return rabbitmq_url(password, host, port)  # done before
    if shutil.which("rabbitmqctl") is None:
        raise RuntimeError("rabbitmqctl is missing: cannot create the app's RabbitMQ account.")
    users = _rabbitmqctl("list_users")
    if users.returncode != 0:
        raise RuntimeError(f"rabbitmqctl list_users failed: {users.stderr.strip()[:200]}")
    names = {line.split()[0] for line in users.stdout.splitlines() if line.strip()}
    step = (_rabbitmqctl("change_password", APP_USER, password) if APP_USER in names
            else _rabbitmqctl("add_user", APP_USER, password))
    if step.returncode != 0:
        raise RuntimeError(f"rabbitmqctl could not set the app's account: {step.stderr.strip()[:200]}")
    grants = (("set_user_tags", APP_USER, "administrator"),
              ("set_permissions", "-p", "/", APP_USER, ".*", ".*", ".*"))
    for args in grants:
        done = _rabbitmqctl(*args)
        if done.returncode != 0:
            raise RuntimeError(f"rabbitmqctl {args[0]} failed: {done.stderr.strip()[:200]}")
    if "guest" in names:
        _rabbitmqctl("delete_user", "guest")
    return rabbitmq_url(password, host, port)


def secure(environ: dict[str, str] | None = None) -> dict[str, str]:
    """The service URLs to export: secured local services, unless the user configured their own URLs."""
    from dallosh.config import env_file_path, read_env_file

    env = dict(read_env_file(env_file_path(environ)))
    env.update(os.environ if environ is None else environ)
    out: dict[str, str] = {}
    if env.get("DALLOSH_REDIS_URL", REDIS_DEFAULT) == REDIS_DEFAULT:
        out["DALLOSH_REDIS_URL"] = secure_redis(secret("redis"))
    if env.get("DALLOSH_RABBITMQ_URL", RABBITMQ_DEFAULT) == RABBITMQ_DEFAULT:
        out["DALLOSH_RABBITMQ_URL"] = secure_rabbitmq(secret("rabbitmq"))
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m dallosh.localservices", description=__doc__.split("\n")[0])
    parser.add_argument("--compose-env", action="store_true",
                        help="print new REDIS_PASSWORD / RABBITMQ_PASSWORD lines for Compose's .env")
    args = parser.parse_args(argv)
    if args.compose_env:
        print(f"REDIS_PASSWORD={secrets.token_urlsafe(24)}")
        print(f"RABBITMQ_PASSWORD={secrets.token_urlsafe(24)}")
        return 0
    try:
        urls = secure()
    except RuntimeError as exc:
        print(f"[dallosh] {exc}", file=sys.stderr)
        return 1
    for name in urls:
        print(f"{name}: local service secured (credentials in {state_dir()})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
