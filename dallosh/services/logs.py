"""Activity logs: every mutating service call leaves an entry; admins read them with filters."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from dallosh.schemas import LogData, Record, dump
from dallosh.services.base import Actor, Page, Service

COLLECTION = "logs"
#: Keys whose values never reach the logs, whatever a caller passes in ``details``.
_SECRET_KEYS = re.compile(r"pass|secret|token|api.?key|authorization", re.IGNORECASE)


def scrub(details: dict[str, Any]) -> dict[str, Any]:
    """Drop secret-looking keys recursively (defence in depth: callers should not pass them at all)."""
    clean: dict[str, Any] = {}
    for key, value in details.items():
        if _SECRET_KEYS.search(str(key)):
            clean[key] = "***"
        elif isinstance(value, dict):
            clean[key] = scrub(value)
        else:
            clean[key] = value
    return clean


class LogsService(Service):
    def record(self, actor: Actor | None, action: str, target: str = "", result: str = "ok", *,
               method: str = "post", details: dict[str, Any] | None = None) -> None:
        """Write one entry. ``createdBy`` is the user's uid, or ``system`` for automatic work and anonymous calls."""
        by = actor.uid if actor is not None else "system"
        data = LogData(action=action, target=target, result=result[:500],
                       requested_by=None if actor is None or actor.is_system else actor.uid,
                       method=method, details=scrub(details or {}))
        self.db.insert(COLLECTION, dump(data), by=by)

    def list(self, actor: Actor, *, user: str | None = None, action: str | None = None,
             result: str | None = None, since: datetime | None = None, until: datetime | None = None,
             skip: int = 0, limit: int = 50) -> Page[Record[LogData]]:
        """Newest first. ``action`` matches a prefix (``users`` finds ``users.create``...)."""
        self.authorize(actor, "manage_app")
        query: dict[str, Any] = {}
        if user:
            query["data.requested_by"] = user
        if action:
            query["data.action"] = {"$regex": "^" + re.escape(action)}
        if result:
            query["data.result"] = {"$regex": "^" + re.escape(result)}
        created: dict[str, Any] = {}
        if since:
            created["$gte"] = since
        if until:
            created["$lt"] = until
        if created:
            query["createdAt"] = created
        total = self.db.count(COLLECTION, query)
        docs = self.db.find(COLLECTION, query, sort=[("createdAt", -1)], skip=max(0, skip), limit=max(1, limit))
        return Page([Record.from_doc(LogData, d) for d in docs], total, skip, limit)
