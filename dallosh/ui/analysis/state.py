"""What an Analysis view shows — datasets, filters, chips — as the fragment of a shareable address.

The fragment (``#ds=…&sent=negative&f=…``) never reaches a server: the page hands it to its kernel, which
decodes it here, keeps only what this page could have produced itself (known kinds, bounded sizes, valid
dates) and then checks the datasets against what the person opening the link may read. A crafted link can
therefore only select datasets its reader can already see, with filters the page already offers.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from datetime import date
from urllib.parse import parse_qs, urlencode

from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.ui.analysis.crossfilter import MAX_DRILLS, Drill, decode_drill, encode_value

#: Longest fragment read (a real one is a few hundred characters).
MAX_FRAGMENT = 8_000
MAX_DATASETS = 20
_UID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")


@dataclass(frozen=True)
class ViewState:
    """Everything needed to show the same numbers again."""

    datasets: tuple[str, ...] = ()
    date_from: date | None = None
    date_to: date | None = None
    topic: str = ""
    sentiment: str = ""
    priority: int = -1
    include_retweets: bool = True
    include_operator: bool = False
    search: str = ""
    drills: tuple[Drill, ...] = field(default_factory=tuple)

    def to_fragment(self) -> str:
        """The address fragment (without ``#``); defaults are left out so links stay short."""
        pairs: list[tuple[str, str]] = [("ds", uid) for uid in self.datasets]
        if self.date_from:
            pairs.append(("from", self.date_from.isoformat()))
        if self.date_to:
            pairs.append(("to", self.date_to.isoformat()))
        if self.topic:
            pairs.append(("topic", self.topic))
        if self.sentiment:
            pairs.append(("sent", self.sentiment))
        if self.priority != -1:
            pairs.append(("prio", str(self.priority)))
        if not self.include_retweets:
            pairs.append(("rt", "0"))
        if self.include_operator:
            pairs.append(("op", "1"))
        if self.search:
            pairs.append(("q", self.search))
        if self.drills:
            pairs.append(("f", json.dumps([[d.kind, encode_value(d)] for d in self.drills], ensure_ascii=False,
                                          separators=(",", ":"))))
        return urlencode(pairs)


def _date(values: list[str]) -> date | None:
    try:
        return date.fromisoformat(values[0]) if values and len(values[0]) == 10 else None
    except ValueError:
        return None


def from_fragment(fragment: str, tz: str) -> tuple[ViewState, int]:
    """The state a fragment asks for, and how many of its parts were not understood (and left out)."""
    fragment = fragment.lstrip("#")
    if len(fragment) > MAX_FRAGMENT:
        return ViewState(), 1
    query = parse_qs(fragment, keep_blank_values=False, max_num_fields=100)
    ignored = 0
    datasets = tuple(dict.fromkeys(u for u in query.get("ds", []) if _UID.match(u)))[:MAX_DATASETS]
    ignored += len(query.get("ds", [])) - len(datasets)
    sentiment = query.get("sent", [""])[0]
    if sentiment and sentiment not in SENTIMENTS:
        sentiment, ignored = "", ignored + 1
    try:
        priority = int(query.get("prio", ["-1"])[0])
    except ValueError:
        priority = -1
    if priority != -1 and priority not in PRIORITIES:
        priority, ignored = -1, ignored + 1
    drills: list[Drill] = []
    if "f" in query:
        try:
            raw = json.loads(query["f"][0])
        except ValueError:
            raw, ignored = [], ignored + 1
        for item in raw[:MAX_DRILLS] if isinstance(raw, list) else []:
            drill = decode_drill(item[0], item[1], tz) if isinstance(item, list) and len(item) == 2 else None
            if drill is None:
                ignored += 1
            elif drill not in drills:
                drills.append(drill)
    state = ViewState(
        datasets=datasets, date_from=_date(query.get("from", [])), date_to=_date(query.get("to", [])),
        topic=query.get("topic", [""])[0][:200], sentiment=sentiment, priority=priority,
        include_retweets=query.get("rt", ["1"])[0] != "0", include_operator=query.get("op", ["0"])[0] == "1",
        search=query.get("q", [""])[0][:200], drills=tuple(drills))
    return state, ignored
