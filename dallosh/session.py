"""Who is using this kernel, and the services wired for them.

In a JupyterHub single-user server the kernel inherits ``JUPYTERHUB_USER`` (the user's email, which is their
hub name); outside the hub (nbval, the CLI, a local Jupyter) it falls back to ``DALLOSH_LOCAL_USER``.
Permissions are always read from the database, never from the environment.
"""

from __future__ import annotations

import os
from functools import lru_cache

from dallosh.config import get_config
from dallosh.errors import PermissionDenied
from dallosh.services import Actor, Services, get_services


def current_user_name() -> str:
    return os.environ.get("JUPYTERHUB_USER") or get_config().local_user


def current_actor(services: Services | None = None) -> Actor:
    """The Actor of this kernel's user, with their role's current permissions."""
    services = services or app_services()
    user = services.users.find_by_email(current_user_name())
    actor = services.users.actor(user.uid) if user else None
    if actor is None:
        raise PermissionDenied(f"No active account for {current_user_name()!r}. Sign in again, or ask an "
                               "administrator to enable your account.")
    return actor


@lru_cache(maxsize=1)
def app_services() -> Services:
    """The kernel's Services, connected to the queue and event bus (started tasks really get queued)."""
    from dallosh.queue import connect_runtime

    services = get_services()
    connect_runtime(services)
    from hub.sync import account_listener, client_from_env

    client = client_from_env(services.config)
    if client is not None:  # inside JupyterHub: account changes also stop/remove hub servers
        services.account_listeners.append(account_listener(client))
    return services
