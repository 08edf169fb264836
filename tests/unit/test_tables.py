"""Frames hold text as Python strings even with pyarrow installed (the API needs pyarrow; the data code is tuned
for Python strings)."""

from __future__ import annotations

import subprocess
import sys


def test_text_columns_are_python_strings_once_dallosh_builds_frames():
    code = ("import pyarrow, pandas as pd; before = pd.Series(['a']).dtype.storage; import dallosh.datasets; "
            "print(before, pd.Series(['a']).dtype.storage, pd.read_csv(__import__('io').StringIO('t\\nx'), "
            "dtype=str)['t'].dtype.storage)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["pyarrow", "python", "python"]  # pandas' own default first: the setting is what changes it
