"""Secrets the hub needs, generated once into ``storage/run`` (never committed, never logged)."""

from __future__ import annotations

import secrets
from pathlib import Path

from dallosh.config import Config


def _secret_file(path: Path, nbytes: int) -> str:
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(nbytes))
        path.chmod(0o600)
    return path.read_text().strip()


def service_token(config: Config) -> str:
    """API token of the ``dallosh`` hub service (kernels use it to stop/remove users' servers)."""
    return _secret_file(config.storage_root / "run" / "hub-service-token", 32)


def cookie_secret_file(config: Config) -> Path:
    path = config.storage_root / "run" / "jupyterhub_cookie_secret"
    if config.secret_key:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config.secret_key)
        path.chmod(0o600)
    else:
        _secret_file(path, 32)
    return path
