"""Working-time arithmetic for mainland China, used to compute SLA due times.

Model: in the calendar's time zone every working day contributes its full
00:00-24:00 local span of working time and non-working days contribute nothing.
Working days come from ``holidays.China`` (including 调休 make-up days), corrected
by an operator override file because the package only estimates future years.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import holidays

_ZERO = timedelta(0)
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass(frozen=True)
class CalendarOverrides:
    """Operator corrections applied on top of the package's calendar."""

    holidays: frozenset[date] = frozenset()
    working_days: frozenset[date] = frozenset()

    def __post_init__(self) -> None:
        both = self.holidays & self.working_days
        if both:
            days = ", ".join(sorted(d.isoformat() for d in both))
            raise ValueError(f"days listed as both holidays and working_days: {days}")

    def then(self, change: CalendarOverrides) -> CalendarOverrides:
        """These days with a later change applied: where they disagree, the change wins."""
        return CalendarOverrides(holidays=(self.holidays - change.working_days) | change.holidays,
                                 working_days=(self.working_days - change.holidays) | change.working_days)

    def changed_days(self, other: CalendarOverrides) -> frozenset[date]:
        return (self.holidays ^ other.holidays) | (self.working_days ^ other.working_days)


def _parse_day(value: object, key: str, path: str | os.PathLike) -> date:
    """Accept TOML local dates or strict 'YYYY-MM-DD' strings, nothing else."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, str) and _ISO_DATE.fullmatch(value):
        try:
            return date.fromisoformat(value)
        except ValueError:
            pass
    raise ValueError(f"{os.fspath(path)}: invalid date {value!r} in {key!r} (expected YYYY-MM-DD)")


def load_overrides(path: str | os.PathLike) -> CalendarOverrides:
    """Read the operator's TOML override file; reject anything ambiguous."""
    return load_change(path)[0]


def load_change(path: str | os.PathLike) -> tuple[CalendarOverrides, str | None]:
    """An override file and its `source` note (e.g. the State Council's notice), if it has one."""
    with open(path, "rb") as f:
        try:
            data = tomllib.load(f)
        except tomllib.TOMLDecodeError as e:
            raise ValueError(f"{os.fspath(path)}: invalid TOML: {e}") from None
    source = data.pop("source", None)
    if source is not None and (not isinstance(source, str) or not source.strip()):
        raise ValueError(f"{os.fspath(path)}: 'source' must be a non-empty string")
    days: dict[str, frozenset[date]] = {}
    for key, values in data.items():
        if key not in ("holidays", "working_days"):
            allowed = "allowed: source, holidays, working_days"
            raise ValueError(f"{os.fspath(path)}: unknown key {key!r} ({allowed})")
        if not isinstance(values, list):
            raise ValueError(f"{os.fspath(path)}: {key!r} must be a list of dates")
        days[key] = frozenset(_parse_day(v, key, path) for v in values)
    try:
        return CalendarOverrides(**days), source
    except ValueError as e:
        raise ValueError(f"{os.fspath(path)}: {e}") from None


def _require_aware(value: datetime, name: str) -> datetime:
    """Naive datetimes are ambiguous for SLA deadlines, so refuse them."""
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be a timezone-aware datetime, got naive {value!r}")
    return value.astimezone(UTC)


class WorkingCalendar:
    """Adds and measures working time in a time zone's local working days."""

    def __init__(
        self, tz: str = "Asia/Shanghai", overrides: CalendarOverrides | None = None
    ) -> None:
        self._tz = ZoneInfo(tz)
        self._overrides = CalendarOverrides() if overrides is None else overrides
        self._years: dict[int, holidays.HolidayBase] = {}  # built lazily as walks reach years

    def is_working_day(self, day: date) -> bool:
        """Overrides win; otherwise trust the package (weekends, holidays, 调休)."""
        if day in self._overrides.holidays:
            return False
        if day in self._overrides.working_days:
            return True
        if day.year not in self._years:
            self._years[day.year] = holidays.China(years=day.year)
        return self._years[day.year].is_working_day(day)

    def _midnight(self, day: date) -> datetime:
        """Local midnight as a UTC instant (correct across DST changes)."""
        return datetime(day.year, day.month, day.day, tzinfo=self._tz).astimezone(UTC)

    def _working_spans(self, start: datetime) -> Iterator[tuple[datetime, datetime]]:
        """Yield [begin, end) UTC spans of working time from ``start`` onwards, forever."""
        day = start.astimezone(self._tz).date()
        begin = self._midnight(day)
        while True:
            nxt = day + timedelta(days=1)
            end = self._midnight(nxt)
            if self.is_working_day(day) and end > start:
                yield max(begin, start), end
            day, begin = nxt, end

    def add_working_time(self, start: datetime, amount: timedelta) -> datetime:
        """Instant (UTC) at which ``amount`` of working time has elapsed since ``start``."""
        start = _require_aware(start, "start")
        if amount < _ZERO:
            raise ValueError(f"amount must not be negative, got {amount!r}")
        if amount == _ZERO:
            return start
        remaining = amount
        for begin, end in self._working_spans(start):
            if remaining <= end - begin:
                return begin + remaining
            remaining -= end - begin
        raise AssertionError("unreachable")  # pragma: no cover

    def working_time_between(self, start: datetime, end: datetime) -> timedelta:
        """Working time within [start, end); zero if ``end`` <= ``start``."""
        start = _require_aware(start, "start")
        end = _require_aware(end, "end")
        total = _ZERO
        if end <= start:
            return total
        for begin, stop in self._working_spans(start):
            if begin >= end:
                break
            total += min(stop, end) - begin
        return total
