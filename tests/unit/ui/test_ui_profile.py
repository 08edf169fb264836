"""Error messages the views show: never a traceback, infrastructure failures as plain sentences.

The view itself, on the real services, is tested in ``tests/integration/ui/test_ui_profile.py``.
"""

from __future__ import annotations

from dallosh.errors import AuthenticationFailed
from dallosh.ui.components import error_message


def test_unexpected_errors_never_show_a_traceback():
    assert error_message(AuthenticationFailed("Nope.")) == "Nope."
    message = error_message(KeyError("data"))
    assert "KeyError" in message and "Traceback" not in message and "data" not in message


def test_infrastructure_failures_read_as_plain_sentences():
    from pymongo.errors import ServerSelectionTimeoutError

    assert error_message(ServerSelectionTimeoutError("localhost:1: [Errno 111]")).startswith(
        "The database is not reachable right now.")
