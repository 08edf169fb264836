"""The activity log's action filter.

The view itself, on the real services, is tested in ``tests/integration/ui/test_ui_logs.py``.
"""

from __future__ import annotations

from dallosh.ui.logs import known_actions


def test_the_action_filter_offers_every_logged_action():
    actions = known_actions()
    for name in ("users", "settings", "users.create", "users.approve", "roles.delete", "settings.update_model",
                 "settings.check_model", "auth.login", "files.add", "corrections.correct_many"):
        assert name in actions
