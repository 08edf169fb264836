"""One delivery: an e-mail to one address or a post to one webhook, with its state and attempts."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

#: queued → sent, or → retrying (a new attempt is scheduled) → … → failed (no attempt left; an admin may retry).
STATUSES = ("queued", "retrying", "sent", "failed")


@dataclass
class DeliveryData:
    kind: Literal["email", "webhook"]
    #: The e-mail address or the webhook's address (shown masked: it is the channel's password).
    target: str
    subject: str = ""
    status: Literal["queued", "retrying", "sent", "failed"] = "queued"
    attempts: int = 0
    #: Why the last attempt failed, in plain words (never the password).
    lastError: str = ""
    lastAttemptAt: datetime | None = None
    sentAt: datetime | None = None
    #: What asked for it, e.g. ``{"alert": uid}``, ``{"subscription": uid}``, ``{"test": "admin@..."}``.
    origin: dict[str, Any] = field(default_factory=dict)
    #: E-mails: the stored message's folder, relative to the storage root (shared by a batch's recipients).
    message: str = ""
    #: Webhooks: the JSON body posted.
    payload: dict[str, Any] = field(default_factory=dict)
    jobId: str = ""
