"""Activity logs: every mutating service call leaves an entry; admins read them with filters."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from dallosh.schemas import LogData, Record, dump
from dallosh.services.base import SYSTEM, Actor, Page, Service

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
        """Newest first. ``user`` is a uid or an email; ``action`` matches a prefix (``users`` finds
        ``users.create``...). ``extra["names"]`` maps the page's user uids and ``users/…``, ``roles/…``,
        ``files/…`` and ``tasks/…`` targets to emails, role names and dataset file names, and ``extra["people"]``
        the user uids to the names people gave in their profile (when they gave one), so a reader sees who and what
        rather than ids (deleted ones are absent).
        """
        self.authorize(actor, "manage_app")
        query: dict[str, Any] = {}
        if user:
            query["data.requested_by"] = self._user_uid(user)
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
        items = [Record.from_doc(LogData, d) for d in docs]
        names = self._names(items)
        return Page(items, total, skip, limit, extra={"names": names, "people": self._people(items)})

    def _user_uid(self, user: str) -> str:
        """An email filter becomes the user's uid (an unknown email matches nothing)."""
        if "@" not in user:
            return user
        found = self.ctx.users.find_by_email(user)
        return found.uid if found else user

    def _names(self, items: list[Record[LogData]]) -> dict[str, str]:
        names: dict[str, str] = {}
        models: dict[str, str] | None = None
        for item in items:
            keys = [item.data.requested_by] if item.data.requested_by else []
            keys.append(item.data.target)
            for key in keys:
                if key in names:
                    continue
                kind, _, uid = key.rpartition("/") if "/" in key else ("users", "", key)
                tweet = ""
                if kind.startswith("files/"):  # a tweet of a dataset (a correction): files/<file>/<tweet>
                    kind, uid, tweet = "files", kind.partition("/")[2], uid
                if kind == "users":
                    user = self.ctx.users.find(uid)
                    if user:
                        names[key] = user.data.email
                elif kind == "roles":
                    role = self.ctx.roles.find(uid)
                    if role:
                        names[key] = role.data.name
                elif kind == "files":
                    file = self.db.get("files", uid)
                    if file:
                        filename = file["data"].get("filename") or uid
                        names[key] = f"{filename} (tweet {tweet})" if tweet else filename
                elif kind == "tasks":
                    task = self.ctx.tasks.find(uid)
                    if task:
                        names[key] = task.data.filename or uid
                elif kind in ("settings/ai/local", "settings/ai/external"):
                    if models is None:
                        models = self._model_names()
                    if uid in models:
                        names[key] = models[uid]
        return names

    def _people(self, items: list[Record[LogData]]) -> dict[str, str]:
        """``{uid: name}`` of the page's users who gave a name (others are known by their email)."""
        uids = sorted({i.data.requested_by for i in items if i.data.requested_by})
        docs = self.db.find("users", {"uid": {"$in": uids}}, projection=["data.name"]) if uids else []
        return {d["uid"]: d["data"]["name"] for d in docs if (d.get("data") or {}).get("name")}

    def _model_names(self) -> dict[str, str]:
        ai = self.ctx.settings.get(SYSTEM).ai  # the masked view: keys never come near the logs
        return {m["uid"]: m["data"].get("label") or m["data"].get("model") or m["uid"]
                for kind in ("local", "external") for m in getattr(ai, kind)}
