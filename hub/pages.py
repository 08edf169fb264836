"""What the Voilà pages of the users' servers load besides the page itself.

Voilà loads every JupyterLab extension installed beside it into every page. The plotly package installs
``jupyterlab-plotly``, which brings the whole plotly.js (a 4.7 MB chunk the page parses before it connects to its
kernel, measured: +0.5 s to every page) only to render plotly outputs of notebooks in JupyterLab; the dashboards
draw their charts with their own widget (dallosh/ui/analysis/plotly_chart.py), so the pages leave it out.
JupyterLab, for power users, keeps it.
"""

from __future__ import annotations

#: JupyterLab extensions the Voilà pages do not load (``VoilaConfiguration.extension_denylist``).
VOILA_EXTENSION_DENYLIST = ["jupyterlab-plotly"]
