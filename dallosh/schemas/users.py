from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from dallosh.errors import ValidationError

# Deliberately simple: one @, a dot in the domain, no spaces. Deliverability is checked by humans, not regexes.
_EMAIL = re.compile(r"^[^@\s]{1,64}@[^@\s]+\.[^@\s]{2,}$")

UserStatus = Literal["active", "pending", "disabled"]


def normalise_email(email: str) -> str:
    """Emails are compared case-insensitively and without surrounding spaces."""
    return (email or "").strip().lower()


@dataclass
class UserData:
    email: str
    password: str  # a salted scrypt hash (dallosh.passwords), never the password itself
    role_id: str
    status: UserStatus = "active"
    name: str = ""
    theme: Literal["light", "dark"] = "light"
    last_login: datetime | None = None

    def check(self, path: str) -> None:
        if not _EMAIL.match(self.email or "") or len(self.email) > 254:
            raise ValidationError(f"{path}.email", f"{self.email!r} is not a valid email address")
        if not self.role_id:
            raise ValidationError(f"{path}.role_id", "is required")
        if len(self.name) > 120:
            raise ValidationError(f"{path}.name", "must be at most 120 characters")
