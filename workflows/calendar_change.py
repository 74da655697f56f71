"""CalendarChange (docs/calendar.md), workflow id `calendar-v{version}`: a published calendar version
reaches the running cases. Pages of open cases come from the records (activities), each page's cases
are told by their `calendar_changed` update; the counts are in `status` and the details line, and a
run that stops (worker killed, server restarted) goes on from its last page. Telling a case twice
moves nothing twice, so a page repeated after a crash is harmless."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.calendar_versions import CalendarRollout
    from activities.heartbeats import HEARTBEAT_TIMEOUT
    from models.calendar import (WORKFLOW_TYPE, CalendarChangeInput, CalendarChangeStatus, CasePage, CasesToTell,
                                 workflow_id)

    from .actions import invalid_input

PAGE = 200
PAGES_PER_RUN = 50
"""Pages before continue-as-new keeps the history short (10,000 cases: one run)."""
FAILED_KEPT = 1000


@workflow.defn(name=WORKFLOW_TYPE)
class CalendarChange:
    @workflow.init
    def __init__(self, change: CalendarChangeInput) -> None:
        self.change = change
        self.done = False

    @workflow.run
    async def run(self, change: CalendarChangeInput) -> CalendarChangeStatus:
        if workflow.info().workflow_id != workflow_id(change.version):
            raise invalid_input("workflow_id", f"must be {workflow_id(change.version)!r}")
        for _ in range(PAGES_PER_RUN):
            page = await workflow.execute_activity_method(
                CalendarRollout.find_affected_cases, CasePage(first_day=change.first_day, after=change.after,
                                                              limit=PAGE),
                start_to_close_timeout=timedelta(minutes=1), heartbeat_timeout=HEARTBEAT_TIMEOUT,
                summary="open cases the version may reach")
            if not page.workflow_ids:
                self.done = True
                workflow.set_current_details(self._details())
                return self.status()
            told = await workflow.execute_activity_method(
                CalendarRollout.tell_cases, CasesToTell(version=change.version, workflow_ids=page.workflow_ids),
                start_to_close_timeout=timedelta(minutes=5), heartbeat_timeout=HEARTBEAT_TIMEOUT,
                summary=f"tell {len(page.workflow_ids)} cases")
            self.change = change = change.model_copy(update={
                "after": page.workflow_ids[-1], "told": change.told + told.told, "moved": change.moved + told.moved,
                "failed": (change.failed + told.failed)[:FAILED_KEPT]})
            workflow.set_current_details(self._details())
        workflow.continue_as_new(change)

    @workflow.query(description="How far the rollout is: cases told, moved, failed.")
    def status(self) -> CalendarChangeStatus:
        change = self.change
        return CalendarChangeStatus(version=change.version, first_day=change.first_day, told=change.told,
                                    moved=change.moved, failed=change.failed, done=self.done, after=change.after)

    def _details(self) -> str:
        change = self.change
        return (f"calendar v{change.version} · {'done' if self.done else 'rolling out'} · told {change.told} · "
                f"moved {change.moved} · failed {len(change.failed)}")
