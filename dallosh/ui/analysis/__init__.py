"""Analysis: KPIs, charts and tweets of one or several analysed datasets, with label corrections.

The package: ``view`` (the page and its flow), ``charts`` (plotly figures), ``plotly_chart`` (the chart widget
and its ``.js``), ``table`` (the tweets grid and its ``.js``), ``crossfilter`` (chart clicks as filters),
``kpis`` (the KPI cards), ``exports`` (corrections as a labelled set, file names).
"""

from dallosh.ui.analysis.charts import CHARTS, TOP_N, short, themed
from dallosh.ui.analysis.crossfilter import Drill, drill_mask
from dallosh.ui.analysis.exports import export_name, labelled_corrections
from dallosh.ui.analysis.kpis import KPI_LABELS, format_delay, format_kpis
from dallosh.ui.analysis.plotly_chart import PlotlyChart, figure_json, plotly_js
from dallosh.ui.analysis.table import PAGE_SIZE, sort_order, table_page, tweet_link
from dallosh.ui.analysis.view import AnalysisView

__all__ = ["CHARTS", "KPI_LABELS", "PAGE_SIZE", "TOP_N", "AnalysisView", "Drill", "PlotlyChart", "drill_mask",
           "export_name", "figure_json", "format_delay", "format_kpis", "labelled_corrections", "plotly_js",
           "short", "sort_order", "table_page", "themed", "tweet_link"]
