"""The allow-list: which service methods the API exposes, and how the caller's actor is passed to them.

Only what views and notebooks call is here (``grep -rhoE "services\\.[a-z]+\\.[a-z_]+" dallosh/ui notebooks``).
Internal lookups without permission checks (``users.find``, ``users.actor``, ``tasks.transition``,
``settings.ai_config``...) are never exposed; the two a view needs about its own account are wrapped so they can
only ever return the caller's own record. Files move through their own endpoints (streaming, chunked uploads).
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache
from typing import Any

from dallosh.config import Config
from dallosh.errors import PermissionDenied
from dallosh.services import Actor, Services
from dallosh.services.users import public

#: (service, method) called as ``services.<service>.<method>(actor, *args, **kwargs)``.
ACTOR_METHODS: frozenset[tuple[str, str]] = frozenset({
    ("users", "list"), ("users", "get"), ("users", "emails"), ("users", "create"), ("users", "update"),
    ("users", "approve"), ("users", "reset_password"), ("users", "delete"),
    ("roles", "list"), ("roles", "get"), ("roles", "create"), ("roles", "update"), ("roles", "delete"),
    ("tasks", "list"), ("tasks", "get"), ("tasks", "counts_by_status"), ("tasks", "rows_analysed"),
    ("tasks", "history"), ("tasks", "labelling"), ("tasks", "request"),
    ("files", "list"), ("files", "get"), ("files", "count_owned"), ("files", "delete"),
    ("settings", "general"), ("settings", "get"), ("settings", "update_general"), ("settings", "add_model"),
    ("settings", "update_model"), ("settings", "delete_model"), ("settings", "set_preferences"),
    ("settings", "check_models"), ("settings", "check_model"),
    # The Delivery tab: settings come back with the password masked; enqueue (any message to any address),
    # attempt and purge stay off the API (the worker and the features that send call the service directly).
    ("delivery", "smtp_settings"), ("delivery", "update"), ("delivery", "send_test_email"),
    ("delivery", "test_webhook"), ("delivery", "list"), ("delivery", "retry"),
    ("logs", "list"),
    ("corrections", "correct"), ("corrections", "correct_many"), ("corrections", "history"),
    ("corrections", "effective"), ("corrections", "revert"),
    ("results", "headline"),
    ("alerts", "list_rules"), ("alerts", "get_rule"), ("alerts", "create_rule"), ("alerts", "update_rule"),
    ("alerts", "delete_rule"), ("alerts", "list_firings"), ("alerts", "get_firing"),
    ("alerts", "delivery_outcomes"), ("alerts", "firing_rules"),
    ("subscriptions", "list"), ("subscriptions", "get"), ("subscriptions", "create"), ("subscriptions", "update"),
    ("subscriptions", "delete"), ("subscriptions", "preview"), ("subscriptions", "send_now"),
    ("auth", "me"), ("auth", "change_password"), ("auth", "update_account"), ("auth", "delete_account"),
})


def _own_record(services: Services, actor: Actor, uid: str = "", *args: Any, **kwargs: Any):
    """``users.find`` as a view uses it: the caller's own record, without its password hash."""
    if uid and uid != actor.uid:
        raise PermissionDenied("Only your own account can be read this way; use users.get with read_users.")
    record = services.users.find(actor.uid)
    return public(record) if record else None


def _uses_default_password(services: Services, actor: Actor, *args: Any, **kwargs: Any) -> bool:
    """Whether the caller's own account still has the documented default password (the profile warning).

    The argument a caller passes is ignored: the hash never leaves the API, so the check runs here.
    """
    record = services.users.find(actor.uid)
    return bool(record) and services.auth.uses_default_password(record)  # type: ignore[arg-type]


def _topics(services: Services, actor: Actor, *args: Any, **kwargs: Any) -> list[str]:
    return services.settings.topics()


@lru_cache(maxsize=4)
def _task_queue(config: Config):
    from dallosh.queue import TaskQueue

    return TaskQueue(config)


def _queue(services: Services, actor: Actor, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The queue figures of the admin overview (Redis is the API's to reach, not the kernel's)."""
    services.settings.authorize(actor, "manage_app")
    queue = _task_queue(services.config)
    alive = queue.alive()
    return {"alive": alive, "length": queue.length() if alive else 0, "workers": queue.workers() if alive else []}


def _health(services: Services, actor: Actor, *args: Any, **kwargs: Any) -> dict[str, Any]:
    """The admin overview's infrastructure probes, run where the credentials are: ``{key: [ok, detail]}``."""
    from dallosh.db.embedded import status as db_status
    from dallosh.events import broker_alive

    services.settings.authorize(actor, "manage_app")
    config = services.config
    db = db_status(config)
    return {"db": [db.kind != "down", db.describe()],
            "redis": [_task_queue(config).alive(), config.redis_url.split("@")[-1]],
            "rabbitmq": [broker_alive(config), f"exchange '{config.events_exchange}'"]}


#: (service, method) → ``fn(services, actor, *args, **kwargs)`` for calls that cannot pass through as they are.
SPECIAL: dict[tuple[str, str], Callable[..., Any]] = {
    ("users", "find"): _own_record,
    ("auth", "uses_default_password"): _uses_default_password,
    ("settings", "topics"): _topics,
    ("system", "queue"): _queue,
    ("system", "health"): _health,
}


def is_exposed(service: str, method: str) -> bool:
    return (service, method) in ACTOR_METHODS or (service, method) in SPECIAL


def call(services: Services, actor: Actor, service: str, method: str, args: list[Any], kwargs: dict[str, Any]
         ) -> Any:
    """Run one allowed call as ``actor`` (the caller never chooses the actor: the API derived it from the token)."""
    special = SPECIAL.get((service, method))
    if special is not None:
        return special(services, actor, *args, **kwargs)
    if (service, method) not in ACTOR_METHODS:
        raise KeyError(f"{service}.{method}")
    return getattr(getattr(services, service), method)(actor, *args, **kwargs)
