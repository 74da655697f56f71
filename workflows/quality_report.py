"""QualityReport (docs/quality.md): the KPIs of a period, computed and written by one activity. The
Schedule `quality-report-monthly` starts it without a period on the 1st of each month: it then reports
the month just closed, and the quarter when that month ended one. Started by hand (`telecom report
PERIOD --compute`), its id is `quality-report-<period>`; a rerun replaces the period's rows."""

from __future__ import annotations

from datetime import timedelta

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.quality import QualityReports
    from models.quality import WORKFLOW_TYPE, ReportInput, ReportRequest, ReportResult, workflow_id

    from .actions import call, invalid_input

RETRY = RetryPolicy(initial_interval=timedelta(seconds=10), maximum_interval=timedelta(minutes=10),
                    maximum_attempts=12)
"""About an hour of a database outage; then the run fails where ops see it (a scheduled month can be run
again with `telecom report PERIOD --compute`) rather than retrying a report that cannot be computed."""


@workflow.defn(name=WORKFLOW_TYPE)
class QualityReport:
    @workflow.run
    async def run(self, request: ReportInput) -> ReportResult:
        if request.period is not None and workflow.info().workflow_id != workflow_id(request.period):
            raise invalid_input("workflow_id", f"must be {workflow_id(request.period)!r} for period {request.period}")
        # Unset, the period is the one closed at the scheduled start: the activity reads the calendar.
        return await call(QualityReports.compute_report, ReportRequest(period=request.period, as_of=workflow.now()),
                          f"KPIs of {request.period or 'the closed month'}", retry=RETRY, timeout=timedelta(minutes=10))
