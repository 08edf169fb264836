"""The pymongo adapter. Speaks the real MongoDB wire protocol to MongoDB or the embedded nx-27017 server."""

from __future__ import annotations

import re
import uuid
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import pymongo
from pymongo import ReturnDocument
from pymongo.errors import DuplicateKeyError, PyMongoError

from dallosh.db.base import BaseAdapter, Document, Filter, Sort
from dallosh.errors import Conflict


def new_uid() -> str:
    """A document uid: uuid4 hex (the only id other code uses; also safe as a file name)."""
    return uuid.uuid4().hex


def utcnow() -> datetime:
    """Timestamps at millisecond precision, the resolution BSON keeps, so round-trips compare equal."""
    now = datetime.now(UTC)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


def _unflatten(doc: Document) -> Document:
    """nx-27017 returns projected sub-fields as flat ``"data.x"`` keys; MongoDB nests them. Nest both."""
    if not any("." in key for key in doc):
        return doc
    out: Document = {}
    for key, value in doc.items():
        node = out
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = value
    return out


# nx-27017 0.8.1 stores datetimes written by $set as strings in str(datetime) form (naive UTC); inserted ones
# stay BSON dates. Turn that exact form back into aware datetimes so both servers read the same. (Range
# queries therefore only work on fields written at insert time, like createdAt.)
_NX_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d{1,6})?$")


def _revive_datetimes(value: Any) -> Any:
    if isinstance(value, str):
        if _NX_DATETIME.match(value):
            return datetime.fromisoformat(value).replace(tzinfo=UTC)
        return value
    if isinstance(value, dict):
        return {k: _revive_datetimes(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revive_datetimes(v) for v in value]
    return value


def _clean(doc: Document | None) -> Document | None:
    if doc is None:
        return None
    doc.pop("_id", None)
    return _revive_datetimes(_unflatten(doc))


class MongoAdapter(BaseAdapter):
    """BaseAdapter over pymongo. One instance per process is enough (pymongo pools connections)."""

    def __init__(self, uri: str, database: str, *, timeout_ms: int = 5000, client: pymongo.MongoClient | None = None):
        self.uri = uri
        self.database_name = database
        self.client = client or pymongo.MongoClient(
            uri, tz_aware=True, serverSelectionTimeoutMS=timeout_ms, connectTimeoutMS=timeout_ms,
            uuidRepresentation="standard",
        )
        self.db = self.client[database]

    def __repr__(self) -> str:
        return f"MongoAdapter(database={self.database_name!r})"

    def ping(self) -> bool:
        try:
            self.client.admin.command("ping")
            return True
        except PyMongoError:
            return False

    def _stamp_new(self, data: Mapping[str, Any], by: str, uid: str | None) -> Document:
        now = utcnow()
        return {"uid": uid or new_uid(), "data": dict(data), "createdAt": now, "createdBy": by,
                "updatedAt": now, "updatedBy": by}

    @staticmethod
    def _update_spec(changes: Mapping[str, Any], by: str, unset: Sequence[str] = (),
                     inc: Mapping[str, int] | None = None) -> dict[str, Any]:
        spec: dict[str, Any] = {"$set": {**{f"data.{k}": v for k, v in changes.items()},
                                         "updatedAt": utcnow(), "updatedBy": by}}
        if unset:
            spec["$unset"] = {f"data.{k}": "" for k in unset}
        if inc:
            spec["$inc"] = {f"data.{k}": v for k, v in inc.items()}
        return spec

    def insert(self, collection: str, data: Mapping[str, Any], *, by: str, uid: str | None = None) -> Document:
        doc = self._stamp_new(data, by, uid)
        try:
            self.db[collection].insert_one(doc)
        except DuplicateKeyError as exc:
            raise Conflict(f"A {collection[:-1] if collection.endswith('s') else collection} with the same "
                           "unique value already exists.") from exc
        return _clean(doc)  # type: ignore[return-value]

    def insert_many(self, collection: str, items: Sequence[Mapping[str, Any]], *, by: str) -> list[Document]:
        docs = [self._stamp_new(item, by, None) for item in items]
        if docs:
            try:
                self.db[collection].insert_many(docs, ordered=True)
            except DuplicateKeyError as exc:
                raise Conflict(f"Duplicate value in {collection}.") from exc
        return [_clean(d) for d in docs]  # type: ignore[misc]

    def get(self, collection: str, uid: str) -> Document | None:
        if not isinstance(uid, str):
            return None
        return _clean(self.db[collection].find_one({"uid": uid}))

    def find_one(self, collection: str, filter: Filter) -> Document | None:
        return _clean(self.db[collection].find_one(dict(filter)))

    def find(self, collection: str, filter: Filter | None = None, *, sort: Sort | None = None, skip: int = 0,
             limit: int = 0, projection: Sequence[str] | None = None) -> list[Document]:
        proj = None
        if projection is not None:
            proj = {"_id": 0, "uid": 1, **{field: 1 for field in projection}}
        cursor = self.db[collection].find(dict(filter or {}), proj)
        if sort:
            cursor = cursor.sort(list(sort))
        if skip:
            cursor = cursor.skip(int(skip))
        if limit:
            cursor = cursor.limit(int(limit))
        return [_clean(doc) for doc in cursor]  # type: ignore[misc]

    def update(self, collection: str, uid: str, changes: Mapping[str, Any], *, by: str, unset: Sequence[str] = (),
               inc: Mapping[str, int] | None = None) -> Document | None:
        return self.find_one_and_update(collection, {"uid": uid}, changes, by=by, unset=unset, inc=inc)

    def find_one_and_update(self, collection: str, filter: Filter, changes: Mapping[str, Any], *, by: str,
                            sort: Sort | None = None, inc: Mapping[str, int] | None = None,
                            unset: Sequence[str] = ()) -> Document | None:
        try:
            doc = self.db[collection].find_one_and_update(
                dict(filter), self._update_spec(changes, by, unset, inc), sort=list(sort) if sort else None,
                return_document=ReturnDocument.AFTER)
        except DuplicateKeyError as exc:
            raise Conflict(f"That change would duplicate a unique value in {collection}.") from exc
        return _clean(doc)

    def update_many(self, collection: str, filter: Filter, changes: Mapping[str, Any], *, by: str) -> int:
        return self.db[collection].update_many(dict(filter), self._update_spec(changes, by)).matched_count

    def delete(self, collection: str, uid: str) -> bool:
        return self.db[collection].delete_one({"uid": uid}).deleted_count > 0

    def delete_many(self, collection: str, filter: Filter) -> int:
        return self.db[collection].delete_many(dict(filter)).deleted_count

    def count(self, collection: str, filter: Filter | None = None) -> int:
        return self.db[collection].count_documents(dict(filter or {}))

    def group_count(self, collection: str, field: str, filter: Filter | None = None) -> dict[Any, int]:
        # A single-field $group _id is evaluated by both servers; compound _ids are not by nx-27017.
        pipeline = [{"$match": dict(filter or {})}, {"$group": {"_id": f"${field}", "count": {"$sum": 1}}}]
        return {row["_id"]: row["count"] for row in self.db[collection].aggregate(pipeline)}

    def ensure_index(self, collection: str, field: str, *, unique: bool = False) -> None:
        self.db[collection].create_index([(field, pymongo.ASCENDING)], unique=unique)

    def drop_database(self) -> None:
        self.client.drop_database(self.database_name)

    def close(self) -> None:
        self.client.close()
