"""Schema machinery: the document envelope and a small type-driven validator.

Every collection stores ``{uid, data: {...}, createdAt, createdBy, updatedAt, updatedBy}``. ``data`` is a
dataclass per collection; ``parse(cls, value)`` checks types from the dataclass annotations (``str``, ``int``,
``float``, ``bool``, ``Literal``, ``list[...]``, ``dict``, ``X | None``, nested dataclasses) and raises
``ValidationError`` naming the dotted field, then runs the class's own ``check()`` for value rules.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, TypeVar, get_args, get_origin

from dallosh.errors import ValidationError

T = TypeVar("T")

_MISSING = dataclasses.MISSING


def _type_name(tp: Any) -> str:
    if get_origin(tp) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(tp))
    return getattr(tp, "__name__", str(tp))


def _coerce(tp: Any, value: Any, path: str, stored: bool = False) -> Any:
    origin = get_origin(tp)
    if tp is Any:
        return value
    if origin in (typing.Union, types.UnionType):
        options = get_args(tp)
        if value is None and type(None) in options:
            return None
        errors = []
        for option in options:
            if option is type(None):
                continue
            try:
                return _coerce(option, value, path, stored)
            except ValidationError as exc:
                errors.append(exc.message)
        raise ValidationError(path, errors[0] if errors else "invalid value")
    if origin is Literal:
        if value not in get_args(tp):
            raise ValidationError(path, f"must be {_type_name(tp)}, got {value!r}")
        return value
    if origin is list:
        if not isinstance(value, list | tuple):
            raise ValidationError(path, f"must be a list, got {type(value).__name__}")
        (item_tp,) = get_args(tp) or (Any,)
        return [_coerce(item_tp, item, f"{path}[{i}]", stored) for i, item in enumerate(value)]
    if origin is dict or tp is dict:
        if not isinstance(value, dict):
            raise ValidationError(path, f"must be an object, got {type(value).__name__}")
        return dict(value)
    if dataclasses.is_dataclass(tp):
        return parse(tp, value, path, stored=stored)
    if tp is bool:
        if stored and type(value) is int and value in (0, 1):
            return bool(value)  # nx-27017 0.8.1 stores a boolean set by a dotted $set as 0/1 (MongoDB keeps it)
        if not isinstance(value, bool):
            raise ValidationError(path, f"must be true or false, got {value!r}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(path, f"must be a whole number, got {value!r}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValidationError(path, f"must be a number, got {value!r}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise ValidationError(path, f"must be text, got {type(value).__name__}")
        return value
    if tp is datetime:
        if not isinstance(value, datetime):
            raise ValidationError(path, "must be a date-time")
        return value
    raise TypeError(f"unsupported schema type {tp!r} at {path}")


def parse(cls: type[T], value: Any, path: str = "data", *, stored: bool = False) -> T:
    """Validate ``value`` (a dict) against dataclass ``cls``; unknown keys are kept in ``extra`` if it exists.

    ``stored``: the value was read from the database, where a boolean may come back as 0/1 (see ``_coerce``);
    input from users stays strict."""
    if isinstance(value, cls):
        value = dataclasses.asdict(value)
    if not isinstance(value, dict):
        raise ValidationError(path, f"must be an object, got {type(value).__name__}")
    hints = typing.get_type_hints(cls)
    kwargs: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        fpath = f"{path}.{f.name}"
        if f.name in value:
            kwargs[f.name] = _coerce(hints[f.name], value[f.name], fpath, stored)
        elif f.default is _MISSING and f.default_factory is _MISSING:
            raise ValidationError(fpath, "is required")
    obj = cls(**kwargs)
    check = getattr(obj, "check", None)
    if check is not None:
        check(path)
    return obj


def dump(obj: Any) -> dict[str, Any]:
    """A data dataclass as the plain dict stored in MongoDB."""
    return dataclasses.asdict(obj)


@dataclass
class Record(typing.Generic[T]):
    """The stored envelope around a collection's ``data``."""

    uid: str
    data: T
    createdAt: datetime | None = None
    createdBy: str | None = None
    updatedAt: datetime | None = None
    updatedBy: str | None = None

    @classmethod
    def from_doc(cls, data_cls: type[T], doc: dict[str, Any]) -> Record[T]:
        if not isinstance(doc.get("uid"), str) or not doc["uid"]:
            raise ValidationError("uid", "is required and must be a string")
        return cls(
            uid=doc["uid"],
            data=parse(data_cls, doc.get("data", {}), stored=True),
            createdAt=doc.get("createdAt"),
            createdBy=doc.get("createdBy"),
            updatedAt=doc.get("updatedAt"),
            updatedBy=doc.get("updatedBy"),
        )
