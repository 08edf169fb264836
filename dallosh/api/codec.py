"""JSON on the wire for service calls: what ``dallosh.services`` takes and returns, and nothing executable.

Plain JSON values pass as they are; the rest is tagged with one ``$``-key:

- ``{"$dt": iso}`` datetimes, ``{"$tuple": [...]}``, ``{"$set": [...]}`` (sets and frozensets);
- ``{"$page": {...}}`` a ``Page``; ``{"$frame": base64}`` a pandas DataFrame as an Arrow IPC stream;
- ``{"$dc": "module:Class", "fields": {...}}`` a dataclass (``Record``, ``GeneralSettings``, ``DatasetInspection``...).

Decoding is asymmetric on purpose: the API decodes callers' arguments with ``decode(value, trusted=False)``, which
accepts only plain JSON, datetimes, tuples and sets — a request can never make the server build an object. The
client trusts the server it called and rebuilds dataclasses, but only from ``dallosh.*`` modules.
"""

from __future__ import annotations

import base64
import dataclasses
import importlib
from datetime import date, datetime
from enum import Enum
from pathlib import PurePath
from typing import Any

from dallosh.errors import ValidationError
from dallosh.services.base import Page

#: Modules whose dataclasses a client rebuilds from a response (the API never rebuilds any).
TRUSTED_MODULES = ("dallosh.",)


def frame_to_arrow(frame: Any) -> bytes:
    """A pandas DataFrame as Arrow IPC stream bytes (types kept: categoricals, timestamps, ids as text)."""
    import pyarrow as pa

    table = pa.Table.from_pandas(frame, preserve_index=False)
    sink = pa.BufferOutputStream()
    with pa.ipc.new_stream(sink, table.schema) as writer:
        writer.write_table(table)
    return sink.getvalue().to_pybytes()


def arrow_to_frame(data: bytes) -> Any:
    import pyarrow as pa

    return pa.ipc.open_stream(data).read_all().to_pandas()


def encode(value: Any) -> Any:
    """``value`` as JSON-compatible data (see the module docstring for the tags)."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, Enum):
        return encode(value.value)
    if isinstance(value, datetime):
        return {"$dt": value.isoformat()}
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, PurePath):
        return str(value)
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"$tuple": [encode(v) for v in value]}
    if isinstance(value, set | frozenset):
        return {"$set": [encode(v) for v in sorted(value, key=str)]}
    if isinstance(value, Page):
        return {"$page": {"items": encode(value.items), "total": value.total, "skip": value.skip,
                          "limit": value.limit, "extra": encode(value.extra)}}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        # Fields marked ``metadata={"local": True}`` stay in the process that made them (their default is sent).
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)
                  if f.init and not f.metadata.get("local")}
        return {"$dc": f"{cls.__module__}:{cls.__qualname__}", "fields": fields}
    if type(value).__name__ == "DataFrame" and type(value).__module__.startswith("pandas"):
        return {"$frame": base64.b64encode(frame_to_arrow(value)).decode("ascii")}
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return encode(value.item())
    raise TypeError(f"cannot send a {type(value).__name__} through the API")


def _dataclass(path: str) -> type:
    module, _, name = path.partition(":")
    if not module.startswith(TRUSTED_MODULES):
        raise ValidationError("$dc", f"{path} is not a dallosh type")
    obj: Any = importlib.import_module(module)
    for part in name.split("."):
        obj = getattr(obj, part)
    if not dataclasses.is_dataclass(obj):
        raise ValidationError("$dc", f"{path} is not a dataclass")
    return obj


def decode(value: Any, *, trusted: bool = False) -> Any:
    """The inverse of ``encode``. Untrusted input (a caller's arguments) may not carry dataclasses or frames."""
    if isinstance(value, list):
        return [decode(v, trusted=trusted) for v in value]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        (key, inner), = value.items()
        if key == "$dt":
            try:
                return datetime.fromisoformat(inner)
            except (TypeError, ValueError):
                raise ValidationError("$dt", f"{inner!r} is not an ISO date-time") from None
        if key == "$tuple":
            return tuple(decode(inner, trusted=trusted))
        if key == "$set":
            return frozenset(decode(inner, trusted=trusted))
        if key in ("$page", "$frame") and not trusted:
            raise ValidationError(key, "is not accepted as an argument")
        if key == "$page":
            return Page(decode(inner["items"], trusted=True), inner["total"], inner["skip"], inner["limit"],
                        decode(inner["extra"], trusted=True))
        if key == "$frame":
            return arrow_to_frame(base64.b64decode(inner))
    if "$dc" in value and set(value) == {"$dc", "fields"}:
        if not trusted:
            raise ValidationError("$dc", "objects are not accepted as arguments")
        cls = _dataclass(value["$dc"])
        return cls(**{k: decode(v, trusted=True) for k, v in value["fields"].items()})
    return {k: decode(v, trusted=trusted) for k, v in value.items()}
