"""Who labelled a dataset's rows, shown in the task view and on the Analysis page (issue: fallback visible).

Model identities as recorded in ``labelled_by`` (``builtin``, ``openai:gemma3``, ``rule:operator`` …) are turned
into words an analyst reads without knowing the plumbing.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from dallosh.ui.components import human_int
from dallosh.ui.html import Markup, render

#: A server address in a model's error ("cannot reach http://10.0.0.5:8080/v1"): analysts read "the AI server";
#: the address stays in the worker log and the admins' activity log.
_ADDRESS = re.compile(r"(?:https?://|\b(?:\d{1,3}\.){3}\d{1,3}\b)[^\s),;]*", re.IGNORECASE)


def plain_reason(reason: Any) -> str:
    """A fallback's reason without server addresses or exception names, e.g. "cannot reach the AI server"."""
    text = _ADDRESS.sub("the AI server", str(reason or "no reason given"))
    text = re.sub(r"(server) at the AI server", r"\1", text)
    return re.sub(r"\s*\((?:[A-Z]\w*(?:Error|Exception|Timeout))\)", "", text).strip()


_RULES = {"rule:operator": "the operator's own tweets (no model needed)",
          "rule:retweet": "retweets of the operator (no model needed)"}


def model_name(name: str | None) -> str:
    """``labelled_by`` in the analyst's words."""
    name = str(name or "")
    if name in ("", "None"):
        return "unknown"
    if name in _RULES:
        return _RULES[name]
    label = model_label(name)
    return f"the {label}" if label != name else name


def model_label(name: str | None) -> str:
    """A model as a step's name shows it: ``built-in analyzer``, ``AI model gemma3`` (no article)."""
    name = str(name or "")
    if name == "builtin":
        return "built-in analyzer"
    kind, _, model = name.partition(":")
    return f"AI model {model}" if model and kind in ("openai", "ollama") else name


def models_label(models: Mapping[str, int] | Iterable[str] | None) -> str:
    """What labelled texts, busiest first (``AI model gemma3 + built-in analyzer``); the author rules are not
    models (no model ran for those rows), so they are left out; "" when no model ran."""
    if isinstance(models, Mapping):
        ordered = [name for name, _ in sorted(models.items(), key=lambda item: (-int(item[1] or 0), str(item[0])))]
    else:
        ordered = [str(name) for name in models or ()]
    names = [model_label(name) for name in ordered if name and not str(name).startswith("rule:")]
    return " + ".join(dict.fromkeys(names))


def labelling_html(counts: Mapping[str, int] | None, fallbacks: list[Mapping[str, Any]] | None = None,
                   unit: str = "rows") -> Markup:
    """The "Labelled by" line (busiest model first) and one line per fallback reason."""
    ordered = sorted((counts or {}).items(), key=lambda item: (-int(item[1]), str(item[0])))
    return render("labelling.html", unit=unit,
                  counts=[{"name": model_name(name), "count": human_int(int(count))} for name, count in ordered
                          if int(count)],
                  fallbacks=[{"rows": human_int(int(f.get("rows") or 0)), "model": model_name(f.get("model")),
                              "to": model_name(f.get("to")), "reason": plain_reason(f.get("reason"))}
                             for f in (fallbacks or [])])
