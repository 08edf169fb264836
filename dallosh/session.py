"""Who is using this kernel, and the services wired for them.

Inside a hub server whose ``kernel_client`` setting is on, the kernel holds a ``dallosh.client.Client`` (the API,
with the user's own token) instead of ``Services``; both have the same service attributes and methods.

In a JupyterHub single-user server the kernel inherits ``JUPYTERHUB_USER`` (the user's email, which is their
hub name); outside the hub (nbval, the CLI, a local Jupyter) it falls back to ``DALLOSH_LOCAL_USER``.
Permissions are always read from the database, never from the environment.
"""

from __future__ import annotations

import os
from functools import lru_cache

from dallosh.client import Client
from dallosh.config import get_config
from dallosh.errors import PermissionDenied
from dallosh.services import Actor, Services, get_services


def current_user_name() -> str:
    return os.environ.get("JUPYTERHUB_USER") or get_config().local_user


def current_actor(services: Services | Client | None = None) -> Actor:
    """The Actor of this kernel's user, with their role's current permissions."""
    services = services or app_services()
    if isinstance(services, Client):  # the API derives it from the token
        return services.actor()
    user = services.users.find_by_email(current_user_name())
    actor = services.users.actor(user.uid) if user else None
    if actor is None:
        raise PermissionDenied(f"No active account for {current_user_name()!r}. Sign in again, or ask an "
                               "administrator to enable your account.")
    return actor


def kernel_client() -> Client | None:
    """The API client for this kernel when the ``kernel_client`` setting asks for it and the hub provided a token.

    ``on``: always inside a hub server; ``auto``: when the API answers; ``off`` (or outside the hub): never.
    """
    mode = get_config().kernel_client
    if mode == "off":
        return None
    client = Client.from_env()
    if client is None or (mode == "auto" and not client.reachable()):
        return None
    return client


@lru_cache(maxsize=1)
def app_services() -> Services | Client:
    """The kernel's services: the API client (see ``kernel_client``), or Services connected to the queue and
    event bus (started tasks really get queued)."""
    client = kernel_client()
    if client is not None:
        return client
    from dallosh.queue import connect_runtime

    services = get_services()
    connect_runtime(services)
    from hub.sync import account_listener, client_from_env

    client = client_from_env(services.config)
    if client is not None:  # inside JupyterHub: account changes also stop/remove hub servers
        services.account_listeners.append(account_listener(client))
    return services
