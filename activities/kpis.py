"""The KPIs of a period from the records of its cases (docs/quality.md defines each one): pure
functions over rows already read, so every rule is tested without a database or a server.

The counting rule: a deadline's outcome counts once, in the period it became known — on time when it
was met (if it had not been missed before), late when it was missed (its breach, or a window's end).
A case still open at the period's end therefore counts as late if its deadline has passed, and not
yet at all if the deadline lies ahead. Volumes count what happened in the period."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from models.complaint import DEEMED_REASON, SATISFIED_REASON
from models.quality import Figure, Unit
from models.sla import SlaEventKind
from models.termination import ALL_EQUIPMENT_BACK

HOUR, DAY = timedelta(hours=1), timedelta(days=1)


@dataclass(frozen=True)
class Event:
    step: str
    """Without the sequence prefix: `resolved`, not `007-resolved`."""
    at: datetime
    reason: str


@dataclass(frozen=True)
class Mark:
    clock: str
    kind: SlaEventKind
    at: datetime


@dataclass(frozen=True)
class Payment:
    kind: str
    amount_fen: int
    at: datetime


@dataclass
class CaseRecord:
    """One case as the KPIs read it: its row, its events and SLA events (before the period's end),
    and its compensations (within the period)."""

    workflow_id: str
    opened_at: datetime
    region: str | None = None
    severity: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    events: list[Event] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)
    payments: list[Payment] = field(default_factory=list)
    erase_at: datetime | None = None
    """A termination's: when its personal data falls due for erasure (its details are erased then)."""

    def first(self, step: str) -> datetime | None:
        return next((e.at for e in self.events if e.step == step), None)

    def all(self, step: str) -> list[Event]:
        return [e for e in self.events if e.step == step]

    def breach(self, clock: str) -> datetime | None:
        return next((m.at for m in self.marks if m.clock == clock and m.kind is SlaEventKind.breach), None)

    def moment(self, name: str) -> datetime | None:
        """A time the case's details hold (ISO text), e.g. `received_at`; None once erased."""
        try:
            return datetime.fromisoformat(self.details[name])
        except (KeyError, TypeError, ValueError):
            return None

    def began(self, name: str) -> datetime:
        """The event time the case started from (`received_at`, …), else its first record."""
        return self.moment(name) or self.opened_at


@dataclass(frozen=True)
class Window:
    """The period: [start, end) in UTC instants; local days in `timezone`."""

    start: datetime
    end: datetime
    timezone: str

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment < self.end

    def end_of_local_day(self, moment: datetime) -> datetime:
        zone = ZoneInfo(self.timezone)
        day = moment.astimezone(zone).date() + DAY
        return datetime.combine(day, time(), zone)


Measure = tuple[str, float | None, float | None, float | None, Unit]
"""(kpi, value, numerator, denominator, unit)."""


def on_time(window: Window, cases: Iterable[CaseRecord], met: Callable[[CaseRecord], datetime | None],
            missed: Callable[[CaseRecord], datetime | None]) -> tuple[int, int]:
    """(on time, decided) in the period: each case once, when its outcome became known."""
    kept = decided = 0
    for case in cases:
        met_at, missed_at = met(case), missed(case)
        if missed_at is not None and (met_at is None or missed_at < met_at):
            decided += window.holds(missed_at)
        elif window.holds(met_at):
            kept += 1
            decided += 1
    return kept, decided


def rate(kpi: str, numerator: float, denominator: float) -> Measure:
    value = 100 * numerator / denominator if denominator else None
    return kpi, value, numerator, denominator, Unit.percent


def on_time_rate(kpi: str, window: Window, cases: Iterable[CaseRecord], met: Callable[[CaseRecord], datetime | None],
                 missed: Callable[[CaseRecord], datetime | None]) -> Measure:
    return rate(kpi, *on_time(window, cases, met, missed))


def count(kpi: str, number: int) -> Measure:
    return kpi, number, None, None, Unit.number


def mean(kpi: str, values: Sequence[float], unit: Unit) -> Measure:
    return kpi, (sum(values) / len(values) if values else None), None, len(values), unit


def p90(kpi: str, values: Sequence[float], unit: Unit) -> Measure:
    """The nearest-rank 90th percentile: the smallest value at least 90 % of the values do not exceed."""
    ordered = sorted(values)
    value = ordered[math.ceil(0.9 * len(ordered)) - 1] if ordered else None
    return kpi, value, None, len(ordered), unit


def paid(kpi: str, window: Window, cases: Iterable[CaseRecord], kind: str) -> Measure:
    payments = [p for case in cases for p in case.payments if p.kind == kind and window.holds(p.at)]
    return kpi, sum(p.amount_fen for p in payments), len(payments), None, Unit.fen


def events_in(window: Window, cases: Iterable[CaseRecord], step: str) -> int:
    return sum(window.holds(e.at) for case in cases for e in case.all(step))


# --- per process ------------------------------------------------------------------------------------


def applications(window: Window, cases: list[CaseRecord], _lines: int) -> list[Measure]:
    received = [c for c in cases if window.holds(c.began("received_at"))]

    def activated(case: CaseRecord) -> datetime | None:
        order = case.details.get("order") or {}
        return datetime.fromisoformat(order["activated_at"]) if order.get("activated_at") else None

    durations = [(at - c.began("received_at")) / DAY for c in cases if (at := activated(c)) and window.holds(at)]
    supplemented = [c for c in received if any(e.at < window.end for e in c.all("materials-requested"))]
    return [count("received", len(received)),
            on_time_rate("installation_on_time", window, cases, activated, lambda c: c.breach("provisioning")),
            mean("days_to_activation_mean", durations, Unit.days),
            rate("supplement_rate", len(supplemented), len(received)),
            paid("penalties", window, cases, "penalty")]


def faults(window: Window, cases: list[CaseRecord], _lines: int) -> list[Measure]:
    operator = [c for c in cases if not c.details.get("linked_change")]  # a service change's: no operator clocks

    def repaired(case: CaseRecord) -> datetime | None:
        return case.first("resolved")

    repairs = [(c, at) for c in cases if (at := repaired(c)) and window.holds(at)]
    hours = [(at - c.began("reported_at")) / HOUR for c, at in repairs]
    active = [h - held_time(c) / HOUR for (c, _), h in zip(repairs, hours, strict=True)]
    return [count("reported", sum(window.holds(c.began("reported_at")) for c in cases)),
            on_time_rate("response_on_time", window, operator, lambda c: c.moment("first_response_at"),
                         lambda c: c.breach("response")),
            on_time_rate("repair_on_time", window, operator, repaired, lambda c: c.breach("resolution")),
            on_time_rate("statutory_on_time", window, cases, repaired, lambda c: c.breach("statutory")),
            mean("repair_hours_mean", hours, Unit.hours), p90("repair_hours_p90", hours, Unit.hours),
            mean("repair_hours_mean_excl_held", active, Unit.hours),
            p90("repair_hours_p90_excl_held", active, Unit.hours),
            rate("reopen_rate", events_in(window, cases, "reopened"), events_in(window, cases, "resolved")),
            paid("rental_waivers", window, cases, "rental_waiver")]


def held_time(case: CaseRecord) -> timedelta:
    """Time on hold before the first repair: from each `held` to the `resumed` after it."""
    until = case.first("resolved")
    held, since = timedelta(0), None
    for event in case.events:
        if until is not None and event.at > until:
            break
        if event.step == "held":
            since = event.at
        elif event.step == "resumed" and since is not None:
            held, since = held + (event.at - since), None
    return held


def complaints(window: Window, cases: list[CaseRecord], lines: int) -> list[Measure]:
    received = sum(window.holds(c.began("received_at")) for c in cases)
    answers = [e for c in cases for e in c.events if window.holds(e.at)]
    satisfied = sum(e.step in ("confirmed", "closed") and e.reason == SATISFIED_REASON for e in answers)
    deemed = sum(e.step in ("confirmation-deemed", "closed") and e.reason == DEEMED_REASON for e in answers)
    dissatisfied = sum(e.step == "reopened" for e in answers)
    total = satisfied + deemed + dissatisfied
    breaches = [m for c in cases for m in c.marks if window.holds(m.at)]
    return [count("received", received),
            ("per_10k_lines", 10_000 * received / lines if lines else None, received, lines, Unit.per_10k_lines),
            on_time_rate("reply_on_time", window, cases, lambda c: c.first("reply"), lambda c: c.breach("reply")),
            count("appeal_eligible", sum(m.clock == "reply" and m.kind is SlaEventKind.breach for m in breaches)),
            rate("satisfied", satisfied, total), rate("confirmed_by_silence", deemed, total),
            rate("dissatisfied", dissatisfied, total),
            count("reopenings", dissatisfied),
            count("escalations", sum(m.kind is SlaEventKind.escalation for m in breaches))]


def terminations(window: Window, cases: list[CaseRecord], _lines: int) -> list[Measure]:
    def all_returned(case: CaseRecord) -> datetime | None:
        return next((e.at for e in case.all("equipment-returned") if ALL_EQUIPMENT_BACK in e.reason), None)

    def erasure_late(case: CaseRecord) -> datetime | None:
        """The end of the local day the erasure fell due, unless it was done by then."""
        if case.erase_at is None:
            return None
        limit, erased = window.end_of_local_day(case.erase_at), case.first("personal-data-erased")
        return limit if erased is None or erased > limit else None

    return [count("requested", sum(window.holds(c.began("requested_at")) for c in cases)),
            on_time_rate("refund_on_time", window, cases, lambda c: c.first("refunded"), lambda c: c.breach("refund")),
            on_time_rate("equipment_returned_on_time", window, cases, all_returned,
                         lambda c: c.first("equipment-charged")),
            count("numbers_released", events_in(window, cases, "numbers-released")),
            on_time_rate("erasure_on_time", window, cases, lambda c: c.first("personal-data-erased"), erasure_late)]


PROCESSES: dict[str, tuple[Callable[[Window, list[CaseRecord], int], list[Measure]], tuple[str, ...]]] = {
    "application": (applications, ("region",)),
    "fault": (faults, ("region", "severity")),
    "complaint": (complaints, ("category",)),
    "termination": (terminations, ()),
}
"""Case type → its KPIs and the dimensions they are also given by."""


def figures(process: str, window: Window, cases: list[CaseRecord], lines: int) -> list[Figure]:
    """The process's KPIs for the whole period and for each value of each of its dimensions."""
    measure, dimensions = PROCESSES[process]
    groups: list[tuple[str, list[CaseRecord]]] = [("", cases)]
    for name in dimensions:
        values = sorted({v for c in cases if (v := _dimension(c, name)) is not None})
        groups += [(f"{name}={value}", [c for c in cases if _dimension(c, name) == value]) for value in values]
    return [Figure(process=process, kpi=kpi, dimension=dimension, value=value, numerator=numerator,
                   denominator=denominator, unit=unit)
            for dimension, group in groups
            for kpi, value, numerator, denominator, unit in measure(window, group, lines)]


def _dimension(case: CaseRecord, name: str) -> str | None:
    value = getattr(case, name, None) if name in ("region", "severity") else case.details.get(name)
    return str(value) if value is not None else None
