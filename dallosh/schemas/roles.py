from __future__ import annotations

from dataclasses import dataclass, field

from dallosh.defaults import PERMISSIONS
from dallosh.errors import ValidationError


@dataclass
class RoleData:
    name: str
    description: str = ""
    permissions: list[str] = field(default_factory=list)

    def check(self, path: str) -> None:
        if not self.name.strip() or len(self.name) > 64:
            raise ValidationError(f"{path}.name", "must be 1 to 64 characters")
        for i, perm in enumerate(self.permissions):
            if perm not in PERMISSIONS:
                raise ValidationError(f"{path}.permissions[{i}]",
                                      f"unknown permission {perm!r}; known: {', '.join(PERMISSIONS)}")
        if len(set(self.permissions)) != len(self.permissions):
            raise ValidationError(f"{path}.permissions", "lists a permission twice")
