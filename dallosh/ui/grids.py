"""ipyaggrid tables whose options no user string can turn into code.

ipyaggrid parses its grid options with a JSON reviver that evaluates every string value starting with
``function`` or ``helpers.`` (``eval``) or ``__js__:`` (``Function``), after removing line breaks and folding
white space. A CSV header placed in ``headerName`` or ``field`` therefore ran as JavaScript in the uploader's
browser. Here column fields are positional names we make (``c0``, ``c1``, …) and every user-supplied option
string goes through :func:`inert`. Cell values travel as row data, which ipyaggrid does not evaluate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import pandas as pd

#: What ipyaggrid's reviver (``widget_json.js``) evaluates, tested on the compacted string as it does.
_EVALUATED = ("function", "helpers.")
_EVALUATED_ANYWHERE_AT_START = "__js__:"
#: A zero-width space in front makes the string inert for the reviver and invisible on screen.
_GUARD = "\u200b"


def _compact(value: str) -> str:
    """The string as ipyaggrid tests it: line breaks removed, runs of white space folded to one space."""
    return re.sub(r"\s+", " ", re.sub(r"\r?\n|\r", "", value))


def evaluated_by_ipyaggrid(value: str) -> bool:
    """Whether ipyaggrid would run ``value`` as code if it stood in a grid option."""
    compact = _compact(value)
    return compact[:8] in _EVALUATED or compact.startswith(_EVALUATED_ANYWHERE_AT_START)


def inert(value: Any) -> str:
    """``value`` as a string that ipyaggrid shows as text and never evaluates."""
    text = "" if value is None else str(value)
    return _GUARD + text if evaluated_by_ipyaggrid(text) else text


def positional_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with columns renamed ``c0``, ``c1``, … so that no header name becomes a grid ``field``."""
    out = frame.copy()
    out.columns = [f"c{i}" for i in range(len(frame.columns))]
    return out


def column_defs(headers: Iterable[Any], **common: Any) -> list[dict[str, Any]]:
    """Column definitions for a :func:`positional_frame`: field ``c<i>``, the header as inert text."""
    return [{"field": f"c{i}", "headerName": inert(name), "headerTooltip": inert(name), **common}
            for i, name in enumerate(headers)]
