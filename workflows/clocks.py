"""SLA clock arithmetic (spec §1.2), pure: budgets that pause and resume, warning marks, the breach,
the escalation ladder after it, and plain windows. Nothing here talks to Temporal: `workflows.sla`
supplies the instants (calendar time here, working time from an activity) and waits on timers.

A window (the customer's time to answer, a quarantine, a retention period) is a clock whose end is
no SLA breach: its marks are reminders and its end, it never counts in `breached`, and once closed
(answered or over) it leaves the set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from models.policy import Basis, ClockPolicy, Escalation
from models.records import SlaEventRecord
from models.sla import ClockStatus, Pause, SlaEventKind

BREACH = "breach"
MISSED = "missed before migration"


@dataclass(frozen=True)
class Mark:
    label: str
    kind: SlaEventKind
    offset: timedelta
    """Budget time for warnings and the breach; calendar time after the breach for escalations."""
    escalation: Escalation | None = None


@dataclass(frozen=True)
class Firing:
    """A mark whose time has come; the workflow records it exactly once."""

    clock: str
    mark: Mark
    at: datetime
    due_at: datetime | None
    missed: bool = False
    """Due before the case was taken over from a legacy system (an event time in the past): a fact
    to record, nobody to warn any more."""
    calendar_version: int | None = None
    """Set when a newly published calendar moved this mark into the past: it fires late, once."""

    @property
    def key(self) -> str:
        return f"{self.clock}:{self.mark.label}"

    def record(self, detail: str = "") -> SlaEventRecord:
        escalation = self.mark.escalation
        if self.missed:
            detail = "; ".join(filter(None, [MISSED, detail]))
        if self.calendar_version is not None:
            detail = "; ".join(filter(None, [f"due earlier under calendar version {self.calendar_version}", detail]))
        return SlaEventRecord(key=self.key, clock=self.clock, kind=self.mark.kind, at=self.at,
                              due_at=self.due_at, detail=detail,
                              level=escalation.level if escalation else None,
                              to=escalation.to if escalation else None)


@dataclass
class SlaClock:
    name: str
    policy: ClockPolicy
    started_at: datetime
    window: bool = False
    consumed: timedelta = timedelta(0)
    consumed_as_of: datetime | None = None
    segment_start: datetime | None = None
    """Set while the clock runs: budget time accrues from here."""
    stopped: bool = False
    stopped_at: datetime | None = None
    """Set by a stop that kept the marks already due: none of its escalations comes after it."""
    breached_at: datetime | None = None
    scheduled: dict[str, datetime] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    calendar_version: int = 0
    """Working-day clocks: the calendar version its scheduled marks were computed under."""
    moved_past: dict[str, int] = field(default_factory=dict)
    """Marks a calendar version moved into the past (label → version), to say so when they fire."""

    @property
    def budget_marks(self) -> list[Mark]:
        marks = [Mark(w.label, SlaEventKind.warning, w.offset(self.policy.budget)) for w in self.policy.warnings]
        return [*sorted(marks, key=lambda m: m.offset), Mark(BREACH, SlaEventKind.breach, self.policy.budget)]

    @property
    def escalation_marks(self) -> list[Mark]:
        """`escalation-<level>`; a level the ladder repeats gets its rung number from the second time on."""
        levels = [e.level for e in self.policy.escalations]
        return [Mark(f"escalation-{e.level}" + (f"-{rung}" if e.level in levels[:rung - 1] else ""),
                     SlaEventKind.escalation, e.after_breach, e)
                for rung, e in enumerate(self.policy.escalations, start=1)]

    def mark(self, label: str) -> Mark:
        return next(m for m in self.budget_marks + self.escalation_marks if m.label == label)

    @property
    def paused(self) -> bool:
        return not self.stopped and self.segment_start is None

    @property
    def due_at(self) -> datetime | None:
        return self.breached_at or self.scheduled.get(BREACH)

    def pending(self) -> tuple[list[Mark], list[timedelta]]:
        """Budget marks still to fire, and the running time left until each."""
        assert self.segment_start is not None, f"clock {self.name} is not running"
        marks = [m for m in self.budget_marks if m.label not in self.fired]
        return marks, [max(m.offset - self.consumed, timedelta(0)) for m in marks]

    def schedule(self, marks: Sequence[Mark], instants: Sequence[datetime]) -> None:
        self.scheduled.update({m.label: at for m, at in zip(marks, instants, strict=True)})

    def reschedule(self, marks: Sequence[Mark], instants: Sequence[datetime], version: int, now: datetime) -> None:
        """The same marks under a newer calendar: one that falls in the past now fires at once, once."""
        for mark, at in zip(marks, instants, strict=True):
            if at <= now < self.scheduled.get(mark.label, now):
                self.moved_past[mark.label] = version
        self.schedule(marks, instants)
        self.calendar_version = version

    def pause(self, at: datetime, elapsed: timedelta, reason: str, *, keep_due: bool = True) -> SlaEventRecord:
        """`elapsed`: the budget time used since the clock last started or resumed. A mark already
        due (its timer not yet taken when the pause came) stays, to fire at its own instant."""
        if self.segment_start is None:
            raise ValueError(f"clock {self.name} is not running")
        self.consumed += elapsed
        self.consumed_as_of, self.segment_start = at, None
        for mark in self.budget_marks:
            if not keep_due or self.scheduled.get(mark.label, at) > at:
                self.scheduled.pop(mark.label, None)
        self.pauses.append(Pause(paused_at=at, reason=reason))
        return SlaEventRecord(key=f"{self.name}:pause-{len(self.pauses)}", clock=self.name,
                              kind=SlaEventKind.pause, at=at, detail=reason)

    def resume(self, at: datetime) -> None:
        if not self.paused:
            raise ValueError(f"clock {self.name} is not paused")
        self.segment_start = self.consumed_as_of = at
        self.pauses[-1] = self.pauses[-1].model_copy(update={"resumed_at": at})

    def resumed(self) -> SlaEventRecord:
        """The resume event, once the marks are scheduled again."""
        assert self.consumed_as_of is not None
        return SlaEventRecord(key=f"{self.name}:resume-{len(self.pauses)}", clock=self.name,
                              kind=SlaEventKind.resume, at=self.consumed_as_of, due_at=self.scheduled.get(BREACH),
                              detail=self.pauses[-1].reason)

    def status(self, now: datetime) -> ClockStatus:
        consumed = self.consumed
        if self.segment_start is not None and self.policy.basis is Basis.calendar:
            consumed += now - self.segment_start
        upcoming = sorted(self.scheduled.items(), key=lambda item: item[1])
        return ClockStatus(
            name=self.name, source=self.policy.source, basis=self.policy.basis, budget=self.policy.budget,
            started_at=self.started_at,
            consumed=consumed, consumed_as_of=now if self.policy.basis is Basis.calendar else self.consumed_as_of,
            remaining=max(self.policy.budget - consumed, timedelta(0)),
            running=self.segment_start is not None, paused=self.paused,
            due_at=self.due_at, breached=self.breached_at is not None, fired=list(self.fired),
            next_mark=upcoming[0][0] if upcoming else None, next_at=upcoming[0][1] if upcoming else None,
            pauses=list(self.pauses), calendar_version=self.calendar_version)


def calendar_instants(start: datetime, offsets: Sequence[timedelta]) -> list[datetime]:
    """Calendar-basis marks: 24-hour days need no calendar."""
    return [start + offset for offset in offsets]


class ClockSet:
    """The clocks of one case, side by side (e.g. response, resolution and a statutory cap)."""

    def __init__(self) -> None:
        self._clocks: dict[str, SlaClock] = {}
        self.changed = False
        """Set whenever a schedule moves, so the waiting loop re-arms its timer."""

    def add(self, name: str, policy: ClockPolicy, at: datetime, *, window: bool = False) -> SlaClock:
        clock = self._clocks[name] = SlaClock(name, policy, at, window, consumed_as_of=at, segment_start=at)
        return clock

    def __getitem__(self, name: str) -> SlaClock:
        return self._clocks[name]

    def stop(self, name: str, at: datetime | None = None, *, keep_due: bool = True) -> None:
        """`at`: when. A calendar clock's status keeps the time it ran (a working-day clock's shows the
        time measured at its last start, pause or resume: that needs the calendar), and a mark already
        due (its timer not yet taken when the stop came: a late answer) still fires, at its instant.
        Stopping a clock the case never started does nothing."""
        if name not in self._clocks:
            return
        clock = self._clocks[name]
        if at is not None and clock.segment_start is not None and clock.policy.basis is Basis.calendar:
            clock.consumed += at - clock.segment_start
            clock.consumed_as_of = at
        clock.stopped, clock.segment_start = True, None
        if keep_due and at is not None:
            clock.stopped_at = at
            clock.scheduled = {label: due for label, due in clock.scheduled.items() if due <= at}
        else:
            clock.scheduled.clear()
        self.changed = True

    def close(self, name: str) -> None:
        """A window answered or over: it leaves the set (closing one that is not open does nothing)."""
        if name in self._clocks:
            assert self._clocks[name].window, f"{name} is an SLA clock: stop it"
            self.stop(name)
            del self._clocks[name]

    def stop_all(self) -> None:
        for name, clock in self._clocks.items():
            if not clock.stopped:
                self.stop(name)

    def is_open(self, name: str) -> bool:
        return name in self._clocks and not self._clocks[name].stopped

    def is_running(self, name: str) -> bool:
        return name in self._clocks and self._clocks[name].segment_start is not None

    def is_paused(self, name: str) -> bool:
        return name in self._clocks and self._clocks[name].paused

    def has_breached(self, name: str) -> bool:
        return name in self._clocks and self._clocks[name].breached_at is not None

    def next_wake(self) -> tuple[datetime, str] | None:
        upcoming = [(at, f"{c.name} {label}") for c in self._clocks.values() for label, at in c.scheduled.items()]
        return min(upcoming) if upcoming else None

    def take_due(self, now: datetime) -> list[Firing]:
        """Marks due by `now`, in time order, removed from the schedule: each fires once."""
        due: list[Firing] = []
        for clock in self._clocks.values():
            for label, at in list(clock.scheduled.items()):
                if at <= now:
                    del clock.scheduled[label]
                    clock.fired.append(label)
                    mark = clock.mark(label)
                    if mark.kind is SlaEventKind.breach:
                        clock.breached_at = at
                        for escalation in clock.escalation_marks:
                            if clock.stopped_at is None or at + escalation.offset <= clock.stopped_at:
                                clock.scheduled[escalation.label] = at + escalation.offset
                    due.append(Firing(clock.name, mark, at, clock.due_at,
                                      calendar_version=clock.moved_past.pop(label, None)))
        # Escalations scheduled at the breach instant itself are due now as well.
        if any(f.mark.kind is SlaEventKind.breach for f in due):
            due += self.take_due(now)
        return sorted(due, key=lambda f: (f.at, f.mark.kind is SlaEventKind.escalation))

    def deadlines(self) -> dict[str, datetime]:
        """Open deadlines: the breach time of every clock not stopped (past ones included)."""
        return {c.name: c.due_at for c in self._clocks.values() if not c.stopped and c.due_at is not None}

    @property
    def breached(self) -> bool:
        """Whether an SLA clock (not a window) has breached: the case's sla_breached."""
        return any(not c.window and c.breached_at is not None for c in self._clocks.values())

    def status(self, now: datetime) -> list[ClockStatus]:
        return [clock.status(now) for clock in self._clocks.values()]
