"""No user string reaches an ipyaggrid option as something it evaluates."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from dallosh.ui.grids import column_defs, evaluated_by_ipyaggrid, inert, positional_frame

ATTACKS = [
    "function(){}+(document.title='X')",
    "helpers.constructor.constructor('document.title=1')()",
    "__js__:document.title='X'",
    "\nfunction(){}",  # line breaks are removed before the test
    "func\r\ntion(){}",
    "__js__:\tdocument.title='X'",
]


@pytest.mark.parametrize("value", ATTACKS)
def test_strings_ipyaggrid_would_run_are_made_inert(value):
    assert evaluated_by_ipyaggrid(value)  # positive control: the reviver would evaluate it as is
    safe = inert(value)
    assert not evaluated_by_ipyaggrid(safe)
    assert safe.endswith(value)  # shown unchanged, behind an invisible zero-width space


@pytest.mark.parametrize("value", ["id", "full_text", " function", "Function()", "fonction", "", "helpers"])
def test_ordinary_headers_are_left_alone(value):
    assert not evaluated_by_ipyaggrid(value)
    assert inert(value) == value


def test_column_defs_use_positional_fields_and_inert_headers():
    frame = pd.DataFrame([["1", "a"]], columns=["id", ATTACKS[0]])
    grid_frame = positional_frame(frame)
    defs = column_defs(frame.columns, sortable=True)
    assert list(grid_frame.columns) == ["c0", "c1"] and list(frame.columns) == ["id", ATTACKS[0]]
    assert [d["field"] for d in defs] == ["c0", "c1"] and all(d["sortable"] for d in defs)
    sent = json.loads(json.dumps(defs))  # what the browser's reviver receives
    assert not any(evaluated_by_ipyaggrid(v) for d in sent for v in d.values() if isinstance(v, str))
    assert defs[1]["headerName"].endswith(ATTACKS[0])
