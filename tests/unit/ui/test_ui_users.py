"""The users view's helpers: a help text per permission, service fields mapped to form keys.

The view itself, on the real services, is tested in ``tests/integration/ui/test_ui_users.py``.
"""

from __future__ import annotations

from dallosh.defaults import PERMISSIONS
from dallosh.errors import field_key
from dallosh.ui.users import PERMISSION_HELP


def test_every_permission_has_a_help_text():
    assert set(PERMISSION_HELP) == set(PERMISSIONS)


def test_field_key_maps_service_fields_to_form_keys():
    assert field_key("data.email") == "email"
    assert field_key("ai.local.data.retryRequests") == "retryRequests"
    assert field_key("data.permissions[3]") == "permissions"
    assert field_key("password") == "password"


