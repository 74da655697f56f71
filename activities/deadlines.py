"""Working-time due times for SLA clocks on the working-day basis (spec §1.2), under the newest
published calendar version (activities.calendar_versions) or the worker's calendar file alone."""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity
from temporalio.exceptions import ApplicationError

from models.sla import DueTimeRequest, DueTimes

from .calendar import CalendarOverrides, WorkingCalendar
from .calendar_versions import CalendarVersions

UNKNOWN_CALENDAR_VERSION = "UnknownCalendarVersion"


class DueTimeCalculator:
    def __init__(self, overrides: CalendarOverrides | None = None, versions: CalendarVersions | None = None) -> None:
        self.overrides = overrides
        self.versions = versions
        self._calendars: dict[tuple[str, int], WorkingCalendar] = {}

    def calendar(self, tz: str, version: int = 0) -> WorkingCalendar:
        if (tz, version) not in self._calendars:
            days = self.versions.overrides(version) if self.versions else self.overrides
            self._calendars[tz, version] = WorkingCalendar(tz, days)
        return self._calendars[tz, version]

    @activity.defn
    def compute_due_times(self, request: DueTimeRequest) -> DueTimes:
        # Read at every call: a version published a moment ago is in force (no worker restart).
        version = max(self.versions.newest(), request.calendar_version) if self.versions else 0
        try:
            calendar = self.calendar(request.timezone, version)
        except LookupError as unknown:  # a version asked for that was never published: no retry helps
            raise ApplicationError(str(unknown), type=UNKNOWN_CALENDAR_VERSION, non_retryable=True) from None
        elapsed = (calendar.working_time_between(request.since, request.start)
                   if request.since is not None else timedelta(0))
        return DueTimes(elapsed=elapsed, calendar_version=version,
                        instants=[calendar.add_working_time(request.start, o) for o in request.offsets])
