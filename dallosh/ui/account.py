"""Does this user still sign in with the documented default password? One answer per App, read by every view.

The rule: the bootstrap creates the default accounts with ``DEFAULT_PASSWORD``, and the auth service says whether
a user's hash still matches it (``auth.uses_default_password``, given the user's own record).
The Profile's warning and the App's banner both read it here, so they can never disagree, and the deliberately
slow hash check runs once per App rather than once per view.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from dallosh.services import Actor

log = logging.getLogger(__name__)

#: What the warning says on every view but the Profile (which has the form to change it).
BANNER_TEXT = "You still use the default password: anyone who knows it can sign in as you."
BANNER_ACTION = "Change it in your Profile"


class DefaultPassword:
    """``active`` is True while the user's password is the default one (None until checked)."""

    def __init__(self, services: Any, actor: Actor):
        self.services, self.actor = services, actor
        self.active: bool | None = None
        self._listeners: list[Callable[[bool], None]] = []
        self._lock = threading.Lock()

    def check(self) -> bool:
        """Ask once (a slow hash on purpose); later calls return the answer."""
        with self._lock:
            if self.active is None:
                user = self.services.users.find(self.actor.uid)  # the user's own record (the API allows it)
                self.active = bool(user and self.services.auth.uses_default_password(user))
                active = self.active
            else:
                return self.active
        self._tell(active)
        return active

    def changed(self) -> None:
        """The user just changed their password (through the auth service, which checked it)."""
        with self._lock:
            self.active = False
        self._tell(False)

    def observe(self, listener: Callable[[bool], None]) -> None:
        """Call ``listener(active)`` whenever the answer is known or changes."""
        self._listeners.append(listener)

    def _tell(self, active: bool) -> None:
        for listener in list(self._listeners):
            try:
                listener(active)
            except Exception:  # noqa: BLE001 - one broken listener must not hide the warning elsewhere
                log.exception("a default-password listener failed")
