from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class LogData:
    """One activity-log entry: who did what to which target, and how it ended."""

    action: str  # e.g. "users.create", "auth.login"
    target: str = ""  # e.g. "users/<uid>"
    result: str = "ok"  # "ok", "denied", or "error: <message>"
    requested_by: str | None = None  # user uid; None for anonymous or system
    method: str = ""  # the original spec's HTTP-style verb (post/patch/delete), for filtering
    details: dict[str, Any] = field(default_factory=dict)  # never secrets
