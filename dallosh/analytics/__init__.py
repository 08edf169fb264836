"""Analytics on analysed datasets: typed loading, filters, KPIs, chart data, corrections and safe export.

Pure functions on pandas frames, shared by the dashboards and by power users in notebooks: no database, no
widgets, no plotting, and no I/O except :func:`load_analysed` (and the ``to_*_bytes`` helpers, which return
bytes instead of writing files).

An analysed CSV holds the 22 export columns as strings, the cleaning flags (``is_retweet``, ``is_operator``,
``is_engagement_outlier``, ``engagement``) and the labels (``sentiment``, ``priority``, ``main_topic``,
``labelled_by``). :func:`load_analysed` turns one or several of them into ONE typed frame:

* ``created_at``: ``datetime64[us, UTC]``; naive timestamps (the export's ``YYYY-MM-DD HH:MM:SS``) are UTC;
  ISO 8601, Twitter API (``Wed Oct 10 20:19:24 +0000 2018``) and French ``DD/MM/YYYY[ HH:MM[:SS]]`` are
  accepted as fallbacks; anything else is ``NaT`` (those rows are left out of every per-day/per-hour chart
  and of date filters, but still count in volumes).
* counts (``*_count``, ``engagement``): ``int64``; blank, non-numeric or negative → 0.
* flags (``is_*``, ``favorited``, ``retweeted``, ``bookmarked``): ``bool``.
* ``priority``: ``int8`` in {0, 1, 2}; an invalid value → 0 (so bad labels never inflate alerts).
* ``sentiment``: categorical on ``negative/neutral/positive``; ``main_topic``: categorical; unknown → NaN.
* ids (``id``, ``user_id``, ``in_reply_to``, ``retweeted_status``, ``quoted_status``): exact strings.
* repetitive strings (``screen_name``, ``name``, avatars, media, ``labelled_by``) and ``dataset``: categorical.

Definitions used by every KPI (they are also in each function's docstring):

* a *critical* tweet is ``sentiment == "negative"`` and ``priority == 2``;
* ``engagement`` = likes + retweets + replies + quotes of one tweet (cleaning's definition; views and
  bookmarks are not public interactions and are missing from many exports);
* shares are percentages (0–100) of the rows that have a sentiment label.

Modules (everything is re-exported here, so ``from dallosh import analytics; analytics.kpis(...)`` is the API):

* :mod:`~dallosh.analytics.load` — :func:`load_analysed`, :func:`parse_created_at`;
* :mod:`~dallosh.analytics.filters` — :class:`Filters`, :func:`apply_filters`, the accent-insensitive search;
* :mod:`~dallosh.analytics.kpi` — the headline KPIs (:func:`kpis`);
* :mod:`~dallosh.analytics.series` — volume and sentiment over time (:func:`timeline`), hour of day;
* :mod:`~dallosh.analytics.charts` — distributions, topic × sentiment, top authors and critical tweets;
* :mod:`~dallosh.analytics.periods` — date presets, the previous period and how each KPI moved;
* :mod:`~dallosh.analytics.terms` — the top terms and hashtags of a selection (:func:`top_terms`);
* :mod:`~dallosh.analytics.spikes` — the spikes of a scope (``analytics.spikes.spikes``: the module keeps its
  name here) and what rose in one (:func:`explain_spike`);
* :mod:`~dallosh.analytics.corrections` — :func:`apply_corrections`;
* :mod:`~dallosh.analytics.export` — spreadsheet-safe CSV and XLSX bytes.
"""

from __future__ import annotations

import dallosh.tables  # noqa: F401 (text columns as Python strings, before any frame is built)
from dallosh.analytics.charts import (
    CRITICAL_TWEET_COLUMNS,
    critical_topics,
    engagement_by_sentiment,
    priority_counts,
    sentiment_counts,
    text_key,
    top_authors,
    top_critical_tweets,
    topic_counts,
    topic_sentiment_matrix,
)
from dallosh.analytics.corrections import CORRECTABLE_FIELDS, apply_corrections
from dallosh.analytics.export import XLSX_DATE_FORMAT, XLSX_MAX_ROWS, export_frame, to_csv_bytes, to_xlsx_bytes
from dallosh.analytics.filters import DateLike, Filters, apply_filters, fold_text, search_mask, search_pattern
from dallosh.analytics.kpi import (
    CRITICAL_PRIORITY,
    engagement_median,
    engagement_outlier_count,
    engagement_rate,
    first_reply_delays,
    high_priority_count,
    kpis,
    median_first_reply_time,
    negative_share,
    net_sentiment,
    volume,
)
from dallosh.analytics.load import (
    CATEGORY_COLUMNS,
    COUNT_COLUMNS,
    CREATED_AT_FORMAT,
    FALLBACK_FORMATS,
    FLAG_COLUMNS,
    ID_COLUMNS,
    LOAD_CHUNK_ROWS,
    REFERENCE_ID_COLUMNS,
    Source,
    load_analysed,
    parse_created_at,
)
from dallosh.analytics.periods import (
    HIGHER_IS_BETTER,
    PRESETS,
    Change,
    compare,
    data_range,
    kpi_changes,
    preset_range,
    previous_range,
    with_dates,
)
from dallosh.analytics.series import (
    GRAIN_MAX_DAYS,
    GRAINS,
    SPIKE_SIGMAS,
    SPIKE_WINDOW_DAYS,
    SPIKE_WINDOWS,
    choose_grain,
    daily_volume_and_sentiment,
    hour_of_day_activity,
    timeline,
)
from dallosh.analytics.spikes import Rise, Spike, SpikeExplanation, explain_spike
from dallosh.analytics.terms import TermIndex, build_term_index, term_mask, terms_by, terms_of, top_terms

__all__ = [
    "CATEGORY_COLUMNS", "CORRECTABLE_FIELDS", "COUNT_COLUMNS", "CREATED_AT_FORMAT", "CRITICAL_PRIORITY",
    "CRITICAL_TWEET_COLUMNS", "FALLBACK_FORMATS", "FLAG_COLUMNS", "GRAINS", "GRAIN_MAX_DAYS", "HIGHER_IS_BETTER",
    "ID_COLUMNS", "LOAD_CHUNK_ROWS", "PRESETS", "REFERENCE_ID_COLUMNS", "SPIKE_SIGMAS", "SPIKE_WINDOWS",
    "SPIKE_WINDOW_DAYS", "XLSX_DATE_FORMAT", "XLSX_MAX_ROWS", "Change", "DateLike", "Filters", "Rise", "Source",
    "Spike", "SpikeExplanation", "TermIndex", "apply_corrections", "apply_filters", "build_term_index",
    "choose_grain", "compare", "critical_topics", "daily_volume_and_sentiment", "data_range",
    "engagement_by_sentiment", "explain_spike", "engagement_median", "engagement_outlier_count", "engagement_rate",
    "export_frame", "first_reply_delays", "fold_text", "high_priority_count", "hour_of_day_activity", "kpi_changes",
    "kpis", "load_analysed", "median_first_reply_time", "negative_share", "net_sentiment", "parse_created_at",
    "preset_range", "previous_range", "priority_counts", "search_mask", "search_pattern", "sentiment_counts",
    "term_mask", "terms_by", "terms_of", "text_key", "timeline", "to_csv_bytes", "to_xlsx_bytes",
    "top_authors", "top_critical_tweets", "top_terms", "topic_counts", "topic_sentiment_matrix", "volume",
    "with_dates"
]
