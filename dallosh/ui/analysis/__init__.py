"""Analysis: KPIs, charts and tweets of one or several analysed datasets, with label corrections.

The package: ``view`` (the page and its flow) with its parts ``chips`` (chart clicks as filters, whose rules are
``crossfilter``'s), ``corrections`` (the side panel ``panel``, bulk corrections, history), ``address`` (the view
in the address, ``state``) and ``exports``; ``charts`` (plotly figures), ``plotly_chart`` (the chart widget and its
``.js``), ``table`` (the tweets grid and its ``.js``), ``terms_card`` ("What customers say") and ``kpis`` (the
KPI cards' words, also used by the reports).

Names are imported on first use, so that ``dallosh.ui.analysis.kpis`` (pure formatting) can be imported by the
reports without loading the widgets.
"""

from __future__ import annotations

import importlib
from typing import Any

_HOMES = {
    "CHARTS": "charts", "TOP_N": "charts", "short": "charts", "themed": "charts",
    "Drill": "crossfilter", "cross_mask": "crossfilter", "drill_mask": "crossfilter",
    "export_name": "exports", "labelled_corrections": "exports",
    "KPI_LABELS": "kpis", "format_delay": "kpis", "format_kpis": "kpis",
    "PlotlyChart": "plotly_chart", "figure_json": "plotly_chart", "plotly_js": "plotly_chart",
    "PAGE_SIZE": "table", "sort_order": "table", "table_page": "table", "tweet_link": "table",
    "AnalysisView": "view",
}

__all__ = sorted(_HOMES)


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)
