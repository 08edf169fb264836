"""How each KPI is computed, in the analysts' words: the tooltip of every KPI card and the Analysis glossary.

The texts are data (``dallosh/data/kpi_glossary.toml``), one table per KPI key.
"""

from __future__ import annotations

import tomllib
from functools import cache
from importlib import resources


@cache
def glossary() -> dict[str, dict[str, str]]:
    """KPI key → {label, help}: how each number is computed (``dallosh/data/kpi_glossary.toml``)."""
    with resources.files("dallosh").joinpath("data/kpi_glossary.toml").open("rb") as f:
        return tomllib.load(f)


def kpi_help(key: str) -> str:
    return glossary().get(key, {}).get("help", "")
