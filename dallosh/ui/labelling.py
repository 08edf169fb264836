"""Who labelled a dataset's rows, shown in the task view and on the Analysis page (issue: fallback visible).

Model identities as recorded in ``labelled_by`` (``builtin``, ``openai:gemma3``, ``rule:operator`` …) are turned
into words an analyst reads without knowing the plumbing.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from dallosh.ui.components import human_int
from dallosh.ui.html import Markup, render

_RULES = {"rule:operator": "the operator's own tweets (no model needed)",
          "rule:retweet": "retweets of the operator (no model needed)"}


def model_name(name: str | None) -> str:
    """``labelled_by`` in the analyst's words."""
    name = str(name or "")
    if name in ("", "None"):
        return "unknown"
    if name == "builtin":
        return "the built-in analyzer"
    if name in _RULES:
        return _RULES[name]
    kind, _, model = name.partition(":")
    return f"the AI model {model}" if model and kind in ("openai", "ollama") else name


def labelling_html(counts: Mapping[str, int] | None, fallbacks: list[Mapping[str, Any]] | None = None,
                   unit: str = "rows") -> Markup:
    """The "Labelled by" line (busiest model first) and one line per fallback reason."""
    ordered = sorted((counts or {}).items(), key=lambda item: (-int(item[1]), str(item[0])))
    return render("labelling.html", unit=unit,
                  counts=[{"name": model_name(name), "count": human_int(int(count))} for name, count in ordered
                          if int(count)],
                  fallbacks=[{"rows": human_int(int(f.get("rows") or 0)), "model": model_name(f.get("model")),
                              "to": model_name(f.get("to")), "reason": str(f.get("reason") or "no reason given")}
                             for f in (fallbacks or [])])
