"""SLA clocks in a workflow (spec §1.2): the arithmetic of `workflows.clocks`, with working-basis
instants asked of the `compute_due_times` activity, whose result in history keeps replay
deterministic when calendar data changes. Waiting on the marks is `CaseBook.wait_until`."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.deadlines import DueTimeCalculator
    from models.policy import Basis, ClockPolicy
    from models.records import SlaEventRecord
    from models.calendar import ClockMove
    from models.sla import DueTimeRequest, DueTimes

    from .clocks import ClockSet, SlaClock, calendar_instants
    from .patches import kept_due_marks, local_steps

CALENDAR_RETRY = RetryPolicy(initial_interval=timedelta(seconds=1), backoff_coefficient=2,
                             maximum_interval=timedelta(seconds=30), non_retryable_error_types=["ValueError"])
"""Calendar arithmetic only fails on a bad argument (a bug: final) or a worker in trouble (retry)."""


class SlaClocks(ClockSet):
    def __init__(self, timezone: str) -> None:
        super().__init__()
        self.timezone = timezone
        self.calendar_version = 0
        """The newest calendar version the case was told of: no due time is computed under an older one."""

    async def start(self, name: str, policy: ClockPolicy, at: datetime) -> None:
        await self._schedule(self.add(name, policy, at))

    async def open_window(self, name: str, policy: ClockPolicy, at: datetime) -> None:
        """A plain deadline by name (see `workflows.clocks`); `close` ends it early."""
        await self._schedule(self.add(name, policy, at, window=True))

    async def pause(self, name: str, at: datetime, reason: str) -> SlaEventRecord:
        clock = self[name]
        if clock.segment_start is None:
            raise ValueError(f"clock {name} is not running")
        event = clock.pause(at, await self._elapsed(clock, clock.segment_start, at), reason,
                            keep_due=kept_due_marks())
        self.changed = True
        return event

    def stop(self, name: str, at: datetime | None = None, *, keep_due: bool = True) -> None:
        if name in self._clocks:
            super().stop(name, at or workflow.now(), keep_due=keep_due and kept_due_marks())

    async def resume(self, name: str, at: datetime) -> SlaEventRecord:
        clock = self[name]
        clock.resume(at)
        await self._schedule(clock)
        return clock.resumed()

    async def recalculate(self, version: int, now: datetime) -> list[ClockMove]:
        """A calendar version was published: each running working-day clock computed under an older one
        schedules its marks again from the same start with the same consumed time (its pauses are in
        it). Fired marks stay fired; calendar-day clocks never move. All due times are computed before
        any clock changes: a version that cannot be read changes nothing."""
        stale = [c for c in self._clocks.values() if c.policy.basis is Basis.working and c.segment_start is not None
                 and c.calendar_version < version and c.pending()[0]]
        computed = []
        for clock in stale:
            marks, offsets = clock.pending()
            assert clock.segment_start is not None
            request = DueTimeRequest(timezone=self.timezone, start=clock.segment_start, offsets=offsets,
                                     calendar_version=max(self.calendar_version, version))
            computed.append((clock, marks, await _due_times(request, f"{clock.name} due times (calendar v{version})")))
        self.calendar_version = max(self.calendar_version, version)
        moves = []
        for clock, marks, result in computed:
            before = clock.due_at
            clock.reschedule(marks, result.instants, result.calendar_version, now)
            self.changed = True
            if clock.due_at != before:
                moves.append(ClockMove(clock=clock.name, old_due=before, new_due=clock.due_at))
        return moves

    async def _schedule(self, clock: SlaClock) -> None:
        marks, offsets = clock.pending()
        assert clock.segment_start is not None
        if clock.policy.basis is Basis.calendar:
            clock.schedule(marks, calendar_instants(clock.segment_start, offsets))
        else:
            request = DueTimeRequest(timezone=self.timezone, start=clock.segment_start, offsets=offsets,
                                     calendar_version=self.calendar_version)
            result = await _due_times(request, f"{clock.name} due times (working days)")
            clock.schedule(marks, result.instants)
            clock.calendar_version = result.calendar_version
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
