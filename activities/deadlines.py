"""Working-time due times for SLA clocks on the working-day basis (spec §1.2)."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity

from models.sla import DueTimeRequest, DueTimes

from .calendar import CalendarOverrides, WorkingCalendar


class DueTimeCalculator:
    def __init__(self, overrides: CalendarOverrides | None = None) -> None:
        self.overrides = overrides
        self._calendars: dict[str, WorkingCalendar] = {}

    def calendar(self, tz: str) -> WorkingCalendar:
        if tz not in self._calendars:
            self._calendars[tz] = WorkingCalendar(tz, self.overrides)
        return self._calendars[tz]

    @activity.defn
    def compute_due_times(self, request: DueTimeRequest) -> DueTimes:
        calendar = self.calendar(request.timezone)
        elapsed = (calendar.working_time_between(request.since, request.start)
                   if request.since is not None else timedelta(0))
        return DueTimes(elapsed=elapsed,
                        instants=[calendar.add_working_time(request.start, o) for o in request.offsets])
