"""A report's period as people and cron jobs write it: ``2025-10-01..2025-10-31``, ``2025-10-15``, ``yesterday``,
``today``, ``last-7-days``, ``this-month``, ``last-month``; whole local days, first and last included."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from dallosh.analytics import previous_range
from dallosh.errors import ValidationError

#: The longest "last-N-days" accepted: ten years of days, a typo guard (last-3000000-days).
MAX_DAYS = 3660
#: What ``--period`` accepts, for error messages and ``--help``.
PERIOD_FORMS = "YYYY-MM-DD..YYYY-MM-DD, YYYY-MM-DD, today, yesterday, last-N-days, this-month or last-month"


@dataclass(frozen=True)
class Period:
    """Whole local days ``start`` … ``end`` (inclusive) and how the report names them."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def label(self) -> str:
        return str(self.start) if self.start == self.end else f"{self.start} – {self.end}"

    def previous(self) -> Period:
        """The period of the same length just before (what the KPIs are compared with)."""
        return Period(*previous_range(self.start, self.end))


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValidationError("period", f"has {text!r}, which is not a date: write it YYYY-MM-DD (e.g. "
                                        "2025-10-01).") from None


def parse_period(text: str, today: date) -> Period:
    """The :class:`Period` ``text`` names, relative to ``today`` (the app's time zone). Raises ValidationError with
    the accepted forms when it names none."""
    value = text.strip().lower()
    if ".." in value:
        first, _, last = value.partition("..")
        period = Period(_day(first.strip()), _day(last.strip()))
        if period.end < period.start:
            raise ValidationError("period", f"ends ({period.end}) before it starts ({period.start}).")
        return period
    if value == "today":
        return Period(today, today)
    if value == "yesterday":
        return Period(today - timedelta(days=1), today - timedelta(days=1))
    if value == "this-month":
        return Period(today.replace(day=1), today)
    if value == "last-month":
        end = today.replace(day=1) - timedelta(days=1)
        return Period(end.replace(day=1), end)
    days = re.fullmatch(r"last-(\d+)-days?", value)
    if days:
        n = int(days.group(1))
        if not 1 <= n <= MAX_DAYS:
            raise ValidationError("period", f"asks for {n} days: choose between 1 and {MAX_DAYS}.")
        return Period(today - timedelta(days=n - 1), today)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        day = _day(value)
        return Period(day, day)
    raise ValidationError("period", f"{text!r} is not understood: write {PERIOD_FORMS}.")
