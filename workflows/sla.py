"""SLA clocks for workflows (spec §1.2): budgets that pause and resume, warning marks, breach,
and an escalation ladder — waited on with durable timers only.

A clock is pure state plus arithmetic. Calendar-basis clocks compute their instants here
(24 h periods need no calendar); working-basis clocks ask the `compute_due_times` activity,
whose result in history keeps replay deterministic when calendar data changes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.deadlines import DueTimeCalculator
    from models.policy import Basis, ClockPolicy, Escalation
    from models.records import SlaEventRecord
    from models.sla import ClockStatus, DueTimeRequest, DueTimes, Pause, SlaEventKind

    from .patches import local_steps

BREACH = "breach"
CALENDAR_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2,
                             maximum_interval=timedelta(seconds=30), non_retryable_error_types=["ValueError"])
"""Calendar arithmetic only fails on a bad argument (a bug: final) or a worker in trouble (retry)."""


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

    @property
    def key(self) -> str:
        return f"{self.clock}:{self.mark.label}"

    def record(self, detail: str = "") -> SlaEventRecord:
        escalation = self.mark.escalation
        return SlaEventRecord(key=self.key, clock=self.clock, kind=self.mark.kind, at=self.at,
                              due_at=self.due_at, detail=detail,
                              level=escalation.level if escalation else None,
                              to=escalation.to if escalation else None)


@dataclass
class SlaClock:
    name: str
    policy: ClockPolicy
    started_at: datetime
    sla: bool = True
    """False for a plain window (e.g. the customer's time to answer): its end is no SLA breach."""
    consumed: timedelta = timedelta(0)
    consumed_as_of: datetime | None = None
    segment_start: datetime | None = None
    """Set while the clock runs: budget time accrues from here."""
    stopped: bool = False
    breached_at: datetime | None = None
    scheduled: dict[str, datetime] = field(default_factory=dict)
    fired: list[str] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)

    @property
    def budget_marks(self) -> list[Mark]:
        marks = [Mark(w.label, SlaEventKind.warning, w.offset(self.policy.budget)) for w in self.policy.warnings]
        return sorted(marks, key=lambda m: m.offset) + [Mark(BREACH, SlaEventKind.breach, self.policy.budget)]

    @property
    def escalation_marks(self) -> list[Mark]:
        return [Mark(f"escalation-{e.level}", SlaEventKind.escalation, e.after_breach, e)
                for e in self.policy.escalations]

    def mark(self, label: str) -> Mark:
        return next(m for m in self.budget_marks + self.escalation_marks if m.label == label)

    @property
    def paused(self) -> bool:
        return not self.stopped and self.segment_start is None

    def status(self, now: datetime) -> ClockStatus:
        consumed = self.consumed
        if self.segment_start is not None and self.policy.basis is Basis.calendar:
            consumed += now - self.segment_start
        due = self.scheduled.get(BREACH)
        upcoming = sorted(self.scheduled.items(), key=lambda item: item[1])
        return ClockStatus(
            name=self.name, source=self.policy.source, basis=self.policy.basis, budget=self.policy.budget,
            started_at=self.started_at,
            consumed=consumed, consumed_as_of=now if self.policy.basis is Basis.calendar else self.consumed_as_of,
            remaining=max(self.policy.budget - consumed, timedelta(0)),
            running=self.segment_start is not None, paused=self.paused,
            due_at=self.breached_at or due, breached=self.breached_at is not None, fired=list(self.fired),
            next_mark=upcoming[0][0] if upcoming else None, next_at=upcoming[0][1] if upcoming else None,
            pauses=list(self.pauses))


class SlaClocks:
    """The clocks of one case, side by side (e.g. response, resolution and a statutory cap)."""

    def __init__(self, timezone: str) -> None:
        self.timezone = timezone
        self.clocks: dict[str, SlaClock] = {}
        self.changed = False
        """Set whenever a schedule moves, so the waiting loop re-arms its timer."""

    async def start(self, name: str, policy: ClockPolicy, at: datetime, *, sla: bool = True) -> None:
        clock = self.clocks[name] = SlaClock(name, policy, at, sla, consumed_as_of=at, segment_start=at)
        await self._schedule(clock)

    async def pause(self, name: str, at: datetime, reason: str) -> SlaEventRecord:
        clock = self.clocks[name]
        if clock.segment_start is None:
            raise ValueError(f"clock {name} is not running")
        clock.consumed += await self._elapsed(clock, clock.segment_start, at)
        clock.consumed_as_of, clock.segment_start = at, None
        for label in [m.label for m in clock.budget_marks]:
            clock.scheduled.pop(label, None)
        clock.pauses.append(Pause(paused_at=at, reason=reason))
        self.changed = True
        return SlaEventRecord(key=f"{name}:pause-{len(clock.pauses)}", clock=name, kind=SlaEventKind.pause,
                              at=at, detail=reason)

    async def resume(self, name: str, at: datetime) -> SlaEventRecord:
        clock = self.clocks[name]
        if not clock.paused:
            raise ValueError(f"clock {name} is not paused")
        clock.segment_start = clock.consumed_as_of = at
        clock.pauses[-1] = clock.pauses[-1].model_copy(update={"resumed_at": at})
        await self._schedule(clock)
        return SlaEventRecord(key=f"{name}:resume-{len(clock.pauses)}", clock=name, kind=SlaEventKind.resume,
                              at=at, due_at=clock.scheduled.get(BREACH), detail=clock.pauses[-1].reason)

    async def retarget(self, name: str, policy: ClockPolicy, at: datetime) -> None:
        """A new budget (e.g. severity changed): consumed time is kept, the marks move."""
        clock = self.clocks[name]
        if clock.segment_start is not None:
            clock.consumed += await self._elapsed(clock, clock.segment_start, at)
            clock.consumed_as_of = clock.segment_start = at
        clock.policy = policy
        await self._schedule(clock)

    def stop(self, name: str) -> None:
        clock = self.clocks[name]
        clock.stopped, clock.segment_start = True, None
        clock.scheduled.clear()
        self.changed = True

    def is_running(self, name: str) -> bool:
        return name in self.clocks and self.clocks[name].segment_start is not None

    def next_wake(self) -> tuple[datetime, str] | None:
        upcoming = [(at, f"{c.name} {label}") for c in self.clocks.values() for label, at in c.scheduled.items()]
        return min(upcoming) if upcoming else None

    def take_due(self, now: datetime) -> list[Firing]:
        """Marks due by `now`, in time order, removed from the schedule: each fires once."""
        due: list[Firing] = []
        for clock in self.clocks.values():
            for label, at in list(clock.scheduled.items()):
                if at <= now:
                    del clock.scheduled[label]
                    clock.fired.append(label)
                    mark = clock.mark(label)
                    if mark.kind is SlaEventKind.breach:
                        clock.breached_at = at
                        for escalation in clock.escalation_marks:
                            clock.scheduled[escalation.label] = at + escalation.offset
                    due.append(Firing(clock.name, mark, at, clock.breached_at or clock.scheduled.get(BREACH)))
        due.sort(key=lambda f: (f.at, f.mark.kind is SlaEventKind.escalation))
        # Escalations scheduled at the breach instant itself are due now as well.
        return due + (self.take_due(now) if any(f.mark.kind is SlaEventKind.breach for f in due) else [])

    def deadlines(self) -> dict[str, datetime]:
        """Open deadlines: the breach time of every clock not stopped (past ones included)."""
        result = {}
        for clock in self.clocks.values():
            due = clock.breached_at or clock.scheduled.get(BREACH)
            if not clock.stopped and due is not None:
                result[clock.name] = due
        return result

    @property
    def breached(self) -> bool:
        return any(c.sla and c.breached_at is not None for c in self.clocks.values())

    def status(self, now: datetime) -> list[ClockStatus]:
        return [clock.status(now) for clock in self.clocks.values()]

    async def _schedule(self, clock: SlaClock) -> None:
        pending = [m for m in clock.budget_marks if m.label not in clock.fired]
        offsets = [max(m.offset - clock.consumed, timedelta(0)) for m in pending]
        assert clock.segment_start is not None
        if clock.policy.basis is Basis.calendar:
            instants = [clock.segment_start + offset for offset in offsets]
        else:
            result = await _due_times(DueTimeRequest(timezone=self.timezone, start=clock.segment_start, offsets=offsets),
                                      f"{clock.name} due times (working days)")
            instants = result.instants
        clock.scheduled.update({m.label: at for m, at in zip(pending, instants)})
        self.changed = True

    async def _elapsed(self, clock: SlaClock, since: datetime, until: datetime) -> timedelta:
        if clock.policy.basis is Basis.calendar:
            return until - since
        result = await _due_times(DueTimeRequest(timezone=self.timezone, since=since, start=until),
                                  f"{clock.name} working time used")
        return result.elapsed


async def _due_times(request: DueTimeRequest, summary: str) -> DueTimes:
    run = workflow.execute_local_activity_method if local_steps() else workflow.execute_activity_method
    return await run(DueTimeCalculator.compute_due_times, request, start_to_close_timeout=timedelta(seconds=30),
                     retry_policy=CALENDAR_RETRY, summary=summary)
