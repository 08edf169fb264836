"""Is anybody still looking at this kernel's page?

Voilà keeps a kernel running after its tab is closed (until the server culls idle kernels), and the kernel is
never told. Without this, a closed overview would keep polling the database every few seconds and, worse, its
widget updates would count as kernel activity so the idle culler would never reclaim it. The page pings every
``PING_S``; timers and the event applier skip their work while ``watched()`` is False.

The kernel answers each ping; when two go unanswered the page shows a "connection lost" banner with a Reload
button (``static/presence.js``), instead of buttons that silently do nothing.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import anywidget
import traitlets as t

#: Seconds between pings from an open page (browsers throttle timers in background tabs to ≥ 1/min); two
#: unanswered pings in a row show the "connection lost" banner.
PING_S = 10
#: A page silent for this long is considered closed (missed pings, tolerant of background throttling).
GONE_AFTER_S = 90.0
PRESENCE_JS = Path(__file__).with_name("static") / "presence.js"


class Presence(anywidget.AnyWidget):
    """An invisible widget whose page sends a ping every ``interval`` seconds."""

    _esm = PRESENCE_JS
    interval = t.Int(PING_S).tag(sync=True)

    def __init__(self, **kwargs: Any):
        super().__init__(**kwargs)
        self.layout.display = "none"
        #: Monotonic time of the last ping; construction counts as one (the page is opening).
        self.last_seen = time.monotonic()
        self.on_msg(lambda _w, content, _buffers: self.handle(content))

    def handle(self, content: dict[str, Any]) -> None:
        if content.get("type") == "ping":
            self.last_seen = time.monotonic()
            self.send({"type": "pong"})

    def watched(self, gone_after: float = GONE_AFTER_S) -> bool:
        return time.monotonic() - self.last_seen < gone_after
