"""``PlotlyChart``: one plotly figure as a small anywidget whose clicks reach the kernel.

Why not ``go.FigureWidget``: it ships plotly's whole front-end (5 MB) as the ``_esm`` of EVERY figure — ten
charts were 54 MB on the websocket and 45 s before the page showed — and anywidget holds a model's messages
until its ``initialize`` ends (2 s limit), so the module cannot be fetched once and shared from there.
``PlotlyChart`` is a small anywidget instead (its front-end is ``plotly_chart.js``): the kernel builds each
figure as plotly JSON (``spec``, the whole state, so a late render never misses an update), the first chart of
the page asks the kernel for plotly.js once (one binary message), and clicks come back as
``{type: "click", curve, point}``.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from datetime import date, datetime
from functools import cache
from pathlib import Path
from typing import Any

import anywidget
import numpy as np
import pandas as pd
import traitlets as t

log = logging.getLogger(__name__)

CHART_HEIGHT = 330

#: Every trace type the charts draw (``charts.py``): all of them are in plotly.js's "basic" partial bundle.
TRACE_TYPES = frozenset({"scatter", "bar", "pie"})
#: That bundle (1.2 MB instead of the full 4.8 MB), installed by npm (package.json) at the version of the plotly
#: package's own copy. The page runs it on its main thread while a shared view's numbers arrive: the full bundle
#: held them back by about a second (measured: KPIs computed by the kernel at 2.42 s, shown at 3.37 s).
BASIC_BUNDLE = Path("plotly.js-basic-dist-min") / "plotly-basic.min.js"


def node_modules_dirs() -> list[Path]:
    """Where npm packages are looked for, as Node does: the project's ``node_modules``, then ``NODE_PATH`` (the
    image installs them outside the Python package, docker/Dockerfile)."""
    from dallosh.config import PROJECT_ROOT

    return [PROJECT_ROOT / "node_modules",
            *(Path(p) for p in os.environ.get("NODE_PATH", "").split(os.pathsep) if p)]


def full_plotly_js() -> Path:
    """The full plotly.js shipped in the plotly package (its offline copy)."""
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@cache
def plotly_js() -> bytes:
    """The plotly.js the charts load: the basic bundle, or the plotly package's full one when npm's packages are
    not installed (the charts work, the page opens slower). Nothing is fetched from the internet."""
    for folder in node_modules_dirs():
        if (folder / BASIC_BUNDLE).is_file():
            return (folder / BASIC_BUNDLE).read_bytes()
    log.warning("%s is not installed (npm install): the charts load plotly's full bundle, which makes the "
                "Analysis page about a second slower to show its numbers", BASIC_BUNDLE.parent)
    return full_plotly_js().read_bytes()


def _json_default(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return None if np.isnan(value) else float(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp | datetime | date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def figure_json(figure: dict[str, Any]) -> str:
    """Plotly JSON of a figure dict; NaN (a day without polar tweets) becomes a gap (null)."""
    def clean(value: Any) -> Any:
        if isinstance(value, float) and value != value:
            return None
        if isinstance(value, np.ndarray) and value.dtype.kind == "f":
            return [None if v != v else v for v in value.tolist()]
        if isinstance(value, dict):
            return {k: clean(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [clean(v) for v in value]
        return value

    return json.dumps(clean(figure), default=_json_default, ensure_ascii=False, allow_nan=False)


class PlotlyChart(anywidget.AnyWidget):
    """One plotly figure; ``on_click(trace, point)`` runs in the kernel when a segment is clicked."""

    _esm = Path(__file__).with_name("plotly_chart.js").read_text(encoding="utf-8")
    spec = t.Unicode("{}").tag(sync=True)
    config = t.Dict({}).tag(sync=True)
    height = t.Int(CHART_HEIGHT).tag(sync=True)

    def __init__(self, name: str, on_click: Callable[[str, int, int], None] | None = None, **kwargs: Any):
        super().__init__(**kwargs)
        self.name = name
        self.on_click = on_click
        self.figure: dict[str, Any] = {}
        #: Per trace, what each point stands for (a sentiment, a topic, a day…): what a click on it means.
        self.point_keys: list[list[Any]] = []  # (``keys`` is ipywidgets' list of synced traits)
        self.config = {"displaylogo": False, "responsive": True,
                       "modeBarButtonsToRemove": ["lasso2d", "select2d", "toImage", "autoScale2d"]}
        self.on_msg(lambda _w, content, buffers: self.handle(content, buffers))

    def show(self, figure: dict[str, Any], keys: list[list[Any]]) -> None:
        self.figure, self.point_keys = figure, keys
        self.height = int(figure.get("layout", {}).get("height", CHART_HEIGHT))
        self.spec = figure_json(figure)

    def handle(self, content: dict[str, Any], buffers: list[Any] | None = None) -> None:
        """A message from the page: plotly.js wanted, or a click."""
        kind = content.get("type") if isinstance(content, dict) else None
        if kind == "need-plotly-js":
            self.send({"type": "plotly-js"}, buffers=[plotly_js()])
        elif kind == "click" and self.on_click is not None:
            try:
                self.on_click(self.name, int(content.get("curve", 0)), int(content.get("point", -1)))
            except (TypeError, ValueError):
                log.warning("ignored a malformed click on chart %s: %r", self.name, content)
