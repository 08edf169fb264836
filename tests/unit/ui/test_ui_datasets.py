"""The datasets view's helpers: column report and download names.

The view itself, on the real services, is tested in ``tests/integration/ui/test_ui_datasets.py``.
"""

from __future__ import annotations

from dallosh.ui.datasets import column_report, download_name


def test_column_report_and_download_names():
    found, missing, extra = column_report(["id", "full_text", "lang"])
    assert found == ["id", "full_text"] and "created_at" in missing and extra == ["lang"]
    assert download_name("oct.csv", "datasets") == "oct.csv"
    assert download_name("oct.csv", "analysed") == "oct-analysed.csv"


