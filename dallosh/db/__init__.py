"""Database access: ``DatabaseService`` is the adapter the rest of the app uses (the original spec's name)."""

from __future__ import annotations

from dallosh.config import Config, get_config
from dallosh.db.base import BaseAdapter, Document, Filter, Sort
from dallosh.db.mongo import MongoAdapter, new_uid, utcnow

#: The adapter class the app uses; another backend implements BaseAdapter and is swapped in here.
DatabaseService = MongoAdapter


def connect(config: Config | None = None, *, database: str | None = None) -> BaseAdapter:
    """A DatabaseService for the configured URI and database (does not start anything)."""
    config = config or get_config()
    return DatabaseService(config.mongodb_uri, database or config.mongodb_database)


__all__ = ["BaseAdapter", "DatabaseService", "Document", "Filter", "MongoAdapter", "Sort", "connect", "new_uid",
           "utcnow"]
