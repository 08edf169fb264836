"""What a firing says, in words: its title, the value against the threshold, the period, the link that opens
Analysis on it, and the e-mail (HTML + text) and webhook text built from them.

HTML goes through a Jinja2 environment with autoescape (rule names and tweets are user input); the plain-text
e-mail through one without (it is not HTML); the webhook text escapes what Slack's markup gives a meaning to
(``<``, ``>``, ``&``: a tweet must not become a link or an ``@channel`` mention in the team's channel), which
``dallosh.delivery.webhook_body`` does.
"""

from __future__ import annotations

from typing import Any

import jinja2
import pandas as pd

from dallosh.reports.layout import COLORS, KIND_TITLES
from dallosh.schemas.alerts import METRICS

_LOADER = jinja2.PackageLoader("dallosh.alerts", "templates")
_html = jinja2.Environment(loader=_LOADER, autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True,
                           lstrip_blocks=True, auto_reload=False)
_text = jinja2.Environment(loader=_LOADER, autoescape=False, undefined=jinja2.StrictUndefined, trim_blocks=True,
                           lstrip_blocks=True, auto_reload=False, keep_trailing_newline=True)
#: Notebook of the Analysis page, relative to a user's server root (through the hub's user-redirect).
ANALYSIS_NOTEBOOK = "voila/render/home/analysis.ipynb"
#: Characters of a tweet quoted in a webhook message (chat clients fold long messages anyway).
WEBHOOK_TWEET_CHARS = 280


def metric_words(metric: str, topic: str = "") -> str:
    """"negative tweets", "tweets about Réseau", "high-priority tweets", "net sentiment"."""
    if metric == "topic_volume":
        return f"tweets about {topic}"
    return METRICS.get(metric, metric).lower() if metric != "net_sentiment" else "net sentiment"


def number(value: float | None, metric: str) -> str:
    """A value of the metric as shown: a count of tweets, or the net sentiment with its sign."""
    if value is None or pd.isna(value):
        return "–"
    if metric == "net_sentiment":
        return f"{value:+.2f}"
    return f"{value:.1f}" if value != round(value) else f"{int(round(value))}"


def period_words(period: str, grain: str) -> str:
    """"2025-10-20" or "2025-10-20 14:00–15:00" from a stored period key."""
    if grain == "hour":
        start = pd.Timestamp(period)
        return f"{start:%Y-%m-%d %H:00}–{start + pd.Timedelta(hours=1):%H:00}"
    return period


def threshold_words(f: dict[str, Any]) -> str:
    """How the threshold was set: "12.4 (mean 6.1 + 2 σ, σ = 3.15, over the 7 days before)" or "a fixed 50"."""
    metric, grain, k, window = f["metric"], f["grain"], f.get("k"), f.get("window")
    if f["threshold_kind"] == "fixed" or f.get("mean") is None:
        return f"a fixed {number(f['threshold'], metric)}"
    sign = "+" if f["direction"] == "above" else "−"
    sigmas = f" {k:g}" if k is not None else ""
    over = f", over the {window} {grain}s before" if window else ", over the previous periods"
    return (f"{number(f['threshold'], metric)} (mean {number(f['mean'], metric)} {sign}{sigmas} σ, "
            f"σ = {f['std']:.2f}{over})")


def title(f: dict[str, Any]) -> str:
    """"Réseau outage: negative tweets above the threshold on 2025-10-20"."""
    return (f"{f['rule_name']}: {metric_words(f['metric'], f['topic'])} {f['direction']} the threshold on "
            f"{period_words(f['period'], f['grain'])}")


def summary(f: dict[str, Any]) -> str:
    """"41 negative tweets against a threshold of 12.4."."""
    words = metric_words(f["metric"], f["topic"])
    if f["metric"] == "net_sentiment":
        return f"Net sentiment {number(f['value'], 'net_sentiment')} against a threshold of " \
               f"{number(f['threshold'], 'net_sentiment')}."
    return f"{number(f['value'], f['metric'])} {words} against a threshold of {number(f['threshold'], f['metric'])}."


def analysis_state(f: dict[str, Any]) -> Any:
    """The Analysis page's state for the firing: its datasets, the period's day (and its hour, as a chip, for an
    hourly rule), and the metric's filter."""
    from dallosh.ui.analysis.crossfilter import make_drill
    from dallosh.ui.analysis.state import ViewState

    start = pd.Timestamp(f["period"])
    day = start.date()
    extra: dict[str, Any] = {}
    if f.get("grain") == "hour":
        extra["drills"] = (make_drill("at_hour", start.floor("h"), f.get("tz") or "UTC"),)
    if f["metric"] in ("negative_volume", "net_sentiment"):
        extra["sentiment"] = "negative"
    elif f["metric"] == "topic_volume":
        extra["topic"] = f["topic"]
    elif f["metric"] == "high_priority":
        extra["priority"] = 2
    return ViewState(datasets=tuple(f["datasets"]), date_from=day, date_to=day, **extra)


def analysis_link(f: dict[str, Any], hub_url: str) -> str:
    """The address that opens Analysis on the firing's day for whoever follows it (their own server)."""
    return f"{hub_url.rstrip('/')}/hub/user-redirect/{ANALYSIS_NOTEBOOK}#{analysis_state(f).to_fragment()}"


def alerts_link(hub_url: str) -> str:
    return f"{hub_url.rstrip('/')}/hub/user-redirect/voila/render/home/alerts.ipynb"


def rise_rows(explanation: dict[str, Any]) -> list[tuple[str, list[dict[str, Any]]]]:
    """(title, rows) of the terms, hashtags and topics that rose, with their share of the rise in %."""
    out = []
    for kind in ("terms", "hashtags", "topics"):
        items = explanation.get(kind) or []
        if items:
            out.append((KIND_TITLES[kind[:-1]], [{**r, "share_pct": round(100 * r["share"]),
                                                  "expected_text": f"{r['expected']:.1f}"} for r in items]))
    return out


def tweet_line(tweet: dict[str, Any], tz: str) -> str:
    """"@client3 · 2025-10-20 12:05 · Réseau · 14 interactions"."""
    when = ""
    if tweet.get("created_at"):
        when = pd.Timestamp(tweet["created_at"]).tz_convert(tz).strftime("%Y-%m-%d %H:%M")
    parts = [f"@{tweet['screen_name']}" if tweet.get("screen_name") else "", when, tweet.get("main_topic") or "",
             f"{int(tweet.get('engagement') or 0)} interactions"]
    return " · ".join(p for p in parts if p)


def explanation_summary(f: dict[str, Any]) -> str:
    e = f.get("explanation") or {}
    if not e or e.get("expected") is None:
        return "Too little history before this period to say what rose."
    per = f["grain"]
    return (f"{e['volume']} tweets counted for the explanation against {e['expected']:.1f} per {per} over the "
            f"{e['baseline_periods']} {per}s before: {e['excess']:.0f} extra.")


def _values(f: dict[str, Any], hub_url: str) -> dict[str, Any]:
    return {"f": f, "title": title(f), "summary": summary(f), "threshold": threshold_words(f),
            "datasets": ", ".join(f.get("dataset_names") or []), "period": period_words(f["period"], f["grain"]),
            "explained": explanation_summary(f), "rises": rise_rows(f.get("explanation") or {}),
            "tweets": [{"text": t["full_text"], "line": tweet_line(t, f.get("tz") or "UTC")}
                       for t in (f.get("explanation") or {}).get("tweets", [])],
            "analysis_link": analysis_link(f, hub_url), "alerts_link": alerts_link(hub_url), "c": COLORS}


def email_html(f: dict[str, Any], hub_url: str) -> str:
    """The alert e-mail as one HTML document (styles inline, no script), every value escaped."""
    return _html.get_template("alert_email.html").render(**_values(f, hub_url))


def email_text(f: dict[str, Any], hub_url: str) -> str:
    """The alert e-mail's plain-text part."""
    return _text.get_template("alert_email.txt").render(**_values(f, hub_url))


def webhook_payload(f: dict[str, Any], hub_url: str) -> dict[str, Any]:
    """The JSON body Slack and Teams webhooks accept (``dallosh.delivery.webhook_body``, which escapes the
    texts): the title, the value against the threshold, what rose, two tweets, facts and the Analysis link."""
    from dallosh.delivery import webhook_body

    lines = [summary(f)]
    for heading, rows in rise_rows(f.get("explanation") or {}):
        lines.append(f"{heading} that rose: " + ", ".join(f"{r['label']} ({r['share_pct']} % of the rise)"
                                                         for r in rows[:5]))
    for tweet in (f.get("explanation") or {}).get("tweets", [])[:2]:
        text = " ".join(tweet["full_text"].split())
        if len(text) > WEBHOOK_TWEET_CHARS:
            text = text[:WEBHOOK_TWEET_CHARS - 1] + "…"
        lines.append(f"“{text}”")
    facts = {"Period": f"{period_words(f['period'], f['grain'])} ({f.get('tz') or 'UTC'})",
             "Threshold": threshold_words(f), "Datasets": ", ".join(f.get("dataset_names") or [])}
    data = {"rule": f["rule_name"], "metric": f["metric"], "topic": f["topic"], "period": f["period"],
            "grain": f["grain"], "value": f["value"], "threshold": f["threshold"], "direction": f["direction"]}
    return webhook_body(title(f), "\n".join(lines), facts=facts, link=analysis_link(f, hub_url), data=data)
