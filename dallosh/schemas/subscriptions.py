"""A scheduled report: who gets it, when (local time in an IANA zone), about which datasets and filters, and what
happened at its last run.

``version`` grows at every change of the schedule; a queued run carries the version and the due time it was
scheduled for, so a run left over from before an edit recognises itself as stale and does nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dallosh.defaults import PRIORITIES, SENTIMENTS
from dallosh.errors import ValidationError

Frequency = Literal["daily", "weekly"]
#: Weekday names, Monday first (``datetime.weekday()``'s numbering).
WEEKDAYS: tuple[str, ...] = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
#: Longest search text kept with a subscription (the Analysis page's search box is a phrase, not a document).
SEARCH_MAX = 200
#: Datasets one subscription may name; "all" covers more.
DATASETS_MAX = 50
_TIME = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$")


@dataclass
class ReportFilters:
    """The Analysis filter bar's choices a report keeps (``None``: no filter on that field)."""

    topics: list[str] | None = None
    sentiments: list[str] | None = None
    priorities: list[int] | None = None
    includeRetweets: bool = True
    includeOperator: bool = False
    search: str = ""

    def check(self, path: str) -> None:
        if self.sentiments is not None and (bad := [s for s in self.sentiments if s not in SENTIMENTS]):
            raise ValidationError(f"{path}.sentiments", f"has {bad[0]!r}: choose among {', '.join(SENTIMENTS)}")
        if self.priorities is not None and (bad_p := [p for p in self.priorities if p not in PRIORITIES]):
            raise ValidationError(f"{path}.priorities", f"has {bad_p[0]!r}: choose among "
                                                        f"{', '.join(map(str, PRIORITIES))}")
        if len(self.search) > SEARCH_MAX:
            raise ValidationError(f"{path}.search", f"is longer than {SEARCH_MAX} characters")

    def describe(self) -> str:
        """The filters in words, for the list of subscriptions and the e-mail ("every customer tweet")."""
        parts = []
        if self.sentiments is not None:
            parts.append("sentiment " + (", ".join(self.sentiments) or "none"))
        if self.priorities is not None:
            parts.append("priority " + (", ".join(map(str, self.priorities)) or "none"))
        if self.topics is not None:
            parts.append("topics " + (", ".join(self.topics) or "none"))
        if self.search.strip():
            parts.append(f"containing “{self.search.strip()}”")
        if not self.includeRetweets:
            parts.append("no retweets")
        if self.includeOperator:
            parts.append("operator replies included")
        return "; ".join(parts) or "every customer tweet"


@dataclass
class SubscriptionData:
    owner: str
    email: str
    frequency: Frequency = "daily"
    #: Local time of day the report is sent, ``HH:MM`` (24 h).
    time: str = "08:00"
    #: Day of the week of a weekly report, 0 = Monday.
    weekday: int = 0
    timeZone: str = "Europe/Paris"
    #: Every dataset the owner may read when True; else the dataset ids in ``datasets``.
    allDatasets: bool = True
    datasets: list[str] = field(default_factory=list)
    filters: ReportFilters = field(default_factory=ReportFilters)
    active: bool = True
    version: int = 1
    nextRunAt: datetime | None = None
    lastSentAt: datetime | None = None
    #: ``ok``, ``ok: <note>``, ``skipped: <why>`` or ``error: <why>``, in the owner's words.
    lastOutcome: str = ""

    def check(self, path: str) -> None:
        if not _TIME.match(self.time or ""):
            raise ValidationError(f"{path}.time", f"{self.time!r} is not a time of day: write it HH:MM (e.g. 08:30)")
        if not 0 <= self.weekday <= 6:
            raise ValidationError(f"{path}.weekday", "must be a day of the week (0 = Monday … 6 = Sunday)")
        try:
            ZoneInfo(self.timeZone)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValidationError(f"{path}.timeZone", f"{self.timeZone!r} is not a time zone: write one like "
                                                      "Europe/Paris or America/New_York") from None
        if not self.allDatasets and not self.datasets:
            raise ValidationError(f"{path}.datasets", "is empty: choose at least one dataset, or all of them")
        if len(self.datasets) > DATASETS_MAX:
            raise ValidationError(f"{path}.datasets", f"names more than {DATASETS_MAX} datasets: choose all "
                                                      "datasets instead")

    @property
    def hour_minute(self) -> tuple[int, int]:
        hour, minute = self.time.split(":")
        return int(hour), int(minute)

    def describe_schedule(self) -> str:
        """"Every day at 08:00 (Europe/Paris)", "Every Monday at 07:30 (UTC)"."""
        when = "Every day" if self.frequency == "daily" else f"Every {WEEKDAYS[self.weekday]}"
        return f"{when} at {self.time} ({self.timeZone})"
