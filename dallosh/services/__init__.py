"""Business rules, once. Every method takes the acting user and checks permissions itself.

``Services`` bundles one instance of each service around a database, the storage layout and the config; the
hub, the worker, the CLI and the notebooks all build it with ``Services.from_config()`` (or ``get_services()``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime
from functools import lru_cache

from dallosh.config import Config, get_config
from dallosh.db import BaseAdapter, connect, utcnow
from dallosh.services.alerts import AlertsService
from dallosh.services.auth import AuthService
from dallosh.services.base import SYSTEM, Actor, Page
from dallosh.services.corrections import CorrectionsService
from dallosh.services.delivery import DeliveryService
from dallosh.services.files import FilesService
from dallosh.services.logs import LogsService
from dallosh.services.results import ResultsService
from dallosh.services.roles import RolesService
from dallosh.services.settings import SettingsService
from dallosh.services.subscriptions import SubscriptionsService
from dallosh.services.tasks import TasksService
from dallosh.services.users import UsersService
from dallosh.storage import Storage


class Services:
    """The application's service layer around one database and one storage root."""

    def __init__(self, db: BaseAdapter, storage: Storage, config: Config | None = None,
                 clock: Callable[[], float] = time.time):
        self.db = db
        self.storage = storage
        self.config = config or get_config()
        #: Wall clock in seconds; tests pass a fake one to step through throttling windows.
        self.clock = clock
        #: Called with (uid, email) when a user is deleted, disabled or changes role (the hub stops their server).
        self.account_listeners: list[Callable[[str, str], None]] = []
        self.logs = LogsService(self)
        self.settings = SettingsService(self)
        self.roles = RolesService(self)
        self.users = UsersService(self)
        self.auth = AuthService(self)
        self.files = FilesService(self)
        self.tasks = TasksService(self)
        self.corrections = CorrectionsService(self)
        self.results = ResultsService(self)
        self.delivery = DeliveryService(self)
        self.alerts = AlertsService(self)
        self.subscriptions = SubscriptionsService(self)

    @classmethod
    def from_config(cls, config: Config | None = None) -> Services:
        config = config or get_config()
        return cls(connect(config), Storage.from_config(config), config)

    def now(self) -> datetime:
        return utcnow()

    def event_subscriber(self, callback: Callable[[dict], None], binding_keys: list[str] | None = None):
        """A subscriber to task events on the broker (``dallosh.client.Client`` has the same method over HTTP)."""
        from dallosh.events import Subscriber

        return Subscriber(callback, binding_keys, config=self.config)

    def notify_account_changed(self, user_uid: str, email: str) -> None:
        for listener in self.account_listeners:
            listener(user_uid, email)


@lru_cache(maxsize=1)
def get_services() -> Services:
    """The process-wide Services (kernels and the hub share one connection pool per process)."""
    return Services.from_config()


__all__ = ["SYSTEM", "Actor", "Page", "Services", "get_services"]
