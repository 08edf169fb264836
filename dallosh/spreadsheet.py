"""Spreadsheet safety of CSV files people download (OWASP "CSV injection").

Excel and LibreOffice run a cell that starts like a formula: ``=HYPERLINK(…)``, ``=cmd|' /C calc'!A0``,
``+1+cmd|…``, ``-2+3+…``, ``@SUM(…)``. Tweets, file names and labels come from strangers, so a CSV the app
hands out is *spreadsheet-safe* by default: those cells get a leading apostrophe (shown as nothing by the
spreadsheet, kept as text). Only cells a spreadsheet would really run are touched — ``@Freebox ça marche pas``
(most tweets start with a mention), ``-12`` or ``+33.5`` stay as they are. The exact bytes remain available
(raw downloads, notebooks).
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

#: ``@name(`` is a function call for Excel; ``@name`` alone is the mention every other tweet starts with.
_AT_FUNCTION = re.compile(r"@\s*[A-Za-z_][\w.]*\s*\(")
_SIGNED_NUMBER = re.compile(r"[+-]\s*\d+(?:[.,]\d+)?(?:[eE][+-]?\d+)?%?")


def is_formula(cell: str) -> bool:
    """Whether a spreadsheet opening a CSV would evaluate ``cell`` instead of showing it as text."""
    text = cell.lstrip("\t\r\n")  # tabs and line breaks in front do not stop the formula
    if not text:
        return False
    first = text[0]
    if first == "=":
        return True
    if first in "+-":
        return not _SIGNED_NUMBER.fullmatch(text)
    if first == "@":
        return bool(_AT_FUNCTION.match(text))
    return False


def neutralise(cell: str) -> str:
    """``cell`` as text a spreadsheet shows but never runs."""
    return "'" + cell if is_formula(cell) else cell


def safe_copy(source: Path, target: Path, encoding: str = "utf-8") -> int:
    """Write ``source`` (a CSV) to ``target`` with every formula cell neutralised; returns how many were.

    When no cell needs it, ``target`` is a byte-for-byte copy (quoting and line endings kept).
    """
    with open(source, newline="", encoding=encoding) as handle:
        risky = sum(is_formula(cell) for row in csv.reader(handle) for cell in row)
    if not risky:
        target.write_bytes(source.read_bytes())
        return 0
    with open(source, newline="", encoding=encoding) as src, open(target, "w", newline="", encoding=encoding) as dst:
        writer = csv.writer(dst, lineterminator="\n")
        for row in csv.reader(src):
            writer.writerow([neutralise(cell) for cell in row])
    return risky
