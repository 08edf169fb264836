"""The read side of analysed data, once: what every page, export and report shows about a dataset.

Before this, Overview read the analysed CSV itself and counted every row (the operator's own tweets included,
label corrections ignored) while Analysis applied corrections and its default filters, so one dataset showed
two "negative" shares. Now both go through here: the caller's read permission is checked, the analysed file is
read once per version (cached by modification time and size), the label corrections are applied, and the
numbers are computed on the dashboards' default filters (every customer tweet; the operator's own accounts
are left out, retweets kept) unless the caller passes others.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from dallosh.services.base import Actor, Service
from dallosh.storage import ANALYSED

if TYPE_CHECKING:
    import pandas as pd

    from dallosh.analytics import Filters

#: Columns the headline numbers need (the texts and urls are not read: about half the memory and time).
HEADLINE_COLUMNS = ("id", "sentiment", "priority", "main_topic", "is_operator", "is_retweet", "engagement")
#: Typed frames kept in memory (per process): a 1M-row analysed file holds ~0.5 GB with every column.
CACHED_FRAMES = 4
#: How the numbers are selected, in the analysts' words (Overview shows it beside the figures).
DEFAULT_SCOPE = "customer tweets (the operator's own accounts left out), label corrections included"


class ResultsService(Service):
    def __init__(self, ctx):
        super().__init__(ctx)
        self._frames: OrderedDict[tuple, pd.DataFrame] = OrderedDict()

    def analysed(self, actor: Actor, uid: str, *, dataset_name: str | None = None,
                 columns: tuple[str, ...] | None = None) -> pd.DataFrame:
        """The typed analysed rows of one dataset (``analytics.load_analysed``), before corrections.

        Read once per version of the file; ``columns`` limits what is read (ids, dates, flags and labels always).
        """
        from dallosh import analytics

        path = self.ctx.files.path(actor, uid, ANALYSED)  # checks that the caller may read this dataset
        stat = path.stat()
        key = (str(path), stat.st_mtime_ns, stat.st_size, dataset_name, columns)
        frame = self._frames.get(key)
        if frame is None:
            frame = analytics.load_analysed(path, dataset_names=[dataset_name or uid], columns=columns,
                                            keep_typed_copy=True)
            self._frames[key] = frame
            for old in [k for k in self._frames if k[0] == key[0] and k != key]:
                del self._frames[old]  # an older version of the same file
            while len(self._frames) > CACHED_FRAMES:
                self._frames.popitem(last=False)
        self._frames.move_to_end(key)
        return frame

    def corrected(self, actor: Actor, uids: list[str], *, names: dict[str, str] | None = None,
                  columns: tuple[str, ...] | None = None) -> pd.DataFrame:
        """The analysed rows of the datasets with the label corrections applied (column ``corrected``)."""
        from dallosh import analytics

        names = names or {}
        frames = [self.analysed(actor, uid, dataset_name=names.get(uid), columns=columns) for uid in uids]
        raw = frames[0] if len(frames) == 1 else analytics.load_analysed(frames)
        return analytics.apply_corrections(raw, self.ctx.corrections.effective(actor, list(uids)))

    def headline(self, actor: Actor, uid: str, filters: Filters | None = None) -> dict[str, Any]:
        """Rows, % negative, % high priority and the top topic of a dataset, as Analysis computes them.

        ``scope`` says in words which rows the numbers count (the default filters unless ``filters`` is given).
        """
        from dallosh import analytics

        rows = analytics.apply_filters(self.corrected(actor, [uid], columns=HEADLINE_COLUMNS),
                                       filters or analytics.Filters())
        volume = analytics.volume(rows)
        topics = analytics.topic_counts(rows)
        negative = analytics.negative_share(rows)
        return {
            "rows": volume,
            "negative_pct": None if negative is None else round(negative, 1),
            "high_priority_pct": round(100 * analytics.high_priority_count(rows) / volume, 1) if volume else 0.0,
            "top_topic": str(topics["main_topic"].iloc[0]) if len(topics) else "–",
            "top_topic_pct": round(float(topics["share"].iloc[0]), 1) if len(topics) else 0.0,
            "scope": DEFAULT_SCOPE if filters is None else "the rows your filters select",
        }
