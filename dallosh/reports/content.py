"""A report's content as data, built once from the services and turned into HTML or PDF by the renderers (and,
later, by alerts and scheduled e-mails).

Every number is the Analysis page's for the same datasets and filters: the rows are ``services.results.corrected``
(the caller's read permission checked, label corrections applied), selected by ``analytics.apply_filters`` with
the dashboards' default filters and the period's dates, and measured by the same ``analytics`` calls; the KPI cards
are worded by Analysis's own ``format_kpis``/``change_line``, compared with the previous period of the same length.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from dallosh import analytics
from dallosh.analytics import periods, spikes
from dallosh.errors import NotFound, ValidationError
from dallosh.reports.period import Period
from dallosh.services import Actor, Services
from dallosh.services.results import DEFAULT_SCOPE
from dallosh.storage import ANALYSED

#: Spikes explained in a report, the largest excess first: an alert names a handful, not every topic's blip.
MAX_SPIKES = 5
#: Critical tweets listed (Analysis's "critical tweets" chart shows as many).
CRITICAL_TWEETS = 10
#: Datasets read per page when looking names up (the files service's page size limit is far above).
LIST_PAGE = 200
#: The KPI cards of a report, in Analysis's order.
CARD_KEYS = ("volume", "negative_share", "net_sentiment", "high_priority_count", "median_first_reply_time",
             "engagement_median")


@dataclass(frozen=True)
class Dataset:
    uid: str
    name: str


@dataclass(frozen=True)
class Card:
    """A KPI card as Analysis shows it; ``arrow``/``change``/``tone`` are empty when nothing is compared."""

    key: str
    label: str
    value: str
    subtitle: str
    arrow: str = ""
    change: str = ""
    tone: str = "neutral"


@dataclass(frozen=True)
class Bar:
    """One bar of a distribution: ``share`` in % (of the chart's total)."""

    label: str
    count: int
    share: float


@dataclass(frozen=True)
class TimelinePoint:
    """One period (hour, day, week or month, local time) of the timeline: tweets by sentiment; ``spike`` as the
    Analysis page marks it (volume above its trailing window's mean + 2 standard deviations)."""

    start: datetime
    volume: int
    negative: int
    neutral: int
    positive: int
    spike: bool = False


@dataclass(frozen=True)
class ReportContent:
    """Everything a report shows; renderers only lay it out."""

    title: str
    author: str
    generated_at: datetime
    tz: str
    datasets: tuple[Dataset, ...]
    period: Period
    previous: Period
    scope: str
    grain: str
    kpis: dict[str, Any]
    previous_kpis: dict[str, Any]
    changes: dict[str, periods.Change]
    cards: tuple[Card, ...]
    sentiments: tuple[Bar, ...]
    priorities: tuple[Bar, ...]
    topics: tuple[Bar, ...]
    spikes: tuple[spikes.SpikeExplanation, ...]
    critical: tuple[dict[str, Any], ...]
    notes: tuple[str, ...] = field(default=())
    #: Tweets per ``grain`` by sentiment over the period (Analysis's timeline for the same rows).
    timeline: tuple[TimelinePoint, ...] = field(default=())


def _all_datasets(services: Services, actor: Actor) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = []
    while True:
        page = services.files.list(actor, skip=len(items), limit=LIST_PAGE)
        items.extend(page.items)
        if not page.items or len(items) >= page.total:
            return items


def resolve_datasets(services: Services, actor: Actor, wanted: Sequence[str] | None) -> tuple[Dataset, ...]:
    """The analysed datasets named by file name or id (``None``: every analysed dataset the actor may read).

    Raises NotFound for a name that matches nothing or a dataset not analysed yet, ValidationError for a file
    name that several datasets share (their ids are given to choose from).
    """
    items = _all_datasets(services, actor)
    analysed = [i for i in items if i["available"].get(ANALYSED)]
    if wanted is None:
        if not analysed:
            raise NotFound("No dataset has been analysed yet: process one first, then ask for the report again.")
        return tuple(Dataset(i["file"].uid, i["file"].data.filename) for i in reversed(analysed))
    chosen: list[Dataset] = []
    for name in wanted:
        matches = [i for i in items if i["file"].uid == name] or [
            i for i in items if i["file"].data.filename.casefold() == name.strip().casefold()]
        if not matches:
            raise NotFound(f"No dataset is named {name!r}. Give a file name or id from the datasets page.")
        if len(matches) > 1:
            ids = ", ".join(i["file"].uid for i in matches)
            raise ValidationError("datasets", f"name {name!r} matches {len(matches)} datasets: give one of "
                                              f"their ids instead ({ids}).")
        item = matches[0]
        if not item["available"].get(ANALYSED):
            raise NotFound(f"The dataset {item['file'].data.filename!r} is not analysed yet (its task is "
                           f"{item['status']}): process it first.")
        chosen.append(Dataset(item["file"].uid, item["file"].data.filename))
    return tuple(dict.fromkeys(chosen))


def _cards(k: dict[str, Any], loaded: int, changes: dict[str, periods.Change], days: int) -> tuple[Card, ...]:
    from dallosh.ui.analysis.kpis import KPI_LABELS, change_line, format_kpis

    compared = f"the previous {days} day{'s' if days > 1 else ''}"
    cards = []
    for key, (value, subtitle) in format_kpis(k, loaded).items():
        line = change_line(key, changes.get(key), compared) or {}
        cards.append(Card(key, KPI_LABELS[key], value, subtitle, line.get("arrow", ""), line.get("text", ""),
                          line.get("tone", "neutral")))
    return tuple(sorted(cards, key=lambda c: CARD_KEYS.index(c.key) if c.key in CARD_KEYS else len(CARD_KEYS)))


def _bars(frame: pd.DataFrame, label: str) -> tuple[Bar, ...]:
    return tuple(Bar(str(row[label]), int(row["count"]), float(row["share"])) for row in frame.to_dict("records"))


def _explained_spikes(frame: pd.DataFrame, filters: analytics.Filters, period: Period, tz: str, grain: str,
                      topics: Sequence[str]) -> tuple[spikes.SpikeExplanation, ...]:
    """The spikes inside the period for every tweet, the negative ones and each topic, the largest excess first,
    each explained against its trailing window (the rows before the period are read for that window)."""
    first = spikes.period_floor(period.start, grain) - spikes.shift(grain, analytics.SPIKE_WINDOWS[grain])
    rows = analytics.apply_filters(frame, periods.with_dates(filters, first.date(), period.end))
    found: list[spikes.Spike] = []
    for scope in ("all", "negative", *(("topic", t) for t in topics)):
        found += [s for s in spikes.spikes(rows, tz, scope=scope, grain=grain)
                  if period.start <= s.start.date() <= period.end]
    found.sort(key=lambda s: (-(s.volume - s.expected), s.start))
    if not found:
        return ()
    index = analytics.build_term_index(rows["full_text"])
    return tuple(spikes.explain_spike(rows, tz, s.start, grain, scope=s.scope, index=index)
                 for s in found[:MAX_SPIKES])


def _timeline(frame: pd.DataFrame, filters: analytics.Filters, period: Period, tz: str,
              grain: str) -> tuple[TimelinePoint, ...]:
    """The period's timeline; the rows of the trailing window before it are read so that its spikes are the ones
    the report explains."""
    first = spikes.period_floor(period.start, grain) - spikes.shift(grain, analytics.SPIKE_WINDOWS[grain])
    rows = analytics.apply_filters(frame, periods.with_dates(filters, first.date(), period.end))
    series = analytics.timeline(rows, tz, grain)
    series = series[series["day"] >= spikes.period_floor(period.start, grain)]
    return tuple(TimelinePoint(pd.Timestamp(row["day"]).to_pydatetime(), int(row["volume"]), int(row["negative"]),
                               int(row["neutral"]), int(row["positive"]), bool(row["spike"]))
                 for row in series.to_dict("records"))


def describe_filters(filters: analytics.Filters) -> str:
    """What the report counts, in words: the default scope, or which tweets the filters keep."""
    if filters == dataclasses.replace(analytics.Filters(), tz=filters.tz, date_from=filters.date_from,
                                      date_to=filters.date_to):
        return DEFAULT_SCOPE
    kept = [f"{' or '.join(f.sentiments)} sentiment" if (f := filters).sentiments is not None else "",
            "priority " + " or ".join(str(p) for p in filters.priorities) if filters.priorities is not None else "",
            "topic " + " or ".join(filters.topics) if filters.topics is not None else "",
            f"containing “{filters.search}”" if filters.search else "",
            "retweets left out" if not filters.include_retweets else ""]
    who = ("tweets (the operator's own replies included)" if filters.include_operator
           else "customer tweets (the operator's own accounts left out)")
    chosen = ", ".join(k for k in kept if k)
    return f"{who}{': ' + chosen if chosen else ''}; label corrections included"


def build_report(services: Services, actor: Actor, period: Period, *, datasets: Sequence[str] | None = None,
                 filters: analytics.Filters | None = None, now: datetime | None = None,
                 tz: str | None = None) -> ReportContent:
    """The report of ``datasets`` (names or ids; None: every analysed one) over ``period`` for ``actor``.

    ``filters`` are the filter bar's choices (default: every customer tweet); their dates are replaced by the
    period's. ``tz`` cuts the days (a scheduled report's own time zone; default the app's). Raises the services'
    errors (PermissionDenied, NotFound, ValidationError) as they are.
    """
    chosen = resolve_datasets(services, actor, datasets)
    tz = tz or services.settings.general().timeZone
    frame = services.results.corrected(actor, [d.uid for d in chosen], names={d.uid: d.name for d in chosen})
    scope = describe_filters(filters or analytics.Filters())
    filters = dataclasses.replace(filters or analytics.Filters(), tz=tz, date_from=period.start, date_to=period.end)
    selected = analytics.apply_filters(frame, filters)
    previous = period.previous()
    before = analytics.apply_filters(frame, periods.with_dates(filters, previous.start, previous.end))
    k = analytics.kpis(selected, replies_from=frame)
    k_before = analytics.kpis(before, replies_from=frame)
    changes = periods.kpi_changes(k, k_before)  # durations compared in seconds
    grain = analytics.choose_grain(period.days)
    topics = analytics.topic_counts(selected)
    critical = analytics.top_critical_tweets(selected, CRITICAL_TWEETS)
    when = now or services.now()
    names = ", ".join(d.name for d in chosen)
    notes: tuple[str, ...] = ()
    spans = analytics.data_range(frame, tz)
    if selected.empty and spans is not None:
        notes = (f"No tweet of {names} falls in {period.label}: their tweets run from {spans[0]} to {spans[1]}. "
                 "Upload and analyse newer exports, or choose a period in that range.",)
    return ReportContent(
        title=f"Customer tweets report — {period.label}",
        author=actor.email,
        generated_at=pd.Timestamp(when).tz_convert(tz).to_pydatetime() if pd.Timestamp(when).tzinfo else when,
        tz=tz,
        datasets=chosen,
        period=period,
        previous=previous,
        scope=f"{names}: {scope}",
        grain=grain,
        kpis=k,
        previous_kpis=k_before,
        changes=changes,
        cards=_cards(k, len(frame), changes, period.days),
        sentiments=_bars(analytics.sentiment_counts(selected), "sentiment"),
        priorities=_bars(analytics.priority_counts(selected), "priority"),
        topics=_bars(topics, "main_topic"),
        spikes=_explained_spikes(frame, filters, period, tz, grain, topics["main_topic"].tolist()),
        critical=tuple(critical.to_dict("records")),
        timeline=_timeline(frame, filters, period, tz, grain),
        notes=notes,
    )
