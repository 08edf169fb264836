"""The settings view's helpers: list fields split into lines.

The view itself, on the real services, is tested in ``tests/integration/ui/test_ui_settings.py``.
"""

from __future__ import annotations

from dallosh.ui.settings import split_lines


def test_split_lines():
    assert split_lines("a, b\n c\n\n", commas=True) == ["a", "b", "c"]
    assert split_lines("Service Client, VIP\nAutre") == ["Service Client, VIP", "Autre"]
