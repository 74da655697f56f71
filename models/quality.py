"""Quality assessment (docs/quality.md, guide 1.4 and ch. 5): the KPIs of a period, computed from
the records by the `QualityReport` workflow, which a Temporal Schedule starts for each closed month."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, Field, StringConstraints

from .common import EARLIEST, LATEST, Contract, Inbound, add_months

WORKFLOW_TYPE = "QualityReport"
SCHEDULE_ID = "quality-report-monthly"
"""The Schedule that starts a report of the month just closed (edge.schedules)."""

_MONTH = re.compile(r"([0-9]{4})-([0-9]{2})")
_QUARTER = re.compile(r"([0-9]{4})-Q([1-4])")
_RANGE = re.compile(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.\.([0-9]{4}-[0-9]{2}-[0-9]{2})")
MAX_RANGE_DAYS = 366


@dataclass(frozen=True)
class Period:
    """Local calendar days [first, last] of a report, named by `label`."""

    label: str
    first: date
    last: date

    @property
    def after(self) -> date:
        """The first day after the period."""
        return self.last + timedelta(days=1)

    def previous(self, count: int) -> list[Period]:
        """The `count` periods of the same kind before this one, oldest first (a range: none)."""
        if is_month(self.label):
            return [period_of(f"{d:%Y-%m}") for d in (add_months(self.first, -n) for n in range(count, 0, -1))]
        if _QUARTER.fullmatch(self.label):
            return [quarter_of(add_months(self.first, -3 * n)) for n in range(count, 0, -1)]
        return []


def is_month(label: str) -> bool:
    return _MONTH.fullmatch(label) is not None


def quarter_of(day: date) -> Period:
    return period_of(f"{day.year}-Q{(day.month - 1) // 3 + 1}")


def period_of(label: str) -> Period:
    """A month (`2026-11`), a quarter (`2026-Q4`) or a range of days (`2026-11-03..2026-11-20`);
    ValueError says what is wrong."""
    if month := _MONTH.fullmatch(label):
        year, number = int(month[1]), int(month[2])
        if not 1 <= number <= 12:
            raise ValueError(f"{label}: no month {number}")
        first = date(year, number, 1)
        period = Period(label, first, add_months(first, 1) - timedelta(days=1))
    elif quarter := _QUARTER.fullmatch(label):
        first = date(int(quarter[1]), 3 * int(quarter[2]) - 2, 1)
        period = Period(label, first, add_months(first, 3) - timedelta(days=1))
    elif days := _RANGE.fullmatch(label):
        first, last = date.fromisoformat(days[1]), date.fromisoformat(days[2])
        if last < first or (last - first).days >= MAX_RANGE_DAYS:
            raise ValueError(f"{label}: the last day must follow the first, at most {MAX_RANGE_DAYS} days on")
        period = Period(label, first, last)
    else:
        raise ValueError(f"{label!r}: a month (2026-11), a quarter (2026-Q4) or days (2026-11-03..2026-11-20)")
    if not EARLIEST.date() <= period.first <= period.last < LATEST.date():
        raise ValueError(f"{label}: must lie between {EARLIEST:%Y} and {LATEST:%Y}")
    return period


def closed_periods(today: date) -> list[Period]:
    """What a scheduled run reports on `today`: the month before, and the quarter when it ended then."""
    month = period_of(f"{add_months(today.replace(day=1), -1):%Y-%m}")
    quarter = quarter_of(month.first)
    return [month, quarter] if quarter.last == month.last else [month]


def _period_label(label: str) -> str:
    period_of(label)
    return label


PeriodLabel = Annotated[str, StringConstraints(max_length=40), AfterValidator(_period_label)]


class ReportInput(Inbound):
    """Start `QualityReport` (id `quality-report-<period>`, or any id for the Schedule's runs)."""

    period: PeriodLabel | None = Field(
        default=None, description="month, quarter or days; unset: the month just closed (and its quarter if it "
                                  "closed too), as the Schedule starts it")


def workflow_id(period: str) -> str:
    return f"quality-report-{period}"


class Unit(StrEnum):
    percent = "%"
    hours = "h"
    days = "d"
    fen = "fen"
    number = "count"
    per_10k_lines = "per10k"


class Figure(Contract):
    """One KPI value; `dimension` is '' for the whole process or e.g. 'region=rural'."""

    process: str
    kpi: str
    dimension: str = ""
    value: float | None = Field(description="None: nothing to measure in the period")
    numerator: float | None = None
    denominator: float | None = None
    unit: Unit


class ReportRequest(Contract):
    """The activity's argument: a period, or none for those closed at `as_of` (local days in the
    policy's time zone)."""

    period: PeriodLabel | None
    as_of: AwareDatetime


class ReportWritten(Contract):
    period: str
    start: AwareDatetime
    end: AwareDatetime
    figures: int = Field(description="rows written; the period's earlier rows were replaced")


class ReportResult(Contract):
    """`QualityReport`'s result: the periods written."""

    reports: list[ReportWritten]
