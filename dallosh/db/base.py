"""The database adapter interface (the original spec's BaseAdapter).

Documents have the shape ``{uid, data: {...}, createdAt, createdBy, updatedAt, updatedBy}``; the adapter stamps
the four audit fields, so services only ever handle ``data``. Filters use a small MongoDB-style subset that both
MongoDB and the embedded nx-27017 evaluate correctly (DESIGN.md §3): equality on dotted paths, ``$in``, ``$ne``,
``$gt/$gte/$lt/$lte``, ``$exists``, string ``$regex`` with ``$options``, and ``$or``. Always filter on string
``uid`` values, never on ObjectIds.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

Document = dict[str, Any]
Filter = Mapping[str, Any]
#: Sort spec: ``[("data.createdAt", -1), ...]`` (1 ascending, -1 descending).
Sort = Sequence[tuple[str, int]]


class BaseAdapter(ABC):
    """What every database backend offers the services."""

    @abstractmethod
    def ping(self) -> bool:
        """True when the server answers."""

    @abstractmethod
    def insert(self, collection: str, data: Mapping[str, Any], *, by: str, uid: str | None = None) -> Document:
        """Insert one document built from ``data``; returns it (with generated ``uid`` unless given)."""

    @abstractmethod
    def insert_many(self, collection: str, items: Sequence[Mapping[str, Any]], *, by: str) -> list[Document]:
        """Insert several documents at once (used for events and bulk imports)."""

    @abstractmethod
    def get(self, collection: str, uid: str) -> Document | None:
        """The document with this uid, or None."""

    @abstractmethod
    def find_one(self, collection: str, filter: Filter) -> Document | None:
        """The first document matching ``filter``, or None."""

    @abstractmethod
    def find(
        self,
        collection: str,
        filter: Filter | None = None,
        *,
        sort: Sort | None = None,
        skip: int = 0,
        limit: int = 0,
        projection: Sequence[str] | None = None,
    ) -> list[Document]:
        """Documents matching ``filter``; ``projection`` lists dotted fields to return (``uid`` always kept)."""

    @abstractmethod
    def update(
        self,
        collection: str,
        uid: str,
        changes: Mapping[str, Any],
        *,
        by: str,
        unset: Sequence[str] = (),
        inc: Mapping[str, int] | None = None,
    ) -> Document | None:
        """Partial update of ``data`` (keys are paths inside ``data``); returns the updated document or None."""

    @abstractmethod
    def find_one_and_update(
        self,
        collection: str,
        filter: Filter,
        changes: Mapping[str, Any],
        *,
        by: str,
        sort: Sort | None = None,
        inc: Mapping[str, int] | None = None,
        unset: Sequence[str] = (),
    ) -> Document | None:
        """Atomically update the first document matching ``filter``; returns it after the update, or None.

        This is how state transitions stay race-free: the filter includes the expected current state.
        """

    @abstractmethod
    def update_many(self, collection: str, filter: Filter, changes: Mapping[str, Any], *, by: str) -> int:
        """Partial update of every matching document; returns how many matched."""

    @abstractmethod
    def delete(self, collection: str, uid: str) -> bool:
        """Delete one document; True if it existed."""

    @abstractmethod
    def delete_many(self, collection: str, filter: Filter) -> int:
        """Delete every matching document; returns the count."""

    @abstractmethod
    def count(self, collection: str, filter: Filter | None = None) -> int:
        """How many documents match."""

    @abstractmethod
    def group_count(self, collection: str, field: str, filter: Filter | None = None) -> dict[Any, int]:
        """Simple aggregation: number of matching documents per value of one (dotted) field."""

    @abstractmethod
    def ensure_index(self, collection: str, field: str, *, unique: bool = False) -> None:
        """Create an index on one dotted field if missing."""

    @abstractmethod
    def drop_database(self) -> None:
        """Remove the whole logical database (tests and ``dallosh reset``)."""

    @abstractmethod
    def close(self) -> None:
        """Release connections."""
