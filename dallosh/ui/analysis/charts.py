"""The Analysis charts: plotly figure dicts built from ``dallosh.analytics``'s chart data, themed for the page.

Each ``chart_*`` returns ``(figure, keys)``: per trace, what each point stands for (a sentiment, a topic, a
day…), which is what a click on it filters on.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from dallosh import analytics
from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.ui.analysis.plotly_chart import CHART_HEIGHT
from dallosh.ui.analysis.table import PRIORITY_NAMES, local_time
from dallosh.ui.html import escape, fragment

#: Bars of the "top" charts (authors, critical tweets).
TOP_N = 10
SENTIMENT_COLORS = {"negative": "#c62828", "neutral": "#9e9ea6", "positive": "#2e7d32"}
PRIORITY_COLORS = ["#9e9ea6", "#f0a030", "#c62828"]
BAR_COLOR = "#c62828"
QUIET_BAR_COLOR = "#e6a3a3"
SPIKE_COLOR = "#7f0000"
#: In dark mode the quiet days are dimmed and the spikes brightened, so spikes still stand out.
DARK_COLORS = {SPIKE_COLOR: "#ff5252", QUIET_BAR_COLOR: "#7a4848"}


def daily_net_sentiment(daily: pd.DataFrame) -> np.ndarray:
    """(positive − negative) / (positive + negative) per day of ``analytics.daily_volume_and_sentiment``."""
    pos, neg = daily["positive"].to_numpy(dtype=float), daily["negative"].to_numpy(dtype=float)
    polar = pos + neg
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(polar > 0, (pos - neg) / polar, np.nan)


def short(text: str, limit: int = 48) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def plain(text: Any) -> str:
    """User text safe in plotly labels (plotly renders a subset of HTML tags, links included, and decodes entities).

    The same escaping as the templates; a label mixing text and tags is a ``fragment`` (see the critical tweets).
    """
    return str(escape(text))


def themed(figure: dict[str, Any], theme: str) -> dict[str, Any]:
    """The figure with the page's colours (transparent background, readable text and grid in both themes)."""
    dark = theme == "dark"
    text, grid, muted = ("#ececee", "#34353b", "#a9abb3") if dark else ("#1d1d1f", "#e6e6ea", "#5b5e66")
    layout = {
        "height": CHART_HEIGHT, "margin": {"l": 52, "r": 16, "t": 44, "b": 44}, "showlegend": False,
        "bargap": 0.25, "paper_bgcolor": "rgba(0,0,0,0)", "plot_bgcolor": "rgba(0,0,0,0)",
        "font": {"color": text, "size": 12, "family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif"},
        "hoverlabel": {"namelength": -1}, "legend": {"font": {"color": text}},
        **figure.get("layout", {}),
    }
    layout["title"] = {"text": layout.get("title", ""), "x": 0.01, "xanchor": "left",
                       "font": {"size": 14, "color": text}}
    for axis in [k for k in layout if k.startswith(("xaxis", "yaxis"))] or []:
        layout[axis] = {"gridcolor": grid, "zerolinecolor": grid, "linecolor": grid, "color": muted,
                        "automargin": True, **layout[axis]}
    for axis in ("xaxis", "yaxis"):
        layout.setdefault(axis, {"gridcolor": grid, "zerolinecolor": grid, "color": muted, "automargin": True})
    data = []
    for trace in figure.get("data", []):
        trace = dict(trace)
        colors = trace.get("marker", {}).get("color")
        if dark and colors is not None:  # dark red spikes would vanish on the dark background
            swap = DARK_COLORS.get
            trace["marker"] = {**trace["marker"], "color": [swap(c, c) for c in colors] if isinstance(colors, list)
                               else swap(colors, colors)}
        if trace.get("type") == "scatter" and trace.get("line", {}).get("color") == "text":
            trace["line"] = {**trace["line"], "color": text}
        if trace.get("type") == "pie":
            trace.setdefault("outsidetextfont", {"color": text})
        data.append(trace)
    return {"data": data, "layout": layout}


def count_axis(title: str, peak: float) -> dict[str, Any]:
    """An axis counting tweets: whole numbers only (plotly picks 0.5 steps for small counts, "0.5 tweets"), from 0."""
    axis: dict[str, Any] = {"title": {"text": title}, "rangemode": "tozero", "tickformat": ",d"}
    if not peak or peak <= 8:
        axis.update(tickmode="linear", tick0=0, dtick=1)
    return axis


def _peak(values: Any) -> float:
    array = np.asarray(values, dtype=float)
    return float(np.nanmax(array)) if array.size and not np.isnan(array).all() else 0.0


#: Timeline grain → (the chart's words for a bar, the date format of its hover, the chip kind of a click on it).
GRAIN_WORDS = {"hour": ("hour", "%Y-%m-%d %H:00", "at_hour"), "day": ("day", "%Y-%m-%d", "day"),
               "week": ("week", "week of %Y-%m-%d", "week"), "month": ("month", "%Y-%m", "month")}


def chart_timeline(df: pd.DataFrame, tz: str) -> tuple[dict[str, Any], list[list[Any]]]:
    """Tweets per hour, day, week or month (chosen from the range shown, see ``analytics.timeline``)."""
    series = analytics.timeline(df, tz)
    grain = series.attrs.get("grain", "day")
    word, fmt, kind = GRAIN_WORDS[grain]
    spikes = series["spike"].to_numpy(dtype=bool)
    starts = [d.strftime("%Y-%m-%d %H:%M" if grain == "hour" else "%Y-%m-%d") for d in series["day"]]
    hover = [d.strftime(fmt) for d in series["day"]]
    window = analytics.SPIKE_WINDOWS.get(grain, analytics.SPIKE_WINDOW_DAYS)
    spike_words = f" · spike (above the mean of the {window} {word}s before + 2σ)"
    figure = {
        "data": [
            {"type": "bar", "name": "tweets", "x": starts, "y": series["volume"].to_numpy(),
             "marker": {"color": np.where(spikes, SPIKE_COLOR, QUIET_BAR_COLOR).tolist()},
             "customdata": [[h, spike_words if s else ""] for h, s in zip(hover, spikes, strict=True)],
             "hovertemplate": "%{customdata[0]}: %{y} tweets%{customdata[1]}<extra></extra>"},
            {"type": "scatter", "name": "net sentiment", "x": starts, "y": daily_net_sentiment(series),
             "yaxis": "y2", "mode": "lines+markers", "line": {"color": "text", "width": 1.5},
             "marker": {"size": 4}, "connectgaps": False, "customdata": hover,
             "hovertemplate": "%{customdata}: net sentiment %{y:+.2f}<extra></extra>"},
        ],
        "layout": {"title": f"Tweets per {word}, spikes highlighted, and net sentiment",
                   "meta": {"grain": kind, "spikes": np.flatnonzero(spikes).tolist()},
                   "xaxis": {"type": "date"}, "yaxis": count_axis("tweets", _peak(series["volume"])),
                   "yaxis2": {"title": {"text": "net sentiment"}, "overlaying": "y", "side": "right",
                              "range": [-1.05, 1.05], "tickmode": "linear", "tick0": -1, "dtick": 0.5,
                              "tickformat": "+.1f", "showgrid": False, "zeroline": False},
                   "legend": {"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right"}, "showlegend": True},
    }
    return figure, [list(series["day"]), list(series["day"])]


def chart_sentiment(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    counts = analytics.sentiment_counts(df)
    text = [f"{share:.1f} %" if n else "" for n, share in zip(counts["count"], counts["share"], strict=True)]
    figure = {"data": [{"type": "pie", "labels": list(SENTIMENTS), "values": counts["count"].to_numpy(),
                        "hole": 0.45, "sort": False, "direction": "clockwise", "text": text, "textinfo": "text",
                        "marker": {"colors": [SENTIMENT_COLORS[s] for s in SENTIMENTS]},
                        "hovertemplate": "%{label}: %{value} tweets (%{percent})<extra></extra>"}],
              "layout": {"title": "Sentiment", "showlegend": True,
                         "legend": {"orientation": "h", "y": -0.05, "x": 0.5, "xanchor": "center"}}}
    return figure, [list(SENTIMENTS)]


def chart_priority(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    counts = analytics.priority_counts(df)
    figure = {"data": [{"type": "bar", "x": [f"{p} · {PRIORITY_NAMES[p]}" for p in PRIORITIES],
                        "y": counts["count"].to_numpy(), "marker": {"color": PRIORITY_COLORS},
                        "hovertemplate": "priority %{x}: %{y} tweets<extra></extra>"}],
              "layout": {"title": "Priority", "yaxis": count_axis("tweets", _peak(counts["count"]))}}
    return figure, [list(PRIORITIES)]


def chart_topics(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    topics = analytics.topic_counts(df)
    names = topics["main_topic"].tolist()
    figure = {"data": [{"type": "bar", "x": [plain(n) for n in names], "y": topics["count"].to_numpy(),
                        "marker": {"color": BAR_COLOR},
                        "customdata": topics["share"].to_numpy(),
                        "hovertemplate": "%{x}: %{y} tweets (%{customdata:.1f} %)<extra></extra>"}],
              "layout": {"title": "Topics", "yaxis": count_axis("tweets", _peak(topics["count"]))}}
    return figure, [names]


def chart_topic_sentiment(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    matrix = analytics.topic_sentiment_matrix(df)
    names = matrix.index.tolist()
    figure = {"data": [{"type": "bar", "name": s, "x": [plain(n) for n in names], "y": matrix[s].to_numpy(),
                        "marker": {"color": SENTIMENT_COLORS[s]},
                        "hovertemplate": "%{x} · " + s + ": %{y} tweets<extra></extra>"} for s in SENTIMENTS],
              "layout": {"title": "Topic × sentiment", "barmode": "stack", "showlegend": True,
                         "legend": {"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right"},
                         "yaxis": count_axis("tweets", _peak(matrix[list(SENTIMENTS)].sum(axis=1)))}}
    return figure, [names] * len(SENTIMENTS)


def chart_critical_topics(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    critical = analytics.critical_topics(df)
    critical = critical[critical["critical"] > 0]
    names = critical["main_topic"].tolist()
    figure = {"data": [{"type": "bar", "x": [plain(n) for n in names], "y": critical["critical"].to_numpy(),
                        "marker": {"color": BAR_COLOR}, "customdata": critical["critical_share"].to_numpy(),
                        "hovertemplate": "%{x}: %{y} critical tweets (%{customdata:.1f} % of the topic)"
                                         "<extra></extra>"}],
              "layout": {"title": "Critical topics (negative and priority 2)",
                         "yaxis": count_axis("critical tweets", _peak(critical["critical"]))}}
    return figure, [names]


def chart_engagement(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    engagement = analytics.engagement_by_sentiment(df)
    figure = {"data": [{"type": "bar", "x": list(SENTIMENTS),
                        "y": engagement["median_engagement"].fillna(0).to_numpy(),
                        "marker": {"color": [SENTIMENT_COLORS[s] for s in SENTIMENTS]},
                        "customdata": engagement["engagement"].to_numpy(),
                        "hovertemplate": "%{x}: median %{y:g} interactions per tweet, %{customdata} in total"
                                         "<extra></extra>"}],
              "layout": {"title": "Engagement by sentiment (median per tweet)",
                         "yaxis": {"title": {"text": "interactions per tweet"}}}}
    return figure, [list(SENTIMENTS)]


def chart_hours(df: pd.DataFrame, tz: str) -> tuple[dict[str, Any], list[list[Any]]]:
    hours = analytics.hour_of_day_activity(df, tz)
    figure = {"data": [
        {"type": "bar", "name": "tweets", "x": list(range(24)), "y": hours["tweets"].to_numpy(),
         "marker": {"color": QUIET_BAR_COLOR}, "hovertemplate": "%{x} h: %{y} tweets<extra></extra>"},
        {"type": "scatter", "name": "% negative", "x": list(range(24)), "y": hours["negative_share"].to_numpy(),
         "yaxis": "y2", "mode": "lines", "line": {"color": BAR_COLOR, "width": 2},
         "hovertemplate": "%{x} h: %{y:.0f} % negative<extra></extra>"}],
        "layout": {"title": f"Activity by hour of day ({tz})",
                   "xaxis": {"dtick": 2, "title": {"text": "hour"}},
                   "yaxis": count_axis("tweets", _peak(hours["tweets"])),
                   "yaxis2": {"title": {"text": "% negative"}, "overlaying": "y", "side": "right",
                              "range": [0, 100], "tickmode": "linear", "tick0": 0, "dtick": 25,
                              "ticksuffix": " %", "showgrid": False},
                   "legend": {"orientation": "h", "y": 1.1, "x": 1, "xanchor": "right"}, "showlegend": True}}
    return figure, [list(range(24))] * 2


def chart_authors(df: pd.DataFrame) -> tuple[dict[str, Any], list[list[Any]]]:
    authors = analytics.top_authors(df, TOP_N)
    figure = {"data": [{"type": "bar", "orientation": "h", "y": [plain(f"@{a}") for a in authors["screen_name"]],
                        "x": authors["tweets"].to_numpy(), "marker": {"color": BAR_COLOR},
                        "customdata": [f"{n} negative, engagement {e}" for n, e in
                                       zip(authors["negative"], authors["engagement"], strict=True)],
                        "hovertemplate": "%{y}: %{x} tweets, %{customdata}<extra></extra>"}],
              "layout": {"title": f"Top {TOP_N} authors", "height": 360, "yaxis": {"autorange": "reversed"},
                         "xaxis": count_axis("tweets", _peak(authors["tweets"]))}}
    return figure, [authors["screen_name"].tolist()]


def chart_critical_tweets(df: pd.DataFrame, tz: str, full: pd.DataFrame | None = None
                          ) -> tuple[dict[str, Any], list[list[Any]]]:
    """``df`` may lack the texts (the view's slim selection): they are then read from ``full`` by position."""
    texts = None
    if "full_text" not in df and full is not None and "full_text" in full:
        column = full["full_text"]
        texts = lambda positions: column.take(df.index.take(positions)).tolist()  # noqa: E731
    top = analytics.top_critical_tweets(df, TOP_N, texts)
    if "full_text" in top:
        texts = top["full_text"].astype(str).tolist()
    else:
        ids = top["id"].astype(str).tolist()
        chosen = df.index[df["id"].isin(set(ids)).to_numpy(dtype=bool)].to_numpy()
        found = dict(zip(full["id"].take(chosen).astype(str), full["full_text"].take(chosen).astype(str),
                         strict=True)) if full is not None and "full_text" in full else {}
        texts = [found.get(i, "") for i in ids]
    authors = top["screen_name"].astype(str).tolist()
    labels = [plain(f"{i + 1}. @{a}: {short(text, 44)}") for i, (a, text) in
              enumerate(zip(authors, texts, strict=True))]
    hover = [str(fragment("@{{ author }} · {{ when }}<br>{{ text }}<br>engagement {{ engagement }}", author=a,
                          when=local_time(d, tz), text=short(text, 90), engagement=e))
             for a, d, text, e in zip(authors, top["created_at"], texts, top["engagement"], strict=True)]
    figure = {"data": [{"type": "bar", "orientation": "h", "y": labels, "x": top["engagement"].to_numpy(),
                        "marker": {"color": BAR_COLOR}, "customdata": hover,
                        "hovertemplate": "%{customdata}<extra></extra>"}],
              "layout": {"title": f"Top {TOP_N} critical tweets by engagement (negative and priority 2)",
                         "height": 380, "yaxis": {"autorange": "reversed"},
                         "xaxis": {"title": {"text": "engagement (likes + retweets + replies + quotes)"}}}}
    return figure, [top["id"].astype(str).tolist()]


#: Chart name → (builder, takes the time zone, spans both columns); in display order.
CHARTS: dict[str, tuple[Callable[..., tuple[dict[str, Any], list[list[Any]]]], bool, bool]] = {
    "timeline": (chart_timeline, True, True),
    "sentiment": (chart_sentiment, False, False),
    "priority": (chart_priority, False, False),
    "topics": (chart_topics, False, False),
    "topic_sentiment": (chart_topic_sentiment, False, False),
    "critical_topics": (chart_critical_topics, False, False),
    "engagement": (chart_engagement, False, False),
    "hours": (chart_hours, True, False),
    "authors": (chart_authors, False, False),
    "critical_tweets": (chart_critical_tweets, True, True),
}
